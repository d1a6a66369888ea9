import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildBatchedSilero } from './batched-graph';
import { MAX_INPUT_WIDTH, SILERO_GEOMETRY, STATE_SIZE } from './geometry';
import type { BatchedGraph, BufferSet, RunReply, SileroWorkerData, WorkerReady } from './silero-worker-messages';

export { SILERO_GEOMETRY, STATE_SIZE } from './geometry';

const STATE_HALF = STATE_SIZE / 2;

export interface BatchResult {
  /** Speech probability per stream. */
  probs: Float32Array;
  /** Next state, laid out [2, N, 128]. */
  states: Float32Array;
  /** The result's buffers may be reused for another batch (call once done reading them). */
  release?(): void;
}

/** Room for one batch: input [n, width] and states [2, n, 128], both views from offset 0 of their buffers. */
export interface BatchBuffers {
  input: Float32Array;
  states: Float32Array;
}

/** Windows a pooled buffer set holds (the scorer's largest batch); larger batches get a set of their own. */
const SET_WINDOWS = 128;
/** Sets kept for reuse: one per batch in flight (one per scorer sharing the model) is enough. */
const POOL_MAX = 4;

// The sessions live in a worker thread (silero-worker.ts): onnxruntime-node's run() computes on the calling JS
// thread, so in the main thread every batch would stall all calls' gRPC traffic. It also keeps the model out of
// test sandboxes, whose typed arrays onnxruntime rejects as foreign.

/**
 * Starts the worker: the compiled .js beside this file (inheriting the process's node options), or under
 * TypeScript sources (jest, bench) the .ts one, which a fresh thread can only load through the TS loader the
 * scripts use.
 */
export function startSileroWorker(workerData: SileroWorkerData): Worker {
  const ext = extname(__filename);
  const file = join(__dirname, `silero-worker${ext}`);
  const execArgv = ext === '.ts' ? ['-r', require.resolve('@swc-node/register')] : undefined;
  return new Worker(file, { workerData, execArgv });
}

/** The batched graphs to try, or why there are none. */
function batchedGraphs(path: string, source?: Uint8Array): { batched: BatchedGraph[]; batchedError?: string } {
  const rates = Object.entries(SILERO_GEOMETRY).map(([rate, g]) => ({ rate: Number(rate), width: g.context + g.window }));
  try {
    const file = source ?? readFileSync(path);
    return { batched: rates.map((r) => ({ ...r, model: buildBatchedSilero(file, r.rate as 8000 | 16000) })) };
  } catch (e) {
    return { batched: rates.map((r) => ({ ...r, model: new Uint8Array(0) })), batchedError: e instanceof Error ? e.message : String(e) };
  }
}

type LoadedWorker = Extract<WorkerReady, { ready: true }>;

interface Pending {
  n: number;
  resolve(r: BatchResult): void;
  reject(e: Error): void;
}

/** First restart delay after the worker dies; doubled per failed attempt, up to RESTART_MAX_MS. */
const RESTART_MS = 500;
const RESTART_MAX_MS = 30_000;
/** close() waits this long at most for runs in flight (a run takes milliseconds). */
const CLOSE_WAIT_MS = 2000;

/** One Silero v5 ONNX session in a worker thread; shared by every endpointer of the process. */
export class SileroModel {
  private worker!: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly pool: BufferSet[] = [];
  /** Sets lent out by acquire(), by their input buffer. */
  private readonly lent = new WeakMap<ArrayBuffer, BufferSet>();
  /** Set while there is no working worker: every run fails with it. */
  private dead?: string;
  private closed = false;
  private restartMs = RESTART_MS;
  private readonly workerData: SileroWorkerData;
  private readonly ready: Promise<LoadedWorker>;
  /** Why the published graph serves instead of the batched one (undefined: batched). */
  unbatched?: string;
  /** Workers started after the first one died (tests, diagnostics). */
  restarts = 0;

  private constructor(readonly path: string, batchedFrom?: Uint8Array) {
    this.workerData = { path, ort: require.resolve('onnxruntime-node'), ...batchedGraphs(path, batchedFrom) };
    this.ready = this.spawn();
  }

