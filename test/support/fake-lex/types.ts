import type { BotAliasStatus, BotStatus } from '@aws-sdk/client-lex-models-v2';
import type { Interpretation, Message, SessionState } from '@aws-sdk/client-lex-runtime-v2';

export type { Interpretation, Message, SessionState };

export type LexOp =
  | 'RecognizeUtterance'
  | 'RecognizeText'
  | 'DeleteSession'
  | 'GetSession'
  | 'PutSession'
  | 'ListBots'
  | 'ListBotAliases'
  | 'Unknown';

/**
 * Injectable failures. The first group are AWS errors as the service sends them (status, x-amzn-errortype,
 * JSON message); the rest break the transport: 'reset' resets the HTTP/2 stream, 'disconnect' destroys
 * the connection, 'hang' never answers (until the client gives up or the server stops).
 */
export type FailureKind =
  | 'throttle'
  | 'internal'
  | 'internal-failure'
  | 'bad-gateway'
  | 'dependency-failed'
  | 'conflict'
  | 'validation'
  | 'not-found'
  | 'access-denied'
  | 'reset'
  | 'disconnect'
  | 'hang';

export interface FakeBotAlias {
  botAliasId: string;
  botAliasName: string;
  botAliasStatus?: BotAliasStatus; // default Available
  botVersion?: string; // default '1' ('DRAFT' for TestBotAlias)
  description?: string;
  creationDateTime?: Date;
  lastUpdatedDateTime?: Date;
}

export interface FakeBot {
  botId: string;
  botName: string;
  botStatus?: BotStatus; // default Available
  description?: string;
  latestBotVersion?: string;
  lastUpdatedDateTime?: Date;
  /** Locales the runtime accepts for this bot (default ['en_US']). */
  locales?: string[];
  aliases: FakeBotAlias[];
}

/** One call as the fake received it. Runtime fields are decoded (session state and attributes as JSON). */
export interface RecordedRequest {
  op: LexOp;
  /** The runtime client's default handler speaks h2; the models client's default is HTTP/1.1. */
  protocol: 'h2' | 'http/1.1';
  /** The client connection that carried it (1, 2, ... in order of arrival). */
  connection: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  botId?: string;
  aliasId?: string;
  localeId?: string;
  sessionId?: string;
  /** RecognizeUtterance: the request content type exactly as sent. */
  contentType?: string;
  /** RecognizeUtterance: parsed sample rate of an audio content type (8000 or 16000). */
  sampleRate?: number;
  responseContentType?: string;
  /** RecognizeText, or RecognizeUtterance with text/plain. */
  text?: string;
  /** RecognizeUtterance with an audio content type. */
  audio?: Buffer;
  /** What the fake "heard" from audio (see FakeLexServer.hear). */
  transcript?: string;
  sessionState?: SessionState;
  requestAttributes?: Record<string, string>;
  /** Models operations: the parsed JSON body. */
  body?: Record<string, unknown>;
  /** Epoch ms (sub-ms precision) when the request headers arrived. */
  at: number;
  /** Injected service time applied to this call (ms). */
  serviceMs: number;
  /** Set once answered: HTTP status, or 0 when the transport was broken on purpose / client went away. */
  status?: number;
  /** Error type returned or the injected FailureKind. */
  error?: string;
  respondedAt?: number;
}

/** What the fake should reply to a RecognizeUtterance / RecognizeText turn. */
export interface LexReply {
  /** Plain strings become PlainText messages. */
  messages?: Array<Message | string>;
  /** Also stored as the session's state for the next turn. */
  sessionState?: SessionState;
  interpretations?: Interpretation[];
  /** Defaults to what the fake heard (audio) or the text sent. */
  inputTranscript?: string;
  requestAttributes?: Record<string, string>;
  /**
   * Reply audio for `audio/pcm` (16 kHz 16-bit LE). Default 'tone' when there are messages: a tone whose length
   * follows the message text. 'none' = empty body. Ignored for non-PCM response types (empty body).
   */
  audio?: Buffer | 'tone' | 'none';
}

/** A turn as the scripted handler sees it: the request plus the session state Lex would use. */
export interface LexTurn extends RecordedRequest {
  op: 'RecognizeUtterance' | 'RecognizeText';
  /** The text the bot interprets: sent text, or the transcript of the audio ('' = nothing heard). */
  input: string;
  /** Request sessionState if sent, else the state stored from the previous turn of this session. */
  session: SessionState;
}

/** Return undefined to fall back to the default tiny bot. */
export type TurnHandler = (turn: LexTurn) => LexReply | undefined | Promise<LexReply | undefined>;
