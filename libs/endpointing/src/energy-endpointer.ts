import { SpeechEndpointer, SpeechEndpointerFactory, SpeechEvent, SpeechEventListener } from './speech-endpointer';

export interface EnergyEndpointerOptions {
  /** Windows louder than this (dBFS, RMS) count as speech. */
  thresholdDbfs: number;
  /** Speech must last this long before it counts as started. */
  startDebounceMs: number;
  /** Silence this long ends the utterance. */
  endSilenceMs: number;
}

const WINDOW_MS = 20;

/**
 * RMS energy gate over 20 ms windows with start debounce and end silence. Cheap and good enough
 * for clean lines; the neural detector replaces it behind the same interface. Reports synchronously.
 */
export class EnergyEndpointer implements SpeechEndpointer {
  private readonly windowSize: number;
  private readonly threshold: number; // mean square, compared without a log per window
  private readonly startWindows: number;
  private readonly endWindows: number;
  private acc = 0;
  private filled = 0;
  private samples = 0;
  private run = 0; // consecutive speech windows (before start) or silence windows (after)
  private speaking = false;
  private closed = false;

  constructor(sampleRate: number, opts: EnergyEndpointerOptions, private readonly listener: SpeechEventListener) {
    this.windowSize = Math.round((sampleRate * WINDOW_MS) / 1000);
    const rms = 32768 * Math.pow(10, opts.thresholdDbfs / 20);
    this.threshold = rms * rms;
    this.startWindows = Math.max(1, Math.ceil(opts.startDebounceMs / WINDOW_MS));
    this.endWindows = Math.max(1, Math.ceil(opts.endSilenceMs / WINDOW_MS));
  }

  push(samples: Int16Array): void {
    // Hot path (every caller frame): state in locals, written back once.
    const size = this.windowSize;
    let acc = this.acc;
    let filled = this.filled;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      acc += s * s;
      if (++filled < size) continue;
      this.window(acc / filled > this.threshold, this.samples + i + 1);
      acc = 0;
      filled = 0;
    }
    this.acc = acc;
    this.filled = filled;
    this.samples += samples.length;
  }

  close(): void {
    this.closed = true;
  }

  /** One 20 ms window's verdict, ending at sample `at`. */
  private window(loud: boolean, at: number): void {
    if (!this.speaking) {
      this.run = loud ? this.run + 1 : 0;
      if (this.run < this.startWindows) return;
      this.speaking = true;
      this.run = 0;
      if (!this.closed) this.listener(SpeechEvent.Started, at);
      return;
    }
    this.run = loud ? 0 : this.run + 1;
    if (this.run < this.endWindows) return;
    this.speaking = false;
    this.run = 0;
    if (!this.closed) this.listener(SpeechEvent.Ended, at);
  }
}

export class EnergyEndpointerFactory implements SpeechEndpointerFactory {
  readonly kind = 'energy';
  constructor(private readonly opts: EnergyEndpointerOptions, readonly degraded?: string) {}
  create(sampleRate: number, listener: SpeechEventListener, endSilenceMs?: number): SpeechEndpointer {
    const opts = endSilenceMs === undefined ? this.opts : { ...this.opts, endSilenceMs };
    return new EnergyEndpointer(sampleRate, opts, listener);
  }
}