  /**
   * Starts a worker. If it dies later (not by close()), runs fail (the scorer judges windows by energy
   * meanwhile) and a new one is started, after a delay that grows while starts keep failing.
   */
  private spawn(): Promise<LoadedWorker> {
    const worker = startSileroWorker(this.workerData);
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let up = false;
      let ended = false;
      const first = (m: WorkerReady) => {
        worker.off('message', first);
        worker.unref(); // idle, it does not keep the process alive (see run())
        worker.on('message', (r: RunReply) => this.answer(r));
        if (!m.ready) return reject(new Error(m.error));
        up = true;
        this.dead = undefined;
        this.restartMs = RESTART_MS;
        resolve(m);
      };
      const gone = (reason: string) => {
        if (ended) return; // 'error' is followed by 'exit'
        ended = true;
        this.stop(reason);
        reject(new Error(reason));
        // Only a worker that came up is replaced: one that fails to load fails the load (or its restart, retried).
        if (!this.closed && (up || this.restarts > 0)) this.scheduleRestart();
      };
      worker.on('message', first);
      worker.once('error', (e) => gone(`Silero worker failed: ${e.message}`));
      worker.once('exit', (code) => gone(`Silero worker exited (code ${code})`));
    });
  }

  private scheduleRestart(): void {
    const delay = this.restartMs;
    this.restartMs = Math.min(this.restartMs * 2, RESTART_MAX_MS);
    setTimeout(() => {
      if (this.closed) return;
      this.restarts++;
      this.spawn().catch(() => undefined); // a failed start schedules the next attempt itself
    }, delay).unref();
  }

  /**
   * Loads and checks the model (input names and output shapes at both rates), so a wrong file fails here, not
   * mid-call. `batchedFrom`: build the batched graphs from these bytes instead of the file (tests).
   */
  static async load(path: string, opts: { batchedFrom?: Uint8Array } = {}): Promise<SileroModel> {
    const model = new SileroModel(path, opts.batchedFrom);
    try {
      const { inputs, outputs, batched, note } = await model.ready;
      if (!batched) model.unbatched = note;
      if (!['input', 'state', 'sr'].every((n) => inputs.includes(n)) || !['output', 'stateN'].every((n) => outputs.includes(n))) {
        throw new Error(`not a Silero VAD v5 model: inputs [${inputs.join(', ')}], outputs [${outputs.join(', ')}]; expected input, state, sr -> output, stateN`);
      }
      for (const [rate, g] of Object.entries(SILERO_GEOMETRY)) {
        const r = await model.run(Number(rate), new Float32Array(2 * (g.context + g.window)), new Float32Array(2 * STATE_SIZE), 2);
        if (r.probs.length !== 2 || r.states.length !== 2 * STATE_SIZE) {
          throw new Error(`unexpected Silero output shapes at ${rate} Hz (output: ${r.probs.length} values, stateN: ${r.states.length})`);
        }
      }
      return model;
    } catch (e) {
      await model.close();
      throw e;
    }
  }

  /** Buffers for a batch of `n` windows of `width` samples, reused across batches. */
  acquire(n: number, width: number): BatchBuffers {
    let set = this.pool.pop();
    if (!set || set.input.byteLength < n * width * 4 || set.states.byteLength < n * STATE_SIZE * 4) set = newSet(Math.max(n, SET_WINDOWS), Math.max(width, MAX_INPUT_WIDTH));
    this.lent.set(set.input, set);
    return { input: new Float32Array(set.input, 0, n * width), states: new Float32Array(set.states, 0, n * STATE_SIZE) };
  }

  /**
   * Scores `n` windows of one rate in one call. `input` is [n, context + window] 16-bit sample values (not
   * scaled), `states` [2, n, 128] (from
   * acquire(), or any arrays starting at offset 0 of their buffers); both are handed over (detached).
   */
  run(rate: number, input: Float32Array, states: Float32Array, n: number): Promise<BatchResult> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    if (input.byteOffset !== 0 || states.byteOffset !== 0) return Promise.reject(new Error('batch arrays must start at offset 0 of their buffers'));
    const set = this.lent.get(input.buffer as ArrayBuffer) ?? { ...newSet(n, 0), input: input.buffer as ArrayBuffer, states: states.buffer as ArrayBuffer };
    this.lent.delete(set.input);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { n, resolve, reject });
      this.worker.postMessage({ id, rate, n, width: input.length / n, ...set }, [set.input, set.states, set.probs, set.next]);
    });
  }

  /**
   * Ends the worker once its runs in flight are over (at most CLOSE_WAIT_MS): onnxruntime aborts the whole
   * process when its thread is torn down in the middle of a run. New runs fail at once.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.dead ??= 'Silero model closed';
    const until = Date.now() + CLOSE_WAIT_MS;
    while (this.pending.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
    await this.worker.terminate();
  }

  private answer(m: RunReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    const set: BufferSet = { input: m.input, states: m.states, probs: m.probs, next: m.next };
    const release = () => {
      if (this.pool.length < POOL_MAX && set.probs.byteLength >= SET_WINDOWS * 4) this.pool.push(set);
    };
    if (m.error !== undefined) {
      release();
      p.reject(new Error(m.error));
    } else p.resolve({ probs: new Float32Array(set.probs, 0, p.n), states: new Float32Array(set.next, 0, p.n * STATE_SIZE), release });
  }

  private stop(reason: string): void {
    this.dead = this.closed ? (this.dead ?? reason) : reason;
    const err = new Error(this.dead);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

function newSet(windows: number, width: number): BufferSet {
  return {
    input: new ArrayBuffer(windows * width * 4),
    states: new ArrayBuffer(windows * STATE_SIZE * 4),
    probs: new ArrayBuffer(windows * 4),
    next: new ArrayBuffer(windows * STATE_SIZE * 4),
  };
}

// One session (and worker) per model file and process: every gateway instance (and test) in the process shares it.
const loaded = new Map<string, Promise<SileroModel>>();

export function loadSileroModel(path: string): Promise<SileroModel> {
  let p = loaded.get(path);
  if (!p) {
    p = SileroModel.load(path);
    loaded.set(path, p);
    p.catch(() => loaded.delete(path)); // a failed load is retried by the next caller
  }
  return p;
}

/** Copies stream `i` of a [2, n, 128] state batch out to / in from a [2, 128] per-stream state. */
export function copyStateOut(batch: Float32Array, n: number, i: number, into: Float32Array): void {
  into.set(batch.subarray(i * STATE_HALF, (i + 1) * STATE_HALF), 0);
  into.set(batch.subarray((n + i) * STATE_HALF, (n + i + 1) * STATE_HALF), STATE_HALF);
}

export function copyStateIn(state: Float32Array, batch: Float32Array, n: number, i: number): void {
  batch.set(state.subarray(0, STATE_HALF), i * STATE_HALF);
  batch.set(state.subarray(STATE_HALF), (n + i) * STATE_HALF);
}
