import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

// Just enough of the ONNX protobuf format (onnx.proto field numbers) to read a model's float weights and to
// write a small inference graph. Unknown fields are skipped.

const enum DataType {
  Float = 1,
  Int64 = 7,
}

export interface FloatTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** A graph's float tensors (initializers and Constant node values) and its subgraphs (If branches etc.). */
export interface GraphTensors {
  tensors: FloatTensor[];
  subgraphs: GraphTensors[];
}

function forEachField(bytes: Uint8Array, fn: (no: number, wt: WireType, r: BinaryReader) => void): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    fn(no, wt, r);
  }
}

function readTensor(bytes: Uint8Array): FloatTensor | undefined {
  const dims: number[] = [];
  let name = '';
  let type = 0;
  let raw: Uint8Array | undefined;
  const floats: number[] = [];
  forEachField(bytes, (no, wt, r) => {
    if (no === 1 && wt === WireType.LengthDelimited) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) dims.push(Number(r.int64()));
    } else if (no === 1) dims.push(Number(r.int64()));
    else if (no === 2) type = r.int32();
    else if (no === 8) name = r.string();
    else if (no === 9) raw = r.bytes();
    else if (no === 4 && wt === WireType.LengthDelimited) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) floats.push(r.float());
    } else if (no === 4) floats.push(r.float());
    else r.skip(wt, no);
  });
  if (type !== DataType.Float) return undefined;
  let data: Float32Array;
  if (raw) {
    // raw_data is little-endian; copied so the tensor does not pin (or misalign on) the file's buffer.
    data = new Float32Array(raw.length >> 2);
    new Uint8Array(data.buffer).set(raw.subarray(0, data.length * 4));
  } else data = Float32Array.from(floats);
  return { name, dims, data };
}

function readGraph(bytes: Uint8Array): GraphTensors {
  const g: GraphTensors = { tensors: [], subgraphs: [] };
  forEachField(bytes, (no, wt, r) => {
    if (no === 5) {
      const t = readTensor(r.bytes());
      if (t) g.tensors.push(t);
    } else if (no === 1) readNode(r.bytes(), g);
    else r.skip(wt, no);
  });
  return g;
}

function readNode(bytes: Uint8Array, into: GraphTensors): void {
  let op = '';
  let output = '';
  const attrs: Uint8Array[] = [];
  forEachField(bytes, (no, wt, r) => {
    if (no === 2 && output === '') output = r.string();
    else if (no === 4) op = r.string();
    else if (no === 5) attrs.push(r.bytes());
    else r.skip(wt, no);
  });
  for (const a of attrs) {
    forEachField(a, (no, wt, r) => {
      if (no === 5 && op === 'Constant') {
        const t = readTensor(r.bytes());
        // A Constant's tensor is known by the node's output name.
        if (t) into.tensors.push({ ...t, name: output || t.name });
      } else if (no === 6 || no === 11) into.subgraphs.push(readGraph(r.bytes())); // g, graphs
      else r.skip(wt, no);
    });
  }
}

/** The float tensors of a serialized ONNX model, by graph. Throws on bytes that are not protobuf. */
export function readOnnxTensors(model: Uint8Array): GraphTensors {
  let graph: GraphTensors | undefined;
  forEachField(model, (no, wt, r) => {
    if (no === 7) graph = readGraph(r.bytes());
    else r.skip(wt, no);
  });
  if (!graph) throw new Error('not an ONNX model (no graph)');
  return graph;
}

type AttrValue = number | number[] | string;

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

interface InitSpec {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** Builds a single-graph ONNX model (default domain, one opset). */
export class OnnxGraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly inits: InitSpec[] = [];
  private readonly inputs: Array<{ name: string; dims: Array<number | string> }> = [];
  private readonly outputs: Array<{ name: string; dims: Array<number | string> }> = [];
  private seq = 0;

  constructor(private readonly opset = 17) {}

  input(name: string, dims: Array<number | string>): string {
    this.inputs.push({ name, dims });
    return name;
  }

