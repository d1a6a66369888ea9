import { SpeechEvent } from '../speech-endpointer';
import type { ScoreClient, WindowScorer } from './batch-scorer';
import { GATED_WINDOWS_SCORED, SileroEndpointer, SileroEndpointerFactory, type SileroEndpointerOptions } from './silero-endpointer';

const OPTS: SileroEndpointerOptions = {
  threshold: 0.5,
  startDebounceMs: 96,
  endSilenceMs: 320, // 10 windows
  speechEndGraceMs: 0,
  maxPauseMerges: 2,
  silenceGateDbfs: -60,
  energyThresholdDbfs: -40,
};

/** Holds submitted windows until the test scores them. */
class FakeScorer implements WindowScorer {
  failure?: string;
  readonly waiting: ScoreClient[] = [];
  /** Copies of every window submitted, in order. */
  readonly inputs: Float32Array[] = [];
  submit(c: ScoreClient): void {
    this.waiting.push(c);
    this.inputs.push(c.input.slice());
  }
  /** Scores every waiting window, and those they let through, with `prob(input)`. */
  drain(prob: (input: Float32Array) => number): void {
    while (this.waiting.length > 0) {
      const c = this.waiting.shift()!;
      if (c.closed) continue; // as the real scorer: a closed client's window is gone
      c.state[0] += 1; // marks that the model "ran"
      c.scored(prob(c.input));
    }
  }
}

const tone = (n: number, amp = 8000) => Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin(i / 3)));
const quiet = (n: number) => new Int16Array(n); // digital silence, below the gate
/** "Model": speech when the window is loud. */
const byLevel = (input: Float32Array) => (Math.abs(input[input.length - 10]) + Math.abs(input[input.length - 11]) > 0.05 ? 0.9 : 0.1);

function setup(rate = 8000, opts = OPTS) {
  const scorer = new FakeScorer();
  const events: Array<[SpeechEvent, number]> = [];
  const e = new SileroEndpointer(rate, opts, scorer, (ev, at) => events.push([ev, at]));
  return { scorer, events, e };
}

function frames(pcm: Int16Array, size: number): Int16Array[] {
  const out: Int16Array[] = [];
  for (let o = 0; o < pcm.length; o += size) out.push(pcm.subarray(o, o + size));
  return out;
}

