import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants as h2 } from 'node:http2';
import { status } from '@grpc/grpc-js';

/**
 * A gRPC client written by hand on node:http2, for faults a normal client cannot produce: arbitrary message
 * bytes, a lying length prefix, a reader that never reads. Statuses come from the trailers (or trailers-only
 * headers); a stream reset maps as gRPC clients map it (ENHANCE_YOUR_CALM: RESOURCE_EXHAUSTED).
 */

export const PROCESS_CALLER_INPUT = '/com.cisco.wcc.ccai.media.v1.VoiceVirtualAgent/ProcessCallerInput';
export const LIST_VIRTUAL_AGENTS = '/com.cisco.wcc.ccai.media.v1.VoiceVirtualAgent/ListVirtualAgents';

export interface RawOutcome {
  code: status;
  details: string;
  /** Response messages received (each without its 5-byte prefix). */
  messages: Buffer[];
  /** Set when the server reset the stream. */
  rstCode?: number;
}

const RST_STATUS: Record<number, status> = {
  [h2.NGHTTP2_ENHANCE_YOUR_CALM]: status.RESOURCE_EXHAUSTED,
  [h2.NGHTTP2_REFUSED_STREAM]: status.UNAVAILABLE,
  [h2.NGHTTP2_CANCEL]: status.CANCELLED,
};

/** A gRPC length-prefixed message: flag 0, big-endian length (`declared` overrides it), the bytes. */
export function grpcFrame(message: Uint8Array, declared = message.length): Buffer {
  const b = Buffer.alloc(5 + message.length);
  b.writeUInt32BE(declared >>> 0, 1);
  b.set(message, 5);
  return b;
}

export class RawGrpcConnection {
  readonly session: ClientHttp2Session;

  /** `window`: the client's receive windows; small ones make a reader that stops reading fill up fast. */
  constructor(target: string, window?: number) {
    this.session = connect(`http://${target}`, window ? { settings: { initialWindowSize: window } } : {});
    this.session.on('error', () => undefined);
  }

  /** Opens an RPC. `read: false`: the stream is paused at once and never read (no flow-control credit given back). */
  open(path = PROCESS_CALLER_INPUT, read = true): RawCall {
    const stream = this.session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    return new RawCall(stream, read);
  }

  close(): void {
    this.session.destroy();
  }
}

export class RawCall {
  readonly outcome: Promise<RawOutcome>;
  private readonly messages: Buffer[] = [];
  private pending: Buffer = Buffer.alloc(0);

  constructor(readonly stream: ClientHttp2Stream, read: boolean) {
    stream.on('error', () => undefined);
    this.outcome = new Promise((resolve) => {
      let result: { code: status; details: string } | undefined;
      // The status ends the RPC even while this side is still open (a client that never half-closes).
      const take = (h: Record<string, unknown>) => {
        if (h['grpc-status'] === undefined) return;
        result = { code: Number(h['grpc-status']), details: decodeURIComponent(String(h['grpc-message'] ?? '')) };
        setImmediate(() => resolve({ ...result!, messages: this.messages }));
      };
      stream.on('response', take);
      stream.on('trailers', take);
      stream.on('close', () => {
        const rst = stream.rstCode;
        if (result) resolve({ ...result, messages: this.messages, rstCode: rst || undefined });
        else resolve({ code: RST_STATUS[rst] ?? status.INTERNAL, details: `stream reset (${rst})`, messages: this.messages, rstCode: rst });
      });
    });
    if (read) stream.on('data', (d: Buffer) => this.collect(d));
    else stream.pause();
  }

  send(message: Uint8Array, declared?: number): void {
    this.stream.write(grpcFrame(message, declared));
  }

  /** Raw bytes, prefix and all (a frame cut short, a lying prefix). */
  sendRaw(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  end(): void {
    this.stream.end();
  }

  private collect(d: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, d]) : d;
    while (this.pending.length >= 5) {
      const n = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + n) break;
      this.messages.push(this.pending.subarray(5, 5 + n));
      this.pending = this.pending.subarray(5 + n);
    }
  }
}