  output(name: string, dims: Array<number | string>): void {
    this.outputs.push({ name, dims });
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${name}: ${data.length} values for [${dims}]`);
    this.inits.push({ name, dims, data });
    return name;
  }

  /** An int64 vector, or a scalar when `values` is a number. */
  ints(name: string, values: number[] | number): string {
    const v = typeof values === 'number' ? [values] : values;
    this.inits.push({ name, dims: typeof values === 'number' ? [] : [v.length], data: BigInt64Array.from(v.map(BigInt)) });
    return name;
  }

  /** An anonymous int64 vector (shapes, axes, pads). */
  intsConst(...values: number[]): string {
    return this.ints(`const_${this.seq++}`, values);
  }

  /** Adds a node; returns its outputs (named `out` when given, else generated). */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1, out?: string): string[] {
    const names = Array.from({ length: outputs }, (_, i) => (out && outputs === 1 ? out : `${op.toLowerCase()}_${this.seq}_${i}`));
    this.seq++;
    this.nodes.push({ op, inputs, outputs: names, attrs });
    return names;
  }

  /** One-output node. */
  op1(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    return this.op(op, inputs, attrs, 1, out)[0];
  }

  build(): Uint8Array {
    const w = new BinaryWriter();
    w.tag(1, WireType.Varint).int64(8); // ir_version
    w.tag(2, WireType.LengthDelimited).string('byova-gateway');
    w.tag(7, WireType.LengthDelimited).fork();
    this.writeGraph(w);
    w.join();
    w.tag(8, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('').tag(2, WireType.Varint).int64(this.opset).join();
    return w.finish();
  }

  private writeGraph(w: BinaryWriter): void {
    for (const n of this.nodes) {
      w.tag(1, WireType.LengthDelimited).fork();
      for (const i of n.inputs) w.tag(1, WireType.LengthDelimited).string(i);
      for (const o of n.outputs) w.tag(2, WireType.LengthDelimited).string(o);
      w.tag(4, WireType.LengthDelimited).string(n.op);
      for (const [name, v] of Object.entries(n.attrs)) writeAttr(w, name, v);
      w.join();
    }
    w.tag(2, WireType.LengthDelimited).string('main');
    for (const t of this.inits) {
      w.tag(5, WireType.LengthDelimited).fork();
      for (const d of t.dims) w.tag(1, WireType.Varint).int64(d);
      w.tag(2, WireType.Varint).int32(t.data instanceof Float32Array ? DataType.Float : DataType.Int64);
      w.tag(8, WireType.LengthDelimited).string(t.name);
      w.tag(9, WireType.LengthDelimited).bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      w.join();
    }
    for (const v of this.inputs) writeValueInfo(w, 11, v.name, v.dims);
    for (const v of this.outputs) writeValueInfo(w, 12, v.name, v.dims);
  }
}

function writeAttr(w: BinaryWriter, name: string, v: AttrValue): void {
  w.tag(5, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string(name);
  if (typeof v === 'string') {
    w.tag(4, WireType.LengthDelimited).bytes(new TextEncoder().encode(v));
    w.tag(20, WireType.Varint).int32(3);
  } else if (Array.isArray(v)) {
    for (const x of v) w.tag(8, WireType.Varint).int64(x);
    w.tag(20, WireType.Varint).int32(7);
  } else {
    w.tag(3, WireType.Varint).int64(v);
    w.tag(20, WireType.Varint).int32(2);
  }
  w.join();
}

function writeValueInfo(w: BinaryWriter, field: number, name: string, dims: Array<number | string>): void {
  w.tag(field, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string(name);
  w.tag(2, WireType.LengthDelimited).fork(); // TypeProto
  w.tag(1, WireType.LengthDelimited).fork(); // tensor_type
  w.tag(1, WireType.Varint).int32(DataType.Float);
  w.tag(2, WireType.LengthDelimited).fork(); // shape
  for (const d of dims) {
    w.tag(1, WireType.LengthDelimited).fork();
    if (typeof d === 'number') w.tag(1, WireType.Varint).int64(d);
    else w.tag(2, WireType.LengthDelimited).string(d);
    w.join();
  }
  w.join().join().join().join();
}
