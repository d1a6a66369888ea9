import { Worker } from 'node:worker_threads';

/** Silero VAD v5 framing: a window of new samples scored with the tail of the previous one before it. */
export interface SileroGeometry {
  window: number;
  context: number;
}

export const SILERO_GEOMETRY: Readonly<Record<number, SileroGeometry>> = {
  8000: { window: 256, context: 32 },
  16000: { window: 512, context: 64 },
};

/** Recurrent state of one stream: [2, 128] (the model takes [2, N, 128] for a batch). */
export const STATE_SIZE = 256;
const STATE_HALF = 128;

export interface BatchResult {
  /** Speech probability per stream. */
  probs: Float32Array;
  /** Next state, laid out [2, N, 128]. */
  states: Float32Array;
}

// The session lives in a worker thread: onnxruntime-node's run() computes on the calling JS thread, so in the
// main thread every batch would stall all calls' gRPC traffic. Plain JS evaluated in the worker (nothing to
// build or ship next to the compiled code); it also keeps the model out of test sandboxes, whose typed arrays
// onnxruntime rejects as foreign.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
const rates = new Map();
let session;
ort.InferenceSession.create(workerData.path, {
  intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3,
}).then((s) => {
  session = s;
  parentPort.postMessage({ ready: true, inputs: s.inputNames, outputs: s.outputNames });
}, (e) => parentPort.postMessage({ ready: false, error: String(e && e.message || e) }));
parentPort.on('message', async ({ id, rate, input, states, n }) => {
  try {
    let sr = rates.get(rate);
    if (!sr) rates.set(rate, sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []));
    const out = await session.run({
      input: new ort.Tensor('float32', input, [n, input.length / n]),
      state: new ort.Tensor('float32', states, [2, n, 128]),
      sr,
    });
    const probs = Float32Array.from(out.output.data);
    const next = Float32Array.from(out.stateN.data);
    parentPort.postMessage({ id, probs, states: next }, [probs.buffer, next.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

interface Pending {
  resolve(r: BatchResult): void;
  reject(e: Error): void;
}

/** One Silero v5 ONNX session in a worker thread; shared by every endpointer of the process. */
export class SileroModel {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the worker is gone: every run fails with it. */
  private dead?: string;
  private readonly ready: Promise<{ inputs: string[]; outputs: string[] }>;

  private constructor(readonly path: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, ort: require.resolve('onnxruntime-node') } });
    this.ready = new Promise((resolve, reject) => {
      const first = (m: { ready: boolean; error?: string; inputs: string[]; outputs: string[] }) => {
        this.worker.off('message', first);
        this.worker.unref(); // idle, it does not keep the process alive (see run())
        this.worker.on('message', (r) => this.answer(r));
        if (m.ready) resolve(m);
        else reject(new Error(m.error));
      };
      this.worker.on('message', first);
      this.worker.once('error', (e) => this.stop(`Silero worker failed: ${e.message}`, reject));
      this.worker.once('exit', (code) => this.stop(`Silero worker exited (code ${code})`, reject));
    });
  }

  /** Loads and checks the model (input names and output shapes at both rates), so a wrong file fails here, not mid-call. */
  static async load(path: string): Promise<SileroModel> {
    const model = new SileroModel(path);
    try {
      const { inputs, outputs } = await model.ready;
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

  /** Scores `n` windows of one rate in one call. `input` is [n, context + window], `states` [2, n, 128]; both are handed over (detached). */
  run(rate: number, input: Float32Array, states: Float32Array, n: number): Promise<BatchResult> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, rate, input, states, n }, [input.buffer, states.buffer] as ArrayBuffer[]);
    });
  }

  async close(): Promise<void> {
    this.dead ??= 'Silero model closed';
    await this.worker.terminate();
  }

  private answer(m: { id: number; error?: string; probs: Float32Array; states: Float32Array }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve({ probs: m.probs, states: m.states });
  }

  private stop(reason: string, rejectLoad: (e: Error) => void): void {
    this.dead ??= reason;
    const err = new Error(this.dead);
    rejectLoad(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
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
