// Client transports for the load generator: one ProcessCallerInput RPC per turn over HTTP/2.
// 'h2' speaks gRPC framing directly on node:http2 (about half the client CPU of grpc-js, so the
// generator is not the first thing to saturate); 'grpc-js' uses the same library as ByovaCaller.
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { VoiceVAResponse, VoiceVirtualAgentService } from '@app/proto';

export type ClientKind = 'h2' | 'grpc-js';

export interface WireEvents {
  message(r: VoiceVAResponse): void;
  /** Once per RPC, after every message. */
  status(code: number, details: string): void;
}

export interface Wire {
  /** false: buffered, wait for onceDrain. */
  write(b: Buffer): boolean;
  end(): void;
  cancel(): void;
  onceDrain(cb: () => void): void;
}

export interface Connection {
  /** Requests must be passed through frame() once, when encoded. */
  frame(message: Buffer): Buffer;
  open(deadlineMs: number, ev: WireEvents): Wire;
  close(): void;
  /** Streams refused (REFUSED_STREAM) and retried on a fresh connection so far (h2 only). */
  readonly refusedRetried?: number;
}

const def = VoiceVirtualAgentService.processCallerInput;
/** Messages kept per RPC for replaying a refused stream (a second of 20 ms audio frames). */
const MAX_REPLAY = 50;
const decode = def.responseDeserialize;

export function connect(kind: ClientKind, target: string): Connection {
  return kind === 'h2' ? h2Connection(target) : grpcJsConnection(target);
}

// ---- grpc-js ----

function grpcJsConnection(target: string): Connection {
  // Own subchannel pool: each Connection is its own HTTP/2 connection.
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const passThrough = (b: Buffer) => b;
  return {
    frame: (m) => m,
    open(deadlineMs, ev) {
      const call = client.makeBidiStreamRequest(def.path, passThrough, decode, new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
      call.on('data', (r: VoiceVAResponse) => ev.message(r));
      call.on('error', () => undefined); // the status carries it
      call.on('status', (s: grpc.StatusObject) => {
        // Let responses still buffered in the stream reach 'data' first (as ByovaCaller does).
        const done = () => ev.status(s.code, s.details);
        if (call.readableEnded || call.destroyed) return done();
        const timer = setTimeout(done, 100);
        const once = () => {
          clearTimeout(timer);
          call.off('end', once);
          call.off('close', once);
          done();
        };
        call.once('end', once);
        call.once('close', once);
      });
      return {
        write: (b) => call.write(b),
        end: () => call.end(),
        cancel: () => call.cancel(),
        onceDrain: (cb) => void call.once('drain', cb),
      };
    },
    close: () => client.close(),
  };
}

// ---- raw HTTP/2 with gRPC framing ----

/** Splits a DATA byte stream into gRPC length-prefixed messages. */
class MessageReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private need = -1;

  push(chunk: Buffer, onMessage: (m: Buffer) => void): void {
    this.chunks.push(chunk);
    this.have += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.have < 5) return;
        const head = this.take(5);
        if (head[0] !== 0) throw new Error('compressed message (not requested)');
        this.need = head.readUInt32BE(1);
      }
      if (this.have < this.need) return;
      const m = this.take(this.need);
      this.need = -1;
      onMessage(m);
    }
  }

  private take(n: number): Buffer {
    this.have -= n;
    const first = this.chunks[0];
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - o);
      c.copy(out, o, 0, k);
      o += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}

