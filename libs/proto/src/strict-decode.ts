import { createFileRegistry, fromBinary, ScalarType } from '@bufbuild/protobuf';
import type { DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { descriptorSet } from './descriptor';

/**
 * Strict request decoding. ts-proto's decoders (on @bufbuild/protobuf's BinaryReader) replace invalid UTF-8
 * with U+FFFD (two different conversation ids can decode to one), stop silently at a field-0 tag or a stray
 * end-group tag, and throw on deep nesting (grpc-js turns that into INTERNAL). A request first passes a wire
 * check driven by the descriptor set: tags, lengths, groups, nesting depth, and UTF-8 of every known string
 * field; only then is the generated decoder run. Allocation-free: an audio frame costs a walk over its few tags.
 */

/** Why a request could not be decoded: a fixed set (a metric label). */
export type RejectReason = 'malformed' | 'invalid_utf8' | 'too_deep';
export const REJECT_REASONS: readonly RejectReason[] = ['malformed', 'invalid_utf8', 'too_deep'];

/**
 * What the deserializer hands the handler instead of a request it refused: grpc-js would report a throwing
 * deserializer as INTERNAL, the handler answers INVALID_ARGUMENT. One instance per reason: nothing allocated.
 */
export class RejectedRequest {
  private constructor(readonly reason: RejectReason) {}
  static readonly of: Readonly<Record<RejectReason, RejectedRequest>> = {
    malformed: new RejectedRequest('malformed'),
    invalid_utf8: new RejectedRequest('invalid_utf8'),
    too_deep: new RejectedRequest('too_deep'),
  };
}

/** Message nesting allowed in a request (google.protobuf.Struct costs three levels per JSON level). */
export const MAX_MESSAGE_DEPTH = 64;

const OTHER = 0;
const STRING = 1;
const MESSAGE = 2;
const PACKED_VARINTS = 3;

/** Per message: the kind of each known field number, and the shape of message fields. */
interface Shape {
  kind: Uint8Array;
  child: Array<Shape | undefined>;
}

const VARINT_SCALARS = new Set([
  ScalarType.INT32, ScalarType.INT64, ScalarType.UINT32, ScalarType.UINT64, ScalarType.SINT32, ScalarType.SINT64, ScalarType.BOOL,
]);

let registry: ReturnType<typeof createFileRegistry> | undefined;
const shapes = new Map<string, Shape>();

function shapeOf(typeName: string): Shape {
  const known = shapes.get(typeName);
  if (known) return known;
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet()));
  const desc = registry.getMessage(typeName);
  if (!desc) throw new Error(`no message ${typeName} in the descriptor set`);
  return build(desc);
}

function build(desc: DescMessage): Shape {
  const max = desc.fields.reduce((m, f) => Math.max(m, f.number), 0);
  const shape: Shape = { kind: new Uint8Array(max + 1), child: [] };
  shapes.set(desc.typeName, shape); // before the fields: recursive types (Struct, Value) refer to it
  for (const f of desc.fields) {
    switch (f.fieldKind) {
      case 'scalar':
        if (f.scalar === ScalarType.STRING) shape.kind[f.number] = STRING;
        break;
      case 'message':
        shape.kind[f.number] = MESSAGE;
        shape.child[f.number] = shapes.get(f.message.typeName) ?? build(f.message);
        break;
      case 'list':
        if (f.listKind === 'message') {
          shape.kind[f.number] = MESSAGE;
          shape.child[f.number] = shapes.get(f.message.typeName) ?? build(f.message);
        } else if (f.listKind === 'enum' || (f.listKind === 'scalar' && VARINT_SCALARS.has(f.scalar))) {
          shape.kind[f.number] = PACKED_VARINTS;
        } else if (f.listKind === 'scalar' && f.scalar === ScalarType.STRING) {
          shape.kind[f.number] = STRING;
        }
        break;
      case 'map': {
        // On the wire a map is a repeated entry message: key = 1, value = 2.
        const entry: Shape = { kind: new Uint8Array(3), child: [] };
        if (f.mapKey === ScalarType.STRING) entry.kind[1] = STRING;
        if (f.mapKind === 'message') {
          entry.kind[2] = MESSAGE;
          entry.child[2] = shapes.get(f.message.typeName) ?? build(f.message);
        } else if (f.mapKind === 'scalar' && f.scalar === ScalarType.STRING) {
          entry.kind[2] = STRING;
        }
        shape.kind[f.number] = MESSAGE;
        shape.child[f.number] = entry;
        break;
      }
      default:
        break;
    }
  }
  return shape;
}

