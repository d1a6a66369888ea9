import { BatchScorer, type ScoreClient, type ScoringModel } from './batch-scorer';
import type { BatchResult } from './silero-model';

interface Call {
  rate: number;
  n: number;
  input: Float32Array;
  states: Float32Array;
  resolve(r: BatchResult): void;
  reject(e: Error): void;
}

/** Model whose runs the test completes by hand. */
class FakeModel implements ScoringModel {
  readonly calls: Call[] = [];
  run(rate: number, input: Float32Array, states: Float32Array, n: number): Promise<BatchResult> {
    return new Promise((resolve, reject) => this.calls.push({ rate, n, input, states, resolve, reject }));
  }
  /** Answers the last run: prob = first input sample of each stream, next state = state + 1. */
  answer(i = this.calls.length - 1): void {
    const c = this.calls[i];
    const width = c.input.length / c.n;
    c.resolve({ probs: Float32Array.from({ length: c.n }, (_, k) => c.input[k * width]), states: c.states.map((v) => v + 1) });
  }
}

class Client implements ScoreClient {
  closed = false;
  readonly state = new Float32Array(256);
  readonly input: Float32Array;
  readonly probs: number[] = [];
  constructor(readonly sampleRate: number, first: number, stateSeed: number) {
    this.input = new Float32Array(sampleRate === 8000 ? 288 : 576);
    this.input[0] = first;
    // Distinct values in both halves of the [2, 128] state, to check the [2, N, 128] layout.
    for (let i = 0; i < 256; i++) this.state[i] = stateSeed * 1000 + i;
  }
  scored(p: number): void {
    this.probs.push(p);
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('BatchScorer', () => {
  it('scores the windows submitted in one event-loop turn in one run, with states as [2, N, 128]', async () => {
    const model = new FakeModel();
    const scorer = new BatchScorer(model);
    const clients = [0.1, 0.2, 0.3].map((p, i) => new Client(8000, p, i + 1));
    for (const c of clients) scorer.submit(c);
    expect(model.calls).toHaveLength(0); // collected first
    await tick();
    expect(model.calls.map((c) => [c.rate, c.n])).toEqual([[8000, 3]]);
    const { states, input } = model.calls[0];
    expect(input[288]).toBeCloseTo(0.2);
    expect(states[128]).toBe(2000); // layer 0 of stream 1
    expect(states[3 * 128 + 5]).toBe(1000 + 128 + 5); // layer 1 of stream 0
    model.answer();
    await tick();
    expect(clients.map((c) => c.probs)).toEqual([[expect.closeTo(0.1)], [expect.closeTo(0.2)], [expect.closeTo(0.3)]]);
    expect(clients[1].state[0]).toBe(2001);
    expect(clients[1].state[128]).toBe(2000 + 128 + 1);
    expect(scorer.stats).toMatchObject({ runs: 1, windows: 3, maxBatch: 3 });
  });

  it('one run at a time: windows submitted meanwhile form the next batch', async () => {
    const model = new FakeModel();
    const scorer = new BatchScorer(model);
    scorer.submit(new Client(8000, 0.5, 1));
    await tick();
    const later = [new Client(8000, 0.6, 2), new Client(8000, 0.7, 3)];
    for (const c of later) scorer.submit(c);
    await tick();
    expect(model.calls).toHaveLength(1);
    model.answer(0);
    await tick();
    await tick();
    expect(model.calls.map((c) => c.n)).toEqual([1, 2]);
  });

  it('keeps rates apart (different window sizes and sr), alternating between them', async () => {
    const model = new FakeModel();
    const scorer = new BatchScorer(model);
    scorer.submit(new Client(8000, 0.1, 1));
    scorer.submit(new Client(16000, 0.2, 2));
    scorer.submit(new Client(8000, 0.3, 3));
    await tick();
    model.answer();
    await tick();
    await tick();
    expect(model.calls.map((c) => [c.rate, c.n, c.input.length])).toEqual([
      [8000, 2, 576],
      [16000, 1, 576],
    ]);
  });

  describe('with a batch wait', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    it('holds the first window up to the wait so later ones join its run', async () => {
      const model = new FakeModel();
      const scorer = new BatchScorer(model, undefined, { waitMs: 20 });
      scorer.submit(new Client(8000, 0.1, 1));
      await tick();
      jest.advanceTimersByTime(12);
      expect(model.calls).toHaveLength(0);
      scorer.submit(new Client(8000, 0.2, 2)); // the wait counts from the first window, not this one
      jest.advanceTimersByTime(7);
      await tick();
      expect(model.calls).toHaveLength(0);
      jest.advanceTimersByTime(1);
      await tick();
      expect(model.calls.map((c) => c.n)).toEqual([2]);
    });

    it('runs at once when the batch is full', async () => {
      const model = new FakeModel();
      const scorer = new BatchScorer(model, undefined, { waitMs: 20, maxBatch: 3 });
      for (let i = 0; i < 3; i++) scorer.submit(new Client(8000, 0.1, i));
      await tick();
      expect(model.calls.map((c) => c.n)).toEqual([3]);
    });

    it('does not hold a window whose stream is behind real time', async () => {
      const model = new FakeModel();
      const scorer = new BatchScorer(model, undefined, { waitMs: 20 });
      scorer.submit(new Client(8000, 0.1, 1));
      scorer.submit(new Client(8000, 0.2, 2), true);
      await tick();
      expect(model.calls.map((c) => c.n)).toEqual([2]);
    });

    it('windows left after a full batch go next, without a new wait', async () => {
      const model = new FakeModel();
      const scorer = new BatchScorer(model, undefined, { waitMs: 20, maxBatch: 2 });
      for (let i = 0; i < 3; i++) scorer.submit(new Client(8000, 0.1, i));
      await tick();
      model.answer();
      await tick();
      await tick();
      expect(model.calls.map((c) => c.n)).toEqual([2, 1]);
    });
  });

  it('stop(): the run in flight finishes, waiting and later windows then get NaN without a run', async () => {
    const model = new FakeModel();
    const scorer = new BatchScorer(model);
    const inFlight = new Client(8000, 0.5, 1);
    scorer.submit(inFlight);
    await tick();
    const waiting = new Client(8000, 0.6, 2);
    scorer.submit(waiting);
    let stopped = false;
    void scorer.stop().then(() => (stopped = true));
    await tick();
    await tick();
    expect(stopped).toBe(false); // the first run is still going
    model.answer(0);
    for (let i = 0; i < 4; i++) await tick();
    expect([stopped, inFlight.probs, waiting.probs]).toEqual([true, [expect.closeTo(0.5)], [NaN]]);
    const later = new Client(8000, 0.7, 3);
    scorer.submit(later);
    await tick();
    expect(later.probs).toEqual([NaN]);
    expect(model.calls).toHaveLength(1);
    expect(scorer.failure).toBeUndefined(); // a shutdown, not a failure
  });

  it('bounds the batch size', async () => {
    const model = new FakeModel();
    const scorer = new BatchScorer(model, undefined, { maxBatch: 2 });
    for (let i = 0; i < 5; i++) scorer.submit(new Client(8000, 0.1, i));
    await tick();
    for (let k = 0; k < 3; k++) {
      model.answer();
      await tick();
      await tick();
    }
    expect(model.calls.map((c) => c.n)).toEqual([2, 2, 1]);
  });

  it('skips clients closed before or during the run', async () => {
    const model = new FakeModel();
    const scorer = new BatchScorer(model);
    const [a, b, c] = [1, 2, 3].map((i) => new Client(8000, 0.1, i));
    scorer.submit(a);
    scorer.submit(b);
    a.closed = true;
    await tick();
    expect(model.calls[0].n).toBe(1);
    scorer.submit(c);
    b.closed = true;
    model.answer();
    await tick();
    expect(b.probs).toEqual([]);
    expect(b.state[0]).toBe(2000); // untouched
  });

  it('a failed run gives NaN to its windows and sets failure until a run succeeds', async () => {
    const model = new FakeModel();
    const changes: Array<string | undefined> = [];
    const scorer = new BatchScorer(model, { failureChanged: (f) => changes.push(f) });
    const a = new Client(8000, 0.9, 1);
    scorer.submit(a);
    await tick();
    model.calls[0].reject(new Error('onnx exploded'));
    await tick();
    expect(a.probs).toEqual([NaN]);
    expect(a.state[0]).toBe(1000);
    expect(scorer.failure).toBe('onnx exploded');
    scorer.submit(a);
    await tick();
    model.answer();
    await tick();
    expect(scorer.failure).toBeUndefined();
    expect(changes).toEqual(['onnx exploded', undefined]);
  });

  it('a listener that throws does not stop the others of its batch', async () => {
    const model = new FakeModel();
    const errors: unknown[] = [];
    const scorer = new BatchScorer(model, { listenerError: (e) => errors.push(e) });
    const bad = new Client(8000, 0.1, 1);
    bad.scored = () => {
      throw new Error('listener bug');
    };
    const good = new Client(8000, 0.2, 2);
    scorer.submit(bad);
    scorer.submit(good);
    await tick();
    model.answer();
    await tick();
    expect(good.probs).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });
});
