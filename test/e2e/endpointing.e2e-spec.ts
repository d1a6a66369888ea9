import { SPEECH_ENDPOINTER_FACTORY, type SpeechEndpointerFactory } from '@app/endpointing';
import type { TurnResult } from '@app/simulator';
import { type CorpusFile, loadCorpus } from '../corpus/corpus';
import { type Decision, END_SILENCE_MS, scoreFile, toDecision, TOLERANCE_MS, type VadEngine, vadConfig } from '../corpus/score';
import { eventually, startTestGateway } from './harness';

// Every corpus file streamed by the caller simulator through the real gateway, paced like WxCC and all at once.
// Decisions are read where the gateway takes them: the endpointer factory the engine uses is wrapped, so each
// START/END carries its exact audio position (atSample), free of timer jitter. Tolerances: see TOLERANCE_MS.

const corpus = loadCorpus();
const ENGINES: VadEngine[] = ['energy', 'silero'];

// The energy detector is a level gate (-40 dBFS): line noise louder than that is speech to it. On these files it
// starts on the noise and hears no end while the noise lasts. Pinned as is, so any change, better or worse, shows.
const ENERGY_STARTS_ON_NOISE = new Set([
  'n02-white35-16k-linear16.wav',
  'n03-brown30-hum-8k-alaw.wav',
  'n04-pink35-hum-16k-alaw.wav',
  'sn02-white35-16k-linear16.wav',
  'sn03-brown30-pause-8k-alaw.wav',
]);
/** Noise is there from the first sample: the gate opens after its debounce (96 ms) plus a window or three. */
const NOISE_START_MS = 200;
/** The energy gate decides on 20 ms windows; the caller pads the file's last frame with silence. */
const WINDOW_MS = 20;

/**
 * Time the gateway may take to tell the caller, beyond the decision's audio position (inference, scheduling). The
 * positions themselves are checked exactly (scoreFile); this only shows a signal relayed as it is decided rather
 * than held back (to the END_OF_INPUT, 1.5 s and more later). Generous: every file streams at once, and with the
 * neural model on a busy two-core machine the inference backlog alone reached 700 ms.
 */
const SIGNAL_LATENCY_MS = 1000;

interface Run {
  decisions: Decision[];
  turn: TurnResult;
}

function title(f: CorpusFile, startsOnNoise: boolean): string {
  if (startsOnNoise) return `${f.file}: starts on the noise at once${f.speech ? ', ends only once the noise stops' : ' and never ends'}`;
  if (f.speech === null) return `${f.file}: ${f.kind} never starts input`;
  const pauses = f.pauses.map((p) => `${Math.round(p.end_ms - p.start_ms)} ms`).join(', ');
  return `${f.file}: START_OF_INPUT and END_OF_INPUT on the labels${pauses ? `, the ${pauses} pause does not end the utterance` : ''}`;
}