class Reject extends Error {
  constructor(readonly reason: RejectReason) {
    super(reason);
  }
}
// Thrown from deep inside the walk; one instance each, no stack captured per request.
const MALFORMED = new Reject('malformed');
const BAD_UTF8 = new Reject('invalid_utf8');
const TOO_DEEP = new Reject('too_deep');

// The walk's cursor: module state, so reading a varint allocates nothing (the walk is synchronous).
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;

function varint32(end: number): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw MALFORMED;
    const b = buf[pos++];
    if (shift === 28 && b > 0x0f) throw MALFORMED; // does not fit in 32 bits
    result |= (b & 0x7f) << shift;
    if (b < 0x80) return result >>> 0;
  }
  throw MALFORMED;
}

function skipVarint(end: number): void {
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw MALFORMED;
    if (buf[pos++] < 0x80) return;
  }
  throw MALFORMED;
}

function walkMessage(end: number, shape: Shape | undefined, depth: number): void {
  if (depth > MAX_MESSAGE_DEPTH) throw TOO_DEEP;
  while (pos < end) {
    const tag = varint32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw MALFORMED;
    const kind = shape !== undefined && field < shape.kind.length ? shape.kind[field] : OTHER;
    skipField(end, field, wire, kind, kind === MESSAGE ? shape!.child[field] : undefined, depth);
  }
  if (pos !== end) throw MALFORMED;
}

function skipField(end: number, field: number, wire: number, kind: number, child: Shape | undefined, depth: number): void {
  switch (wire) {
    case 0:
      return skipVarint(end);
    case 1:
      pos += 8;
      if (pos > end) throw MALFORMED;
      return;
    case 5:
      pos += 4;
      if (pos > end) throw MALFORMED;
      return;
    case 2: {
      const len = varint32(end);
      const stop = pos + len;
      if (stop > end) throw MALFORMED;
      if (kind === STRING) {
        if (!utf8(pos, stop)) throw BAD_UTF8;
        pos = stop;
      } else if (kind === MESSAGE) {
        walkMessage(stop, child, depth + 1);
      } else if (kind === PACKED_VARINTS) {
        while (pos < stop) skipVarint(stop);
      } else {
        pos = stop;
      }
      return;
    }
    case 3: {
      // A group (unknown here: proto3 has none): skipped, its end tag must match.
      if (depth + 1 > MAX_MESSAGE_DEPTH) throw TOO_DEEP;
      for (;;) {
        const tag = varint32(end);
        const f = tag >>> 3;
        const w = tag & 7;
        if (f === 0) throw MALFORMED;
        if (w === 4) {
          if (f !== field) throw MALFORMED;
          return;
        }
        skipField(end, f, w, OTHER, undefined, depth + 1);
      }
    }
    default:
      // 4: an end-group tag outside a group; 6 and 7 do not exist.
      throw MALFORMED;
  }
}

/** Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF), what a standard protobuf parser demands. */
function utf8(from: number, to: number): boolean {
  let i = from;
  while (i < to) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      min = 0x80;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      min = 0x800;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      min = 0x10000;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= to) return false;
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if ((c & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

/** Checks `bytes` as an encoding of `typeName`; the reason it is refused, or undefined. */
export function checkWire(bytes: Uint8Array, typeName: string): RejectReason | undefined {
  return checkShape(bytes, shapeOf(typeName));
}

function checkShape(bytes: Uint8Array, shape: Shape): RejectReason | undefined {
  buf = bytes;
  pos = 0;
  try {
    walkMessage(bytes.length, shape, 1);
    return undefined;
  } catch (e) {
    if (e instanceof Reject) return e.reason;
    throw e;
  } finally {
    buf = EMPTY;
  }
}
const EMPTY = new Uint8Array(0);

/**
 * A gRPC request deserializer: the generated `decode` behind the strict check. Refused bytes become a
 * RejectedRequest (the handler answers INVALID_ARGUMENT) instead of an exception (grpc-js: INTERNAL).
 */
export function strictDeserializer<T>(typeName: string, decode: (bytes: Uint8Array) => T): (bytes: Buffer) => T | RejectedRequest {
  const shape = shapeOf(typeName);
  return (bytes) => {
    const reason = checkShape(bytes, shape);
    if (reason !== undefined) return RejectedRequest.of[reason];
    try {
      return decode(bytes);
    } catch {
      return RejectedRequest.of.malformed;
    }
  };
}
