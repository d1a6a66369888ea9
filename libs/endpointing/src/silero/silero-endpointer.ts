import type { InferenceStats, SpeechEndpointer, SpeechEndpointerFactory, SpeechEventListener } from '../speech-endpointer';
import { BatchScorer, type ScoreClient, type ScorerHooks, type WindowScorer } from './batch-scorer';
import { SpeechSegmenter, type SegmenterOptions } from './speech-segmenter';
import { loadSileroModel, SILERO_GEOMETRY, STATE_SIZE } from './silero-model';

export interface SileroEndpointerOptions extends SegmenterOptions {
  /** A window is speech when the model's probability is at least this. */
  threshold: number;
  /** Windows quieter than this (RMS dBFS) are silence without asking the model. */
  silenceGateDbfs: number;
  /** Windows are judged by this level instead while inference fails. */
  energyThresholdDbfs: number;
  /** How long a window may wait for other calls' windows to share its inference run (see BatchScorer). */
  batchWaitMs?: number;
}

/**
 * Silent windows right after audio still go through the model (their verdict stays silence), so its
 * recurrent state follows the audio into the pause as it would without the gate. Past this many, inference
 * stops and the state is reset to the model's initial one: what a stream starting in silence has.
 */
export const GATED_WINDOWS_SCORED = 8; // 256 ms
const POOL_MAX = 4;

interface Window {
  input: Float32Array;
  /** Sample just after the window. */
  end: number;
  /** Exact below the gate and energy thresholds; above both, only known to be above them. */
  meanSquare: number;
}

function meanSquareOf(dbfs: number): number {
  const rms = 32768 * Math.pow(10, dbfs / 20);
  return rms * rms;
}

/**
 * Silero VAD v5 over 32 ms windows (256 samples at 8 kHz, 512 at 16 kHz, each with the previous window's tail
 * as context). Windows wait in order for the shared batch scorer; decisions reach the listener when their
 * window is scored, so a little after push(). Windows below the silence gate are decided without the model
 * (synchronously when nothing is waiting ahead of them).
 */
export class SileroEndpointer implements SpeechEndpointer, ScoreClient {
  readonly state = new Float32Array(STATE_SIZE);
  closed = false;
  private readonly size: number;
  private readonly context: number;
  private readonly gate: number;
  private readonly energy: number;
  /** A window's sum of squares past which its level is above the gate and the energy threshold alike. */
  private readonly loudSum: number;
  private readonly segmenter: SpeechSegmenter;
  private readonly queue: Window[] = [];
  private readonly pool: Float32Array[] = [];
  private cur: Float32Array;
  private filled = 0;
  private acc = 0;
  private samples = 0;
  private inFlight = false;
  private flushWaiters: Array<() => void> = [];
  private headGated = false;
  // A stream starts as if after a long silence: fresh state, no inference until there is sound.
  private gatedRun = GATED_WINDOWS_SCORED;

  constructor(
    readonly sampleRate: number,
    private readonly opts: SileroEndpointerOptions,
    private readonly scorer: WindowScorer,
    listener: SpeechEventListener,
  ) {
    const g = SILERO_GEOMETRY[sampleRate];
    if (!g) throw new Error(`Silero VAD supports 8000 and 16000 Hz, not ${sampleRate}`);
    this.size = g.window;
    this.context = g.context;
    this.cur = new Float32Array(g.context + g.window);
    this.gate = meanSquareOf(opts.silenceGateDbfs);
    this.energy = meanSquareOf(opts.energyThresholdDbfs);
    this.loudSum = Math.max(this.gate, this.energy) * g.window;
    // Decisions are only made while open (close() empties the queue, scored() checks), so no guard here.
    this.segmenter = new SpeechSegmenter((g.window * 1000) / sampleRate, opts, listener);
  }

  /** The window being scored (for the scorer). */
  get input(): Float32Array {
    return this.queue[0].input;
  }

  /** Windows cut but not yet decided. */
  get backlog(): number {
    return this.queue.length;
  }

