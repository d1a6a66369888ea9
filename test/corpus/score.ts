// Scoring of endpointer decisions against the corpus labels, shared by the e2e test and bench/vad.ts.
import { SpeechEvent, type SpeechEndpointerFactory } from '@app/endpointing';
import type { CorpusFile, CorpusLabel } from './corpus';

/**
 * Where a correct detector's decisions must land, relative to the labels (ms of audio position):
 * - start in [speech start - startEarly, speech start + startLate]. Late: a detector needs some speech before it
 *   may decide (the energy gate's 96 ms debounce plus a window: 100-120 ms here); 300 ms is the most a caller
 *   should wait. Early: window-based detectors may refer to the window where speech began, which can begin a
 *   little before the first sample above the label threshold. Anything earlier is a false start on the lead-in.
 * - end in [speech end + end_silence - endEarly, speech end + end_silence + endLate]. Early: the last 100-200 ms
 *   of a clip can be a soft fricative or decay that a detector fairly calls silence (the energy gate ends s04,
 *   "...address", 115 ms early). Later than +400 ms the caller waits noticeably longer than configured.
 *   A detector that splits at an in-sentence pause (300-600 ms) ends at least ~1 s too early, and one with a
 *   wrong end silence (e.g. 600 for 1000) at least 400 ms too early: both are outside.
 * - files without speech: no start at all.
 */
export const TOLERANCE_MS = { startEarly: 100, startLate: 300, endEarly: 200, endLate: 400 } as const;

/** The gateway's default, and what the corpus tails are sized for (1800 ms of audio after each utterance). */
export const END_SILENCE_MS = 1000;

export interface Decision {
  event: 'start' | 'end';
  atSample: number;
}

export interface FileScore {
  file: string;
  kind: CorpusLabel['kind'];
  startMs?: number;
  endMs?: number;
  /** Detected minus labelled speech start. */
  startErrMs?: number;
  /** Detected end minus (labelled speech end + end silence). */
  endErrMs?: number;
  /** A start on a file without speech, or before the speech. */
  falseStart: boolean;
  /** The utterance ended inside one of its pauses. */
  split: boolean;
  problems: string[];
  ok: boolean;
}

const ms = (samples: number, rate: number) => Math.round((samples * 10000) / rate) / 10;

export function scoreFile(label: CorpusLabel, decisions: Decision[], endSilenceMs = END_SILENCE_MS): FileScore {
  const rate = label.sample_rate;
  const starts = decisions.filter((d) => d.event === 'start');
  const ends = decisions.filter((d) => d.event === 'end');
  const startMs = starts.length ? ms(starts[0].atSample, rate) : undefined;
  const endMs = ends.length ? ms(ends[0].atSample, rate) : undefined;
  const s: FileScore = { file: label.file, kind: label.kind, startMs, endMs, falseStart: false, split: false, problems: [], ok: false };
  const sp = label.speech;
  if (sp === null) {
    if (startMs !== undefined) {
      s.falseStart = true;
      s.problems.push(`false start at ${startMs} ms (no speech in the file)`);
    }
    s.ok = s.problems.length === 0;
    return s;
  }
  if (startMs === undefined) s.problems.push('speech never started');
  else {
    s.startErrMs = Math.round(startMs - sp.start_ms);
    if (s.startErrMs < -TOLERANCE_MS.startEarly) {
      s.falseStart = true;
      s.problems.push(`started at ${startMs} ms, ${-s.startErrMs} ms before the speech (> ${TOLERANCE_MS.startEarly})`);
    } else if (s.startErrMs > TOLERANCE_MS.startLate) {
      s.problems.push(`started at ${startMs} ms, ${s.startErrMs} ms after the speech began (> ${TOLERANCE_MS.startLate})`);
    }
  }
  if (endMs === undefined) {
    if (startMs !== undefined) s.problems.push('speech never ended');
  } else {
    s.endErrMs = Math.round(endMs - (sp.end_ms + endSilenceMs));
    if (endMs < sp.end_ms) {
      // Ended while the caller was still talking: after a pause, the pause split the utterance.
      const pause = [...label.pauses].reverse().find((p) => endMs > p.start_ms);
      s.split = true;
      s.problems.push(`ended at ${endMs} ms, inside the utterance${pause ? ` (split at the ${Math.round(pause.end_ms - pause.start_ms)} ms pause)` : ''}`);
    } else if (s.endErrMs < -TOLERANCE_MS.endEarly) {
      s.problems.push(`ended at ${endMs} ms, ${-s.endErrMs} ms before speech end + ${endSilenceMs} ms (> ${TOLERANCE_MS.endEarly})`);
    } else if (s.endErrMs > TOLERANCE_MS.endLate) {
      s.problems.push(`ended at ${endMs} ms, ${s.endErrMs} ms after speech end + ${endSilenceMs} ms (> ${TOLERANCE_MS.endLate})`);
    }
  }
  if (starts.length > 1) s.problems.push(`${starts.length} starts`);
  if (ends.length > 1) s.problems.push(`${ends.length} ends`);
  if (decisions.length && decisions[0].event !== 'start') s.problems.push('ended before it started');
  s.ok = s.problems.length === 0;
  return s;
}

export const toDecision = (event: SpeechEvent, atSample: number): Decision => ({ event: event === SpeechEvent.Started ? 'start' : 'end', atSample });

export interface DetectOptions {
  /** Frame size fed to push(), as the gateway receives WxCC frames. Default 20. */
  frameMs?: number;
  /** Digital silence fed after each file. Default 1000. */
  trailingMs?: number;
  /** Feed in real time (one timer for all files), as the gateway sees audio. Default false: as fast as the event loop allows. */
  pace?: boolean;
  /** Wait after the last frame for decisions still being computed (asynchronous detectors). Default 500. */
  settleMs?: number;
}

/** Runs every file through its own endpointer of `factory`, all at once (so batching detectors batch), frame by frame. */
export async function detectCorpus(factory: SpeechEndpointerFactory, files: CorpusFile[], opts: DetectOptions = {}): Promise<Decision[][]> {
  const frameMs = opts.frameMs ?? 20;
  const trailingMs = opts.trailingMs ?? 1000;
  const decisions = files.map(() => [] as Decision[]);
  const streams = files.map((f, i) => {
    const frame = Math.round((f.sample_rate * frameMs) / 1000);
    const pcm = new Int16Array(f.pcm.length + Math.round((f.sample_rate * trailingMs) / 1000));
    pcm.set(f.pcm);
    const ep = factory.create(f.sample_rate, (ev, at) => decisions[i].push(toDecision(ev, at)));
    return { ep, pcm, frame };
  });
  const frames = Math.max(...streams.map((s) => Math.ceil(s.pcm.length / s.frame)));
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    for (const s of streams) if (i * s.frame < s.pcm.length) s.ep.push(s.pcm.subarray(i * s.frame, (i + 1) * s.frame));
    const wait = opts.pace ? t0 + (i + 1) * frameMs - performance.now() : 0;
    await new Promise((r) => (wait > 0 ? setTimeout(r, wait) : setImmediate(r)));
  }
  await new Promise((r) => setTimeout(r, opts.settleMs ?? 500));
  for (const s of streams) s.ep.close();
  return decisions;
}

export type VadEngine = 'energy' | 'silero';

/** The VAD config section selecting `engine`, with the corpus' end silence. */
export function vadConfig(engine: VadEngine, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { end_silence_ms: END_SILENCE_MS, engine, ...extra };
}