function h2Connection(target: string): Connection {
  const all = new Set<http2.ClientHttp2Session>(); // sessions still open, closed with the connection
  const connectSession = () => {
    const s = http2.connect(`http://${target}`, {
      // Large windows and session memory: client-side flow control must not pace the servers' answers.
      settings: { enablePush: false, initialWindowSize: 1 << 20 },
      maxSessionMemory: 256,
    });
    s.on('connect', () => s.setLocalWindowSize(32 << 20));
    s.on('error', () => undefined); // each stream reports its own failure
    all.add(s);
    s.once('close', () => all.delete(s));
    // GOAWAY (the gateway's max_connection_age, 300 s by default; the soak outlives it): RPCs already open finish
    // on this session, new ones go to a new connection, as gRPC clients do.
    s.once('goaway', () => {
      if (session === s) session = undefined;
    });
    return s;
  };
  let session: http2.ClientHttp2Session | undefined = connectSession();
  let closed = false;
  let refusedRetried = 0;
  const current = () => {
    if (session === undefined || session.closed || session.destroyed) session = connectSession();
    return session;
  };
  return {
    frame(m) {
      const out = Buffer.allocUnsafe(5 + m.length);
      out[0] = 0;
      out.writeUInt32BE(m.length, 1);
      m.copy(out, 5);
      return out;
    },
    open(deadlineMs, ev) {
      let code: number | undefined;
      let details = '';
      const fromHeaders = (h: http2.IncomingHttpHeaders) => {
        const s = h['grpc-status'];
        if (s === undefined) return;
        code = Number(s);
        const m = h['grpc-message'];
        details = typeof m === 'string' ? decodeURIComponent(m) : '';
      };
      // A stream refused before the server took it (REFUSED_STREAM: opened as a GOAWAY crossed) is retried once on
      // a fresh connection, as gRPC clients do; what was written is kept for the replay until the server answers.
      let replay: Buffer[] | undefined = [];
      let halfClosed = false;
      let cancelled = false;
      let retried = false;
      let stream: http2.ClientHttp2Stream | undefined;
      const request = (): http2.ClientHttp2Stream | undefined => {
        try {
          if (closed) throw new Error('connection closed');
          return current().request(
            {
              ':method': 'POST',
              ':path': def.path,
              'content-type': 'application/grpc',
              te: 'trailers',
              'grpc-timeout': `${Math.round(deadlineMs)}m`,
              'user-agent': 'byova-bench',
            },
            { endStream: false },
          );
        } catch (e) {
          // Session already gone: fail the RPC like a transport error.
          queueMicrotask(() => ev.status(grpc.status.UNAVAILABLE, (e as Error).message));
          return undefined;
        }
      };
      const attach = (st: http2.ClientHttp2Stream) => {
        const reader = new MessageReader();
        st.on('response', (h) => {
          replay = undefined; // the server has the stream: no retry from here on
          fromHeaders(h); // trailers-only responses carry the status here
        });
        st.on('trailers', fromHeaders);
        st.on('data', (chunk: Buffer) => {
          try {
            reader.push(chunk, (m) => ev.message(decode(m)));
          } catch (e) {
            code = grpc.status.INTERNAL;
            details = (e as Error).message;
            st.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
          }
        });
        st.on('error', () => undefined);
        st.on('close', () => {
          if (code === undefined && st.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM && replay && !retried && !cancelled) {
            retried = true;
            refusedRetried++;
            const next = request();
            if (!next) return;
            stream = next;
            attach(next);
            for (const b of replay) next.write(b);
            if (halfClosed) next.end();
            return;
          }
          if (code === undefined) {
            code = st.rstCode === http2.constants.NGHTTP2_CANCEL ? grpc.status.CANCELLED : grpc.status.UNAVAILABLE;
            details = `stream closed without status (rst ${st.rstCode})`;
          }
          ev.status(code, details);
        });
      };
      stream = request();
      if (!stream) return { write: () => true, end: () => undefined, cancel: () => undefined, onceDrain: (cb) => queueMicrotask(cb) };
      attach(stream);
      return {
        write: (b) => {
          if (replay) {
            // Bounded: a server that has not answered after this many messages has certainly taken the stream.
            if (replay.length < MAX_REPLAY) replay.push(b);
            else replay = undefined;
          }
          return stream!.writable ? stream!.write(b) : true;
        },
        end: () => {
          halfClosed = true;
          if (stream!.writable) stream!.end();
        },
        cancel: () => {
          cancelled = true;
          stream!.close(http2.constants.NGHTTP2_CANCEL);
        },
        onceDrain: (cb) => void stream!.once('drain', cb).once('close', cb),
      };
    },
    get refusedRetried() {
      return refusedRetried;
    },
    close: () => {
      closed = true;
      session?.close();
      for (const s of all) s.close();
    },
  };
}
