import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';

/**
 * The monitoring HTTP server runs in a worker thread (its own V8 isolate: serving HTTP/1.1 there leaves the JIT's
 * view of Node's stream code, which gRPC's HTTP/2 uses on the main thread, untouched). It reads the gateway
 * through this bridge: named operations the main thread answers, either blocking (the worker waits, so the
 * services it stands in for keep their synchronous reads) or as promises.
 */

/** A named operation's arguments and answer cross by structured clone. */
export type Handlers = Record<string, (...args: any[]) => unknown>;

interface Request {
  t: 'call';
  id: number;
  op: string;
  args: unknown[];
}
interface Reply {
  t: 'reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: WireError;
}
/** An error as it crosses: its message, and an HTTP status when it is one (e.g. 404 from the other side). */
export interface WireError {
  message: string;
  name?: string;
  status?: number;
}

/** Thrown on the calling side with the other side's message; `status` when it was an HTTP error there. */
export class BridgeError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly remoteName?: string,
  ) {
    super(message);
    this.name = 'BridgeError';
  }
}

const toWire = (e: unknown): WireError => {
  const err = e as { message?: unknown; name?: unknown; getStatus?: () => number };
  return {
    message: typeof err?.message === 'string' ? err.message : String(e),
    name: typeof err?.name === 'string' ? err.name : undefined,
    status: typeof err?.getStatus === 'function' ? err.getStatus() : undefined,
  };
};

/** The port the bridge talks over: a MessagePort, or a Worker / parentPort (same shape). */
export interface PortLike {
  postMessage(value: unknown): void;
  on(event: 'message', listener: (value: any) => void): unknown;
  off(event: 'message', listener: (value: any) => void): unknown;
}

/**
 * Promise calls both ways over one port, plus one-way notes (`{ t: <name>, ... }`) for anything else. Every call
 * is bounded: no answer within `timeoutMs` rejects it.
 */
export class PortRpc {
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private readonly listener = (m: { t?: string }) => this.onMessage(m);
  private closed = false;

  constructor(
    private readonly port: PortLike,
    private readonly handlers: Handlers,
    private readonly onNote: (m: { t: string } & Record<string, unknown>) => void = () => undefined,
    private readonly timeoutMs = 5000,
  ) {
    port.on('message', this.listener);
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new BridgeError('the monitoring bridge is closed'));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BridgeError(`no answer to ${op} within ${this.timeoutMs} ms`, 503));
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.port.postMessage({ t: 'call', id, op, args } satisfies Request);
    });
  }

  note(m: { t: string } & Record<string, unknown>): void {
    if (!this.closed) this.port.postMessage(m);
  }

  close(): void {
    this.closed = true;
    this.port.off('message', this.listener);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new BridgeError('the monitoring bridge closed', 503));
    }
    this.pending.clear();
  }

  private onMessage(m: { t?: string }): void {
    if (m.t === 'call') void answer(this.handlers, m as Request, (r) => !this.closed && this.port.postMessage(r));
    else if (m.t === 'reply') {
      const r = m as Reply;
      const p = this.pending.get(r.id);
      if (!p) return; // timed out already
      this.pending.delete(r.id);
      clearTimeout(p.timer);
      if (r.ok) p.resolve(r.value);
      else p.reject(new BridgeError(r.error!.message, r.error!.status, r.error!.name));
    } else if (typeof m.t === 'string') this.onNote(m as { t: string } & Record<string, unknown>);
  }
}

async function answer(handlers: Handlers, req: Request, send: (r: Reply) => void): Promise<void> {
  const h = Object.hasOwn(handlers, req.op) ? handlers[req.op] : undefined;
  let reply: Reply;
  try {
    if (!h) throw new BridgeError(`unknown operation ${req.op}`);
    reply = { t: 'reply', id: req.id, ok: true, value: await h(...req.args) };
  } catch (e) {
    reply = { t: 'reply', id: req.id, ok: false, error: toWire(e) };
  }
  try {
    send(reply);
  } catch (e) {
    // An answer that cannot be cloned: the caller gets the reason, not a timeout.
    send({ t: 'reply', id: req.id, ok: false, error: toWire(e) });
  }
}

/**
 * The main thread's end of the blocking channel: answers each request, then stores its id in the shared word
 * and wakes the worker. The reply is posted before the id is stored, so a worker that sees the id finds it.
 */
export function serveBlocking(port: MessagePort, signal: Int32Array, handlers: Handlers): () => void {
  const listener = (m: Request) =>
    void answer(handlers, m, (r) => {
      port.postMessage(r);
      Atomics.store(signal, 0, r.id);
      Atomics.notify(signal, 0);
    });
  port.on('message', listener);
  return () => port.off('message', listener);
}

/**
 * The worker's end of the blocking channel: posts a request and waits (at most `timeoutMs`) for its answer.
 * Answers to requests that timed out earlier are skipped by id.
 */
export class BlockingCaller {
  private seq = 0;

  constructor(
    private readonly port: MessagePort,
    private readonly signal: Int32Array,
    private readonly timeoutMs = 5000,
  ) {}

  call<T>(op: string, ...args: unknown[]): T {
    const id = ++this.seq;
    this.port.postMessage({ t: 'call', id, op, args } satisfies Request);
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const got = receiveMessageOnPort(this.port)?.message as Reply | undefined;
      if (got) {
        if (got.id !== id) continue; // a late answer to an earlier request
        if (got.ok) return got.value as T;
        throw new BridgeError(got.error!.message, got.error!.status, got.error!.name);
      }
      const seen = Atomics.load(this.signal, 0);
      if (seen === id) continue; // posted: read it
      const left = deadline - Date.now();
      if (left <= 0) throw new BridgeError(`the gateway did not answer ${op} within ${this.timeoutMs} ms`, 503);
      Atomics.wait(this.signal, 0, seen, left);
    }
  }
}