  push(samples: Int16Array): void {
    if (this.closed) return;
    const size = this.size;
    const base = this.context;
    const len = samples.length;
    const loud = this.loudSum;
    let cur = this.cur;
    let filled = this.filled;
    let acc = this.acc;
    let i = 0;
    while (i < len) {
      const take = Math.min(len - i, size - filled);
      // Native int16 -> float32 copy (the model scales to [-1, 1) itself); the level in a plain loop, only until
      // it passes both thresholds it is compared with (a speech window gets there within a few samples);
      // four samples a step (about a third faster in V8).
      cur.set(take === len ? samples : samples.subarray(i, i + take), base + filled);
      const end = i + take;
      let j = i;
      for (; j + 3 < end && acc < loud; j += 4) {
        const a = samples[j];
        const b = samples[j + 1];
        const c = samples[j + 2];
        const d = samples[j + 3];
        acc += a * a + b * b + c * c + d * d;
      }
      for (; j < end && acc < loud; j++) acc += samples[j] * samples[j];
      i += take;
      filled += take;
      if (filled < size) break;
      const meanSquare = acc / size;
      filled = 0;
      acc = 0;
      if (meanSquare < this.gate && this.gatedRun > GATED_WINDOWS_SCORED && !this.inFlight && this.queue.length === 0) {
        // A silent line, nothing waiting: decided here, no queue entry, same buffer (its tail becomes the context).
        this.segmenter.window(false, this.samples + i);
        cur.copyWithin(0, size);
        continue;
      }
      this.queue.push({ input: cur, end: this.samples + i, meanSquare });
      const next = this.pool.pop() ?? new Float32Array(base + size);
      next.set(cur.subarray(size)); // this window's tail is the next one's context
      cur = next;
    }
    this.cur = cur;
    this.filled = filled;
    this.acc = acc;
    this.samples += len;
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.pool.length = 0;
    this.settleFlush();
  }

  flush(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  private settleFlush(): void {
    if (this.flushWaiters.length > 0) for (const w of this.flushWaiters.splice(0)) w();
  }

  scored(prob: number): void {
    this.inFlight = false;
    if (this.closed) return;
    const w = this.queue[0];
    // NaN: inference failed; the energy verdict keeps the call going.
    const speech = prob !== prob ? w.meanSquare >= this.energy : !this.headGated && prob >= this.opts.threshold;
    this.decide(speech);
    this.pump();
  }

  /** Decides queued windows in order until one needs the model. */
  private pump(): void {
    while (!this.inFlight && this.queue.length > 0) { // close() empties the queue
      const gated = this.queue[0].meanSquare < this.gate;
      this.gatedRun = gated ? this.gatedRun + 1 : 0;
      if (gated && this.gatedRun > GATED_WINDOWS_SCORED) {
        if (this.gatedRun === GATED_WINDOWS_SCORED + 1) this.state.fill(0);
        this.decide(false);
        continue;
      }
      this.headGated = gated;
      this.inFlight = true;
      this.scorer.submit(this, this.queue.length > 1);
    }
    if (this.queue.length === 0) this.settleFlush();
  }

  private decide(speech: boolean): void {
    const w = this.queue.shift()!;
    if (this.pool.length < POOL_MAX) this.pool.push(w.input);
    this.segmenter.window(speech, w.end);
  }
}

export class SileroEndpointerFactory implements SpeechEndpointerFactory {
  readonly kind = 'silero';

  constructor(
    readonly scorer: WindowScorer,
    private readonly opts: SileroEndpointerOptions,
    /** Why the model file's own graph runs instead of the batched one (slower, same results); undefined when batched. */
    readonly unbatched?: string,
  ) {}

  /** Loads the model (once per process and path); throws when it cannot be used. */
  static async load(modelPath: string, opts: SileroEndpointerOptions, hooks?: ScorerHooks): Promise<SileroEndpointerFactory> {
    const model = await loadSileroModel(modelPath);
    return new SileroEndpointerFactory(new BatchScorer(model, hooks, { waitMs: opts.batchWaitMs }), opts, model.unbatched);
  }

  /** Shutdown: no more inference (windows still arriving are judged by energy); resolves once no run is in flight. */
  async shutdown(): Promise<void> {
    await this.scorer.stop?.();
  }

  get inference(): InferenceStats | undefined {
    return this.scorer.stats;
  }

  get degraded(): string | undefined {
    const f = this.scorer.failure;
    return f === undefined ? undefined : `Silero inference failing, windows judged by energy: ${f}`;
  }

  create(sampleRate: number, listener: SpeechEventListener, endSilenceMs?: number): SileroEndpointer {
    const opts = endSilenceMs === undefined ? this.opts : { ...this.opts, endSilenceMs };
    return new SileroEndpointer(sampleRate, opts, this.scorer, listener);
  }
}
