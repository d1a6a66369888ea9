import { EnergyEndpointer } from './energy-endpointer';
import { SpeechEvent } from './speech-endpointer';

const frame = (amp: number, n = 160) => Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin(i / 3)));

function run(e: EnergyEndpointer, frames: Int16Array[]) {
  return frames.map((f) => e.push(f)).map((ev, i) => [i, ev] as const).filter(([, ev]) => ev !== SpeechEvent.None);
}

describe('EnergyEndpointer', () => {
  const opts = { thresholdDbfs: -40, startDebounceMs: 96, endSilenceMs: 400 };

  it('starts after the debounce of loud frames and ends after the end silence', () => {
    const e = new EnergyEndpointer(8000, opts);
    const frames = [...Array(10).fill(frame(0)), ...Array(20).fill(frame(8000)), ...Array(30).fill(frame(0))];
    // 96 ms = 5 windows of 20 ms; 400 ms = 20 windows
    expect(run(e, frames)).toEqual([[14, SpeechEvent.Started], [49, SpeechEvent.Ended]]);
  });

  it('does not start on short clicks or quiet noise', () => {
    const e = new EnergyEndpointer(8000, opts);
    const frames = [frame(20000), frame(0), frame(20000), frame(0), ...Array(50).fill(frame(50))];
    expect(run(e, frames)).toEqual([]);
  });

  it('keeps a speaker with short pauses in one utterance', () => {
    const e = new EnergyEndpointer(16000, opts);
    const f = (a: number) => frame(a, 320);
    const frames = [...Array(10).fill(f(8000)), ...Array(10).fill(f(0)), ...Array(10).fill(f(8000)), ...Array(25).fill(f(0))];
    expect(run(e, frames).map(([, ev]) => ev)).toEqual([SpeechEvent.Started, SpeechEvent.Ended]);
  });

  it('handles frames that do not align with its windows', () => {
    const e = new EnergyEndpointer(8000, opts);
    const loud = frame(8000, 1600); // 200 ms in odd slices
    let started = false;
    for (let off = 0; off < loud.length; off += 37) started ||= e.push(loud.subarray(off, off + 37)) === SpeechEvent.Started;
    expect(started).toBe(true);
  });
});
