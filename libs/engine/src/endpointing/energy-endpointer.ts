import { SpeechEndpointer, SpeechEndpointerFactory, SpeechEvent } from './speech-endpointer';

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
 * for clean lines; the neural detector replaces it behind the same interface.
 */
export class EnergyEndpointer implements SpeechEndpointer {
  private readonly windowSize: number;
  private readonly threshold: number; // mean square, compared without a log per window
  private readonly startWindows: number;
  private readonly endWindows: number;
  private acc = 0;
  private filled = 0;
  private run = 0; // consecutive speech windows (before start) or silence windows (after)
  speaking = false;

  constructor(sampleRate: number, opts: EnergyEndpointerOptions) {
    this.windowSize = Math.round((sampleRate * WINDOW_MS) / 1000);
    const rms = 32768 * Math.pow(10, opts.thresholdDbfs / 20);
    this.threshold = rms * rms;
    this.startWindows = Math.max(1, Math.ceil(opts.startDebounceMs / WINDOW_MS));
    this.endWindows = Math.max(1, Math.ceil(opts.endSilenceMs / WINDOW_MS));
  }

  push(samples: Int16Array): SpeechEvent {
    // Hot path (every caller frame): state in locals, written back once.
    const size = this.windowSize;
    let acc = this.acc;
    let filled = this.filled;
    let event = SpeechEvent.None;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      acc += s * s;
      if (++filled < size) continue;
      if (event === SpeechEvent.None) event = this.window(acc / filled > this.threshold);
      acc = 0;
      filled = 0;
    }
    this.acc = acc;
    this.filled = filled;
    return event;
  }

  /** One 20 ms window's verdict. At most one event per push: later windows of the same push are not judged. */
  private window(loud: boolean): SpeechEvent {
    if (!this.speaking) {
      this.run = loud ? this.run + 1 : 0;
      if (this.run < this.startWindows) return SpeechEvent.None;
      this.speaking = true;
      this.run = 0;
      return SpeechEvent.Started;
    }
    this.run = loud ? 0 : this.run + 1;
    if (this.run < this.endWindows) return SpeechEvent.None;
    this.speaking = false;
    this.run = 0;
    return SpeechEvent.Ended;
  }
}

export class EnergyEndpointerFactory implements SpeechEndpointerFactory {
  constructor(private readonly opts: EnergyEndpointerOptions) {}
  create(sampleRate: number): SpeechEndpointer {
    return new EnergyEndpointer(sampleRate, this.opts);
  }
}