describe('SileroEndpointer', () => {
  it('cuts 256-sample windows at 8 kHz with the previous 32 samples as context (sample values, unscaled)', () => {
    const { scorer, e } = setup();
    const pcm = Int16Array.from({ length: 800 }, (_, i) => ((i * 37) % 2000) - 1000 + 3000);
    for (const f of frames(pcm, 160)) e.push(f); // 20 ms frames carry residuals into the windows
    expect(scorer.inputs).toHaveLength(1); // one window at a time: the next waits for this one's state
    scorer.drain(() => 0);
    scorer.drain(() => 0);
    expect(scorer.inputs).toHaveLength(3);
    const expected = (from: number) => Float32Array.from({ length: 288 }, (_, i) => (from + i < 0 ? 0 : pcm[from + i]));
    expect(scorer.inputs[0]).toEqual(expected(-32));
    expect(scorer.inputs[1]).toEqual(expected(256 - 32));
    expect(scorer.inputs[2]).toEqual(expected(512 - 32));
  });

  it('uses 512-sample windows with 64 samples of context at 16 kHz', () => {
    const { scorer, e } = setup(16000);
    const pcm = Int16Array.from({ length: 1100 }, (_, i) => 1000 + i);
    for (const f of frames(pcm, 320)) e.push(f);
    scorer.drain(() => 0);
    expect(scorer.inputs).toHaveLength(2);
    expect(scorer.inputs[1]).toHaveLength(576);
    expect(scorer.inputs[1][0]).toBe(pcm[512 - 64]);
    expect(scorer.inputs[1][575]).toBe(pcm[1023]);
  });

  it('decides asynchronously, in window order, reporting the sample after the deciding window', () => {
    const { scorer, events, e } = setup();
    for (const f of frames(tone(256 * 5), 160)) e.push(f);
    expect(events).toEqual([]); // nothing before the model answered
    scorer.drain(byLevel);
    expect(events).toEqual([[SpeechEvent.Started, 3 * 256]]);
    for (const f of frames(tone(256 * 12, 30), 160)) e.push(f); // quiet but above the gate: the model decides
    scorer.drain(byLevel);
    expect(events).toEqual([
      [SpeechEvent.Started, 3 * 256],
      [SpeechEvent.Ended, 15 * 256],
    ]);
  });

  it('threshold: speech when the probability is at least the threshold', () => {
    for (const [p, started] of [[0.5, true], [0.49, false]] as const) {
      const { scorer, events, e } = setup();
      e.push(tone(256 * 4));
      scorer.drain(() => p);
      expect(events.length > 0).toBe(started);
    }
  });

  it('silence below the gate: no inference from the start, decided at once', () => {
    const { scorer, e } = setup();
    for (const f of frames(quiet(8000 * 3), 160)) e.push(f);
    expect(scorer.inputs).toHaveLength(0);
    expect(e.backlog).toBe(0);
  });

  it('after sound, the first silent windows still run the model (verdict silence), then the state is reset', () => {
    const { scorer, events, e } = setup();
    e.push(tone(256 * 4));
    scorer.drain(() => 0.9);
    expect(events).toEqual([[SpeechEvent.Started, 3 * 256]]);
    e.push(quiet(256 * 20));
    // The model says speech on these, but they are below the gate: still silence.
    scorer.drain(() => 0.9);
    expect(scorer.inputs).toHaveLength(4 + GATED_WINDOWS_SCORED);
    expect(events).toEqual([
      [SpeechEvent.Started, 3 * 256],
      [SpeechEvent.Ended, 14 * 256],
    ]);
    expect(e.state.every((v) => v === 0)).toBe(true);
    e.push(tone(256));
    expect(scorer.waiting).toHaveLength(1); // sound again: the model runs from its initial state
  });

  it('silent windows wait behind a window being scored, keeping the order', () => {
    const { scorer, events, e } = setup(8000, { ...OPTS, endSilenceMs: 32, startDebounceMs: 32 });
    e.push(tone(256));
    e.push(quiet(256 * 12)); // decidable without the model, but after the tone
    expect(events).toEqual([]);
    scorer.drain(() => 0.9);
    expect(events).toEqual([
      [SpeechEvent.Started, 256],
      [SpeechEvent.Ended, 2 * 256],
    ]);
  });

  it('reports nothing after close(), even for windows already being scored', () => {
    const { scorer, events, e } = setup();
    e.push(tone(256 * 4));
    e.close();
    scorer.drain(() => 0.9);
    e.push(tone(256 * 4));
    scorer.drain(() => 0.9);
    expect(events).toEqual([]);
    expect(scorer.inputs).toHaveLength(1);
  });

  it('ignores a result that arrives after close()', () => {
    const { scorer, events, e } = setup(8000, { ...OPTS, startDebounceMs: 0 });
    e.push(tone(256));
    const [client] = scorer.waiting;
    e.close();
    client.scored(0.9); // a scorer racing the close
    expect(events).toEqual([]);
  });

  it('stops at once when the listener closes it', () => {
    const scorer = new FakeScorer();
    const events: SpeechEvent[] = [];
    const e: SileroEndpointer = new SileroEndpointer(8000, { ...OPTS, startDebounceMs: 0, endSilenceMs: 32 }, scorer, (ev) => {
      events.push(ev);
      e.close();
    });
    e.push(tone(256 * 3));
    scorer.drain(() => 0.9);
    expect(events).toEqual([SpeechEvent.Started]);
    expect(scorer.inputs).toHaveLength(1);
  });

  it('when inference fails (NaN), windows are judged by energy and the factory reports degraded', () => {
    const scorer = new FakeScorer();
    const factory = new SileroEndpointerFactory(scorer, OPTS);
    expect(factory.degraded).toBeUndefined();
    const events: SpeechEvent[] = [];
    const e = factory.create(8000, (ev) => events.push(ev));
    e.push(tone(256 * 4, 8000)); // about -15 dBFS: speech by energy
    scorer.failure = 'boom';
    scorer.drain(() => NaN);
    expect(events).toEqual([SpeechEvent.Started]);
    expect(factory.degraded).toMatch(/boom/);
  });

  it('rejects rates the model does not support', () => {
    expect(() => setup(11025)).toThrow(/8000 and 16000/);
  });
});

describe('SileroEndpointerFactory', () => {
  it('a stream made with its own end silence ends after it', () => {
    const ends = (endSilenceMs?: number) => {
      const scorer = new FakeScorer();
      const ended: number[] = [];
      const e = new SileroEndpointerFactory(scorer, OPTS).create(8000, (ev, at) => ev === SpeechEvent.Ended && ended.push(at), endSilenceMs);
      for (const f of frames(Int16Array.from([...tone(256 * 10), ...quiet(256 * 20)]), 160)) {
        e.push(f);
        scorer.drain(byLevel);
      }
      return ended;
    };
    // Speech ends with window 10: 320 ms (10 windows) later by default, 96 ms (3 windows) with its own.
    expect(ends()).toEqual([20 * 256]);
    expect(ends(96)).toEqual([13 * 256]);
  });
});
