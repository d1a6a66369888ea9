import type { SessionState } from '@aws-sdk/client-lex-runtime-v2';
import type { AudioFormat } from '@app/audio';
import type { LexResult } from '../lex-result';

/** Which bot, alias, locale and session a request is for. */
export interface LexSessionRef {
  botId: string;
  botAliasId: string;
  localeId: string;
  sessionId: string;
}

export interface RecognizeRequest extends LexSessionRef {
  contentType: string;
  body: Uint8Array;
  /** Sent as Lex's session state (gzip + base64 JSON on the wire). */
  sessionState: SessionState;
}

/** Lex's answer, its header fields decoded and its audio already in the call's prompt format. */
export type RecognizeResult = LexResult;

export interface LexRuntimeSettings {
  region: string;
  endpoint?: string;
  /** Format of the prompts the connector plays: Lex's 16 kHz PCM is converted to it once. */
  promptFormat: AudioFormat;
}

/**
 * Lex's runtime API as the connector uses it: one attempt per call, no retries (the connector's policy retries).
 * A signal aborts the attempt; the promise then rejects at once.
 */
export interface LexRuntime {
  recognize(req: RecognizeRequest, signal: AbortSignal): Promise<RecognizeResult>;
  deleteSession(ref: LexSessionRef, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