describe.each(ENGINES)('endpointing through the gateway: %s', (engine) => {
  const runs = new Map<string, Run>();
  let kind = '';
  let degraded: string | undefined;

  beforeAll(async () => {
    const t = await startTestGateway({ voice_activity_detection: vadConfig(engine) });
    const factory = t.gw.app.get<SpeechEndpointerFactory>(SPEECH_ENDPOINTER_FACTORY);
    ({ kind, degraded } = factory);
    if (kind !== engine) return t.stop(); // fell back (e.g. the model did not load): nothing of this engine to test
    // One record per endpointer, in creation order (each audio RPC makes one on its first frame).
    const created: Decision[][] = [];
    const create = factory.create.bind(factory);
    factory.create = (rate, listener) => {
      const decisions: Decision[] = [];
      created.push(decisions);
      return create(rate, (ev, at) => {
        decisions.push(toDecision(ev, at));
        listener(ev, at);
      });
    };
    try {
      const callers = corpus.map(() => t.caller());
      await Promise.all(callers.map((c) => c.startSession()));
      const turns: Array<Promise<TurnResult>> = [];
      for (const [i, f] of corpus.entries()) {
        turns.push(
          callers[i].sendAudio(
            { data: f.data, format: { encoding: f.encoding, sampleRate: f.sample_rate } },
            // After speech, digital silence past the file's own tail shows a late end as late, not missing.
            { pace: true, trailingSilenceMs: f.speech ? 1500 : 0 },
          ),
        );
        // Started one after another so the i-th endpointer is the i-th file's; then they all run together.
        await eventually(() => created.length === i + 1, 5000);
      }
      const results = await Promise.all(turns);
      corpus.forEach((f, i) => runs.set(f.file, { decisions: created[i], turn: results[i] }));
    } finally {
      await t.stop();
    }
  }, 60_000);

  it(`runs the ${engine} detector`, () => {
    expect({ kind, degraded }).toEqual({ kind: engine, degraded: undefined });
  });

  for (const f of corpus) {
    const startsOnNoise = engine === 'energy' && ENERGY_STARTS_ON_NOISE.has(f.file);
    it(title(f, startsOnNoise), () => {
      if (kind !== engine) throw new Error(`the gateway runs the ${kind} detector, not ${engine}: ${degraded ?? 'no reason given'}`);
      const r = runs.get(f.file)!;
      expect(r.turn.violations).toEqual([]);
      expect(r.turn.status.code).toBe(0);
      if (startsOnNoise) return expectStartOnNoise(f, r);
      expect(scoreFile(f, r.decisions).problems).toEqual([]);
      if (f.speech === null) {
        expect(r.turn.startOfInputAtMs).toBeUndefined();
        return;
      }
      // What the caller saw, in wall-clock time (paced: audio position ~ time since the first frame).
      expect(r.turn.startOfInputAtMs).toBeGreaterThanOrEqual(f.speech.start_ms - TOLERANCE_MS.startEarly);
      expect(r.turn.startOfInputAtMs).toBeLessThanOrEqual(f.speech.start_ms + TOLERANCE_MS.startLate + SIGNAL_LATENCY_MS);
      expect(r.turn.endOfInputAtMs).toBeDefined();
    });
  }
});

/** What the energy detector does on a file with line noise above its threshold (see ENERGY_STARTS_ON_NOISE). */
function expectStartOnNoise(f: CorpusFile, r: Run): void {
  const score = scoreFile(f, r.decisions);
  expect(score.falseStart).toBe(true);
  expect(score.startMs).toBeLessThanOrEqual(NOISE_START_MS);
  expect(r.turn.startOfInputAtMs).toBeLessThanOrEqual(score.startMs! + SIGNAL_LATENCY_MS);
  if (f.speech === null) {
    // One start, no end: END_OF_INPUT never came while the caller streamed, so it sent the whole file.
    expect(r.decisions.map((d) => d.event)).toEqual(['start']);
    expect(score.problems).toEqual([`false start at ${score.startMs} ms (no speech in the file)`]);
    expect(r.turn.framesSent).toBe(Math.ceil(f.duration_ms / WINDOW_MS)); // the caller's frames are 20 ms too
    expect(r.turn.timeline.map((e) => e.kind)).toContain('sent-all');
    return;
  }
  // Long before the speech; then no end until the noise stops with the file: the end silence after its last
  // sample, in the caller's trailing digital silence. Not split at the pause.
  expect(r.decisions.map((d) => d.event)).toEqual(['start', 'end']);
  expect(score.startMs).toBeLessThan(f.speech.start_ms - TOLERANCE_MS.startEarly);
  expect(score.split).toBe(false);
  expect(Math.abs(score.endMs! - (f.duration_ms + END_SILENCE_MS))).toBeLessThanOrEqual(2 * WINDOW_MS);
  expect(score.problems).toEqual([expect.stringMatching(/ms before the speech/), expect.stringMatching(/ms after speech end/)]);
  // Paced: the frame carrying a sample goes out up to a frame before that sample's audio position.
  expect(r.turn.endOfInputAtMs).toBeGreaterThanOrEqual(score.endMs! - 2 * WINDOW_MS);
  expect(r.turn.endOfInputAtMs).toBeLessThanOrEqual(score.endMs! + SIGNAL_LATENCY_MS);
}
