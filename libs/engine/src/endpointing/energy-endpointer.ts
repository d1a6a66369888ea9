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
    let event = SpeechEvent.None;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      this.acc += s * s;
      if (++this.filled < this.windowSize) continue;
      const loud = this.acc / this.filled > this.threshold;
      this.acc = 0;
      this.filled = 0;
      if (event !== SpeechEvent.None) continue; // one event per push; state resumes next push
      if (!this.speaking) {
        this.run = loud ? this.run + 1 : 0;
        if (this.run >= this.startWindows) {
          this.speaking = true;
          this.run = 0;
          event = SpeechEvent.Started;
        }
      } else {
        this.run = loud ? 0 : this.run + 1;
        if (this.run >= this.endWindows) {
          this.speaking = false;
          this.run = 0;
          event = SpeechEvent.Ended;
        }
      }
    }
    return event;
  }
}

export class EnergyEndpointerFactory implements SpeechEndpointerFactory {
  constructor(private readonly opts: EnergyEndpointerOptions) {}
  create(sampleRate: number): SpeechEndpointer {
    return new EnergyEndpointer(sampleRate, this.opts);
  }
}
