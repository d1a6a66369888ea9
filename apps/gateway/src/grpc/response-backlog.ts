import { constants as h2, type ServerHttp2Stream } from 'node:http2';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { GatewaySection, LOGGER, type Logger } from '@app/config';
import type { VoiceVAResponse } from '@app/proto';

/**
 * Bounds what waits to be sent to a client that does not read. Nest queues a bidi stream's responses without
 * limit once grpc-js reports back-pressure, and HTTP/2 flow control stops them at a reader that never reads,
 * so every response of every RPC on such a connection would stay in memory. Each RPC counts the bytes of its
 * responses from the moment they are handed over until grpc-js has written them; an RPC over its bound, on a
 * connection over its bound, or whose queued responses made no progress for the stall timeout is reset with
 * RST_STREAM ENHANCE_YOUR_CALM (clients report RESOURCE_EXHAUSTED), which frees what was queued.
 * Per response: a few additions; nothing per audio frame.
 */

/** The grpc-js call Nest hands a handler (ServerDuplexStream): a Duplex whose `call` chain ends at the HTTP/2 stream. */
interface GrpcCall {
  write(chunk: unknown, cb?: (err?: unknown) => void): boolean;
  once(event: 'close', fn: () => void): unknown;
  call?: unknown;
}

interface ConnectionLoad {
  bytes: number;
}

export type BacklogOverflow = 'rpc' | 'connection' | 'stalled';

/** A response's size on the wire, near enough: its audio and texts dominate. */
export function responseBytes(r: VoiceVAResponse): number {
  let n = 32;
  for (const p of r.prompts) n += p.audioContent.length + p.text.length + p.audioUri.length + 16;
  for (const e of r.outputEvents) n += e.name.length + (e.metadata ? 256 : 0) + 8;
  n += (r.sessionTranscript?.text?.length ?? 0) + (r.sessionSummary?.text?.length ?? 0);
  return n;
}

/** The HTTP/2 stream under a grpc-js server call (grpc-js keeps it on the innermost intercepting call). */
function http2StreamOf(call: GrpcCall): ServerHttp2Stream | undefined {
  let c: any = call.call;
  for (let i = 0; i < 8 && c; i++) {
    if (c.stream && typeof c.stream.close === 'function' && c.stream.session) return c.stream as ServerHttp2Stream;
    c = c.nextCall;
  }
  return undefined;
}

/** One RPC's queued responses. */
export class RpcBacklog {
  bytes = 0;
  /** When a queued response was last written (or the queue last went from empty to not). */
  progressAt = 0;
  private closed = false;

  constructor(
    private readonly owner: ResponseBacklog,
    private readonly conn: ConnectionLoad,
    private readonly stream: ServerHttp2Stream,
    private readonly onReset: (why: BacklogOverflow) => void,
  ) {}

  /** Before a response is handed to the transport. False: a bound is exceeded, the RPC has been reset. */
  add(r: VoiceVAResponse): boolean {
    if (this.closed) return false;
    const n = responseBytes(r);
    const limits = this.owner.limits;
    if (this.bytes > 0 && this.bytes + n > limits.rpcBytes) return this.reset('rpc');
    if (this.conn.bytes > 0 && this.conn.bytes + n > limits.connectionBytes) return this.reset('connection');
    if (this.bytes === 0) {
      this.progressAt = Date.now();
      this.owner.waiting.add(this);
    }
    this.bytes += n;
    this.conn.bytes += n;
    return true;
  }

  /** grpc-js wrote a response to the HTTP/2 stream. */
  written(n: number): void {
    if (this.closed) return;
    this.bytes -= n;
    this.conn.bytes -= n;
    this.progressAt = Date.now();
    if (this.bytes <= 0) this.owner.waiting.delete(this);
  }

  /** The stream closed: whatever was queued is gone with it. */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.bytes -= this.bytes;
    this.bytes = 0;
    this.owner.waiting.delete(this);
  }

  reset(why: BacklogOverflow): false {
    if (this.closed) return false;
    const queued = this.bytes;
    this.release();
    this.owner.log.warn({ why, queuedBytes: queued, connectionBytes: this.conn.bytes }, 'reset an RPC whose client does not read its responses');
    try {
      this.onReset(why);
    } finally {
      if (!this.stream.destroyed) this.stream.close(h2.NGHTTP2_ENHANCE_YOUR_CALM);
    }
    return false;
  }
}

@Injectable()
export class ResponseBacklog implements OnModuleDestroy {
  readonly limits: { rpcBytes: number; connectionBytes: number; stallMs: number };
  readonly log: Logger;
  /** RPCs with responses queued: the stall sweep looks at these only. */
  readonly waiting = new Set<RpcBacklog>();
  private readonly connections = new WeakMap<object, ConnectionLoad>();
  private readonly sweep: NodeJS.Timeout;
  private warned = false;

  constructor(g: GatewaySection, @Inject(LOGGER) logger: Logger) {
    this.limits = {
      rpcBytes: g.max_queued_response_bytes_per_rpc,
      connectionBytes: g.max_queued_response_bytes_per_connection,
      stallMs: g.stalled_reader_timeout_ms,
    };
    this.log = logger.child({ context: 'ResponseBacklog' });
    this.sweep = setInterval(() => this.resetStalled(), Math.max(250, Math.min(5000, this.limits.stallMs / 4)));
    this.sweep.unref();
  }

  /**
   * Starts counting an RPC's responses; `onReset` ends the RPC on the gateway's side before its stream is reset.
   * Undefined when the call is not a grpc-js HTTP/2 call (nothing to bound).
   */
  watch(call: unknown, onReset: (why: BacklogOverflow) => void): RpcBacklog | undefined {
    const c = call as GrpcCall | undefined;
    if (!c || typeof c.write !== 'function') return undefined;
    const stream = http2StreamOf(c);
    if (!stream) {
      // A grpc-js whose call no longer leads to its HTTP/2 stream: say so once rather than run unbounded quietly.
      if (!this.warned) this.log.warn('cannot find the HTTP/2 stream of a gRPC call: responses queued for slow readers are not bounded');
      this.warned = true;
      return undefined;
    }
    let conn = this.connections.get(stream.session!);
    if (!conn) this.connections.set(stream.session!, (conn = { bytes: 0 }));
    const backlog = new RpcBacklog(this, conn, stream, onReset);
    const write = c.write.bind(c);
    // Nest writes each response with call.write (once grpc-js says it may); its callback means grpc-js wrote it.
    c.write = (chunk: unknown, cb?: (err?: unknown) => void) => {
      const n = responseBytes(chunk as VoiceVAResponse);
      return write(chunk, (err?: unknown) => {
        backlog.written(n);
        cb?.(err);
      });
    };
    stream.once('close', () => backlog.release());
    return backlog;
  }

  private resetStalled(): void {
    if (this.waiting.size === 0) return;
    const before = Date.now() - this.limits.stallMs;
    for (const b of [...this.waiting]) if (b.progressAt < before) b.reset('stalled');
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
  }
}
