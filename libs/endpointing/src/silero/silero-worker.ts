// The Silero sessions' worker thread, started by SileroModel (silero-model.ts, which says why a thread).
// Imports only node built-ins, onnxruntime-node and relative modules: path aliases do not resolve here.
import { parentPort, workerData } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { STATE_SIZE } from './geometry';
import type { BatchedGraph, RunReply, RunRequest, SileroWorkerData, WorkerReady } from './silero-worker-messages';

const port = parentPort;
if (!port) throw new Error('silero-worker runs in a worker thread (see SileroModel)');
const data = workerData as SileroWorkerData;
// Resolved by the main thread, as the rest of the process resolves it.
const ort = require(data.ort) as typeof Ort;

const OPTIONS: Ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
};
/** Largest difference in probability or state for a batched graph to stand in for the published one. */
const TOLERANCE = 1e-3;
const STATE_HALF = STATE_SIZE / 2;

interface RateSession {
  session: Ort.InferenceSession;
  /** The rate input: set for the published model only (a batched graph has its rate built in). */
  sr?: Ort.Tensor;
}
const sessions = new Map<number, RateSession>();

const srTensor = (rate: number) => new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []);
const message = (e: unknown) => String((e as Error | undefined)?.message || e);

/** A deterministic test signal: tones under a changing envelope plus noise, two streams, `count` windows. */
function testWindows(width: number, count: number): Float32Array[] {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296 - 0.5;
  return Array.from({ length: count }, (_, w) =>
    Float32Array.from({ length: 2 * width }, (_, i) => {
      const t = w * width + (i % width);
      const env = 0.5 * (1 + Math.sin(t / 700 + (i < width ? 0 : 2)));
      return env * 0.3 * (Math.sin(t * 0.07) + 0.5 * Math.sin(t * 0.21)) + 0.05 * rnd();
    }),
  );
}

/** Largest difference between the two graphs' probabilities and states over the test signal. */
async function maxDifference(published: Ort.InferenceSession, batched: Ort.InferenceSession, rate: number, width: number): Promise<number> {
  let a = new Float32Array(2 * STATE_SIZE);
  let b = a;
  let worst = 0;
  for (const input of testWindows(width, 12)) {
    const p = await published.run({
      input: new ort.Tensor('float32', input, [2, width]),
      state: new ort.Tensor('float32', a, [2, 2, STATE_HALF]),
      sr: srTensor(rate),
    });
    const q = await batched.run({
      input: new ort.Tensor('float32', input.map((x) => x * 32768), [2, width]),
      state: new ort.Tensor('float32', b, [2, 2, STATE_HALF]),
    });
    a = Float32Array.from(p.stateN.data as Float32Array);
    b = Float32Array.from(q.stateN.data as Float32Array);
    const pOut = p.output.data as Float32Array;
    const qOut = q.output.data as Float32Array;
    for (let i = 0; i < 2; i++) worst = Math.max(worst, Math.abs(pOut[i] - qOut[i]));
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return worst;
}

/**
 * Loads the published model and the batched graphs; these serve only if they score the test signal as the
 * published model does, otherwise the published model serves every rate.
 */
async function init(graphs: BatchedGraph[], batchedError?: string): Promise<WorkerReady> {
  const published = await ort.InferenceSession.create(data.path, OPTIONS);
  let note = batchedError;
  if (note === undefined) {
    try {
      for (const { rate, width, model } of graphs) {
        const session = await ort.InferenceSession.create(model, OPTIONS);
        const diff = await maxDifference(published, session, rate, width);
        if (!(diff <= TOLERANCE)) throw new Error(`batched graph scores differently at ${rate} Hz (by ${diff})`);
        sessions.set(rate, { session });
      }
    } catch (e) {
      note = message(e);
      sessions.clear();
    }
  }
  if (sessions.size === 0) for (const { rate } of graphs) sessions.set(rate, { session: published, sr: srTensor(rate) });
  else await published.release();
  return { ready: true, inputs: [...published.inputNames], outputs: [...published.outputNames], batched: note === undefined, note };
}

init(data.batched, data.batchedError).then(
  (m) => port.postMessage(m),
  (e: unknown) => port.postMessage({ ready: false, error: message(e) } satisfies WorkerReady),
);

// Buffers come and go back transferred, and outputs are written into the caller's: no allocation per batch.
port.on('message', async ({ id, rate, n, width, input, states, probs, next }: RunRequest) => {
  const buffers = [input, states, probs, next];
  const reply: RunReply = { id, input, states, probs, next };
  try {
    const rs = sessions.get(rate);
    if (!rs) throw new Error(`no Silero session for ${rate} Hz`);
    const feeds: Record<string, Ort.Tensor> = {
      input: new ort.Tensor('float32', new Float32Array(input, 0, n * width), [n, width]),
      state: new ort.Tensor('float32', new Float32Array(states, 0, n * STATE_SIZE), [2, n, STATE_HALF]),
    };
    if (rs.sr) {
      feeds.sr = rs.sr;
      const x = feeds.input.data as Float32Array;
      for (let i = 0; i < x.length; i++) x[i] *= 1 / 32768; // the published model takes [-1, 1)
    }
    await rs.session.run(feeds, {
      output: new ort.Tensor('float32', new Float32Array(probs, 0, n), [n, 1]),
      stateN: new ort.Tensor('float32', new Float32Array(next, 0, n * STATE_SIZE), [2, n, STATE_HALF]),
    });
  } catch (e) {
    reply.error = message(e);
  }
  port.postMessage(reply, buffers);
});
