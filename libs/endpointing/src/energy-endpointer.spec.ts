import { EnergyEndpointer, EnergyEndpointerFactory } from './energy-endpointer';
import { SpeechEvent } from './speech-endpointer';

const frame = (amp: number, n = 160) => Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin(i / 3)));

function run(sampleRate: number, frames: Int16Array[], opts = { thresholdDbfs: -40, startDebounceMs: 96, endSilenceMs: 400 }) {
  const events: Array<[SpeechEvent, number]> = [];
  const e = new EnergyEndpointer(sampleRate, opts, (ev, at) => events.push([ev, at]));
  for (const f of frames) e.push(f);
  return { e, events };
}

describe('EnergyEndpointer', () => {
  it('starts after the debounce of loud windows and ends after the end silence, reporting where', () => {
    const frames = [...Array(10).fill(frame(0)), ...Array(20).fill(frame(8000)), ...Array(30).fill(frame(0))];
    // 96 ms = 5 windows of 20 ms: decided at the end of frame 14; 400 ms = 20 windows: end of frame 49
    expect(run(8000, frames).events).toEqual([[SpeechEvent.Started, 15 * 160], [SpeechEvent.Ended, 50 * 160]]);
  });

  it('does not start on short clicks or quiet noise', () => {
    const frames = [frame(20000), frame(0), frame(20000), frame(0), ...Array(50).fill(frame(50))];
    expect(run(8000, frames).events).toEqual([]);
  });

  it('keeps a speaker with short pauses in one utterance', () => {
    const f = (a: number) => frame(a, 320);
    const frames = [...Array(10).fill(f(8000)), ...Array(10).fill(f(0)), ...Array(10).fill(f(8000)), ...Array(25).fill(f(0))];
    expect(run(16000, frames).events.map(([ev]) => ev)).toEqual([SpeechEvent.Started, SpeechEvent.Ended]);
  });

  it('handles pushes that do not align with its windows, even one holding a whole utterance', () => {
    const whole = Int16Array.from([...frame(0, 800), ...frame(8000, 1600), ...frame(0, 4000)]);
    const sliced: Int16Array[] = [];
    for (let off = 0; off < whole.length; off += 37) sliced.push(whole.subarray(off, off + 37));
    const a = run(8000, sliced).events;
    const b = run(8000, [whole]).events;
    expect(a.map(([ev]) => ev)).toEqual([SpeechEvent.Started, SpeechEvent.Ended]);
    expect(b).toEqual(a);
  });

  it('reports nothing after close()', () => {
    const { e, events } = run(8000, [frame(8000), frame(8000)]);
    e.close();
    for (let i = 0; i < 10; i++) e.push(frame(8000));
    expect(events).toEqual([]);
  });

  it('a stream made with its own end silence ends after it; others keep the configured one', () => {
    const f = new EnergyEndpointerFactory({ thresholdDbfs: -40, startDebounceMs: 96, endSilenceMs: 400 });
    const frames = [...Array(20).fill(frame(8000)), ...Array(30).fill(frame(0))];
    const ends = (endSilenceMs?: number) => {
      const ended: number[] = [];
      const e = f.create(8000, (ev, at) => ev === SpeechEvent.Ended && ended.push(at), endSilenceMs);
      for (const fr of frames) e.push(fr);
      return ended;
    };
    // Speech ends with frame 20: 400 ms (20 windows) later by default, 100 ms (5 windows) with its own.
    expect(ends()).toEqual([40 * 160]);
    expect(ends(100)).toEqual([25 * 160]);
    expect(ends()).toEqual([40 * 160]);
  });
});
