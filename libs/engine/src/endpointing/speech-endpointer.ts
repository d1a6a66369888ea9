/** What an endpointer saw in the samples just pushed. */
export const enum SpeechEvent {
  None = 0,
  Started = 1,
  Ended = 2,
}

/** Decides where caller speech starts and ends, one RPC's audio at a time. */
export interface SpeechEndpointer {
  /** 16-bit PCM at the rate the endpointer was made for; any length. At most one event per push. */
  push(samples: Int16Array): SpeechEvent;
  readonly speaking: boolean;
}

export interface SpeechEndpointerFactory {
  create(sampleRate: number): SpeechEndpointer;
}

export const SPEECH_ENDPOINTER_FACTORY = Symbol.for('byova.speech-endpointer-factory');
