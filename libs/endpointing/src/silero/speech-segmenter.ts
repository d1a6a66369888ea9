import { SpeechEvent, type SpeechEventListener } from '../speech-endpointer';

export interface SegmenterOptions {
  /** Consecutive speech this long starts an utterance. */
  startDebounceMs: number;
  /** Silence this long after speech ends it (or opens the grace). */
  endSilenceMs: number;
  /** After the end silence, speech resuming within this long continues the same utterance. 0: no grace. */
  speechEndGraceMs: number;
  /** Most pauses merged into one utterance by the grace. */
  maxPauseMerges: number;
}

const IDLE = 0;
const SPEAKING = 1;
const GRACE = 2;

/**
 * Turns per-window speech verdicts into utterance boundaries, with the Python gateway's meaning:
 * starts after `startDebounceMs` of consecutive speech, ends after `endSilenceMs` of accumulated
 * silence; then, with a grace, waits for speech (debounced again) to resume before reporting the end,
 * which is reported at the sample where the end silence was reached.
 */
export class SpeechSegmenter {
  private readonly startWindows: number;
  private readonly endWindows: number;
  private readonly graceWindows: number;
  private state = IDLE;
  private speechRun = 0;
  private silenceRun = 0;
  private graceRun = 0;
  private merges = 0;
  private endAt = 0;

  constructor(windowMs: number, private readonly opts: SegmenterOptions, private readonly listener: SpeechEventListener) {
    this.startWindows = Math.max(1, Math.ceil(opts.startDebounceMs / windowMs));
    this.endWindows = Math.max(1, Math.ceil(opts.endSilenceMs / windowMs));
    this.graceWindows = Math.ceil(opts.speechEndGraceMs / windowMs);
  }

  /** One window's verdict; `at` is the sample just after it. */
  window(speech: boolean, at: number): void {
    switch (this.state) {
      case IDLE:
        this.speechRun = speech ? this.speechRun + 1 : 0;
        if (this.speechRun < this.startWindows) return;
        this.state = SPEAKING;
        this.speechRun = 0;
        this.silenceRun = 0;
        this.merges = 0;
        this.listener(SpeechEvent.Started, at);
        return;
      case SPEAKING:
        this.silenceRun = speech ? 0 : this.silenceRun + 1;
        if (this.silenceRun < this.endWindows) return;
        this.silenceRun = 0;
        if (this.graceWindows > 0 && this.merges < this.opts.maxPauseMerges) {
          this.state = GRACE;
          this.endAt = at;
          this.graceRun = 0;
          this.speechRun = 0;
          return;
        }
        this.state = IDLE;
        this.listener(SpeechEvent.Ended, at);
        return;
      case GRACE:
        this.graceRun++;
        this.speechRun = speech ? this.speechRun + 1 : 0;
        if (this.speechRun >= this.startWindows) {
          // The caller only paused: same utterance, no events.
          this.state = SPEAKING;
          this.speechRun = 0;
          this.merges++;
          return;
        }
        if (this.graceRun < this.graceWindows) return;
        // Speech that began in the grace but is not yet debounced keeps counting toward the next start.
        this.state = IDLE;
        this.listener(SpeechEvent.Ended, this.endAt);
        return;
    }
  }
}
