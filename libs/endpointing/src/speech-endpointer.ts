/** What an endpointer decided about the caller's audio. */
export const enum SpeechEvent {
  Started = 1,
  Ended = 2,
}

/** Receives an endpointer's decisions; `atSample` is the position (samples since the RPC's first frame) it refers to. */
export type SpeechEventListener = (event: SpeechEvent, atSample: number) => void;

/**
 * Decides where caller speech starts and ends, for one RPC's audio. Decisions go to the listener given at
 * creation, during push() (energy) or a little later (neural inference off the event loop); none after close().
 */
export interface SpeechEndpointer {
  /** 16-bit PCM at the rate the endpointer was made for; any length. The array may be reused by the caller after the call. */
  push(samples: Int16Array): void;
  /** The RPC is over: drop state, report nothing more. */
  close(): void;
  /** For endpointers that decide later: resolves once all audio pushed so far is decided (and reported). */
  flush?(): Promise<void>;
}

export interface InferenceStats {
  readonly runs: number;
  readonly windows: number;
  /** Largest batch so far. */
  readonly maxBatch: number;
  readonly failures: number;
}

export interface SpeechEndpointerFactory {
  /** `energy`, `silero`, ...: what health and logs report. */
  readonly kind: string;
  /** Why a preferred detector is not in use (e.g. the model failed to load), for health and logs. */
  readonly degraded?: string;
  /** Neural detectors: inference runs and windows scored so far (windows / runs is the mean batch size), for metrics. */
  readonly inference?: InferenceStats;
  /** `endSilenceMs`: this stream's end silence (an agent's per-answer setting); unset: the configured one. */
  create(sampleRate: number, listener: SpeechEventListener, endSilenceMs?: number): SpeechEndpointer;
  /** Shutdown: stop background work (after it, windows may be judged more simply) and resolve once none runs. */
  shutdown?(): Promise<void>;
}

export const SPEECH_ENDPOINTER_FACTORY = Symbol.for('byova.speech-endpointer-factory');
