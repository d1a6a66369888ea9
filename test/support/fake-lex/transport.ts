import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { Duplex, type Readable } from 'node:stream';

/**
 * One request/response, whichever HTTP version carried it. The runtime client's default Node handler speaks
 * HTTP/2 (h2c here) but the models client's default is HTTP/1.1, so one port serves both.
 */
export interface Exchange {
  readonly protocol: 'h2' | 'http/1.1';
  /** Which client connection carried it: 1, 2, ... in order of arrival (HTTP/2 sessions and HTTP/1.1 sockets). */
  readonly connection: number;
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Readable;
  /** True once the client went away (or we broke the transport). */
  gone(): boolean;
  /** Calls `cb` once if the client goes away before we answer; returns an unsubscribe. */
  onGone(cb: () => void): () => void;
  respond(status: number, headers: Record<string, string | number | undefined>, body: Buffer | string): void;
  /** HTTP/2: RST_STREAM on this stream only. HTTP/1.1: the connection is the stream, so it is closed. */
  reset(): void;
  /** Destroys the whole connection (every stream on it). */
  disconnect(): void;
}

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0 and dispatches by the first bytes: the HTTP/2 preface ("PRI ...") or HTTP/1.x. */
export async function listen(onExchange: (ex: Exchange) => void): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const h2 = http2.createServer();
  let connections = 0;
  const connectionOf = new WeakMap<object, number>();
  const numberOf = (key: object) => {
    let n = connectionOf.get(key);
    if (n === undefined) connectionOf.set(key, (n = ++connections));
    return n;
  };
  h2.on('session', (s) => s.on('error', () => undefined)); // a client vanishing mid-call is normal here
  h2.on('stream', (stream, headers) => onExchange(h2Exchange(stream, headers, numberOf(stream.session ?? stream))));
  const h1 = http.createServer((req, res) => onExchange(h1Exchange(req, res, numberOf(req.socket))));
  h1.keepAliveTimeout = 5000;

  // No Nagle: an answer is written as headers then body, and on a reused connection the body would wait for the
  // client's delayed ACK (40 ms), which real services do not add.
  const front = net.createServer({ noDelay: true }, (sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 3) return;
      sock.off('data', onData);
      sock.pause();
      if (head.subarray(0, 3).toString('latin1') === 'PRI') {
        // nghttp2 reads the socket's native handle, so bytes already read must be replayed through a stream.
        h2.emit('connection', replay(sock, head));
      } else {
        sock.unshift(head);
        h1.emit('connection', sock);
        sock.resume();
      }
    };
    sock.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (front.address() as net.AddressInfo).port,
    // Raw sockets are cut, not sessions closed: a client that never reads its reply would hold a graceful close.
    close: async () => {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

function replay(sock: net.Socket, head: Buffer): Duplex {
  const d = new Duplex({
    read: () => void sock.resume(),
    write: (chunk, enc, cb) => void sock.write(chunk, enc, cb),
    final: (cb) => {
      sock.end();
      cb();
    },
    destroy: (err, cb) => {
      sock.destroy();
      cb(err);
    },
  });
  d.push(head);
  sock.on('data', (c: Buffer) => {
    if (!d.push(c)) sock.pause();
  });
  sock.on('end', () => d.push(null));
  sock.on('close', () => d.destroy());
  d.on('error', () => undefined);
  return d;
}

function h2Exchange(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, connection: number): Exchange {
  stream.on('error', () => undefined);
  return {
    protocol: 'h2',
    connection,
    method: String(headers[':method'] ?? ''),
    path: String(headers[':path'] ?? '/'),
    headers,
    body: stream,
    gone: () => stream.destroyed || stream.closed,
    onGone: (cb) => {
      stream.once('close', cb);
      return () => stream.off('close', cb);
    },
    respond: (status, hdrs, body) => {
      stream.respond({ ...clean(hdrs), ':status': status, 'content-length': Buffer.byteLength(body) });
      stream.end(body);
    },
    reset: () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR),
    disconnect: () => stream.session?.destroy(),
  };
}

function h1Exchange(req: http.IncomingMessage, res: http.ServerResponse, connection: number): Exchange {
  let done = false;
  return {
    protocol: 'http/1.1',
    connection,
    method: req.method ?? '',
    path: req.url ?? '/',
    headers: req.headers,
    body: req,
    gone: () => res.destroyed || req.socket.destroyed,
    onGone: (cb) => {
      const f = () => {
        if (!done) cb();
      };
      res.once('close', f);
      return () => res.off('close', f);
    },
    respond: (status, hdrs, body) => {
      done = true;
      res.writeHead(status, { ...clean(hdrs), 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
    reset: () => req.socket.destroy(),
    disconnect: () => req.socket.destroy(),
  };
}

function clean(h: Record<string, string | number | undefined>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v;
  return out;
}
