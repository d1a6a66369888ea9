// Public types for connector plugins written in TypeScript: `import type { ... } from 'byova-gateway/connector-sdk'`.
// Self-contained (no path aliases, nothing at run time); src/plugin-api.spec.ts checks it stays in step with
// the gateway's own contract (src/connector.types.ts, src/agent-session.ts).

export type AudioEncoding = 'mulaw' | 'alaw' | 'linear16';
/** Always mono. */
export interface AudioFormat {
  encoding: AudioEncoding;
  sampleRate: number;
}

/** The gateway's logger (pino): `logger.info({ key: value }, 'message')`. */
export interface PluginLogFn {
  (msg: string): void;
  (obj: object, msg?: string): void;
}
export interface PluginLogger {
  debug: PluginLogFn;
  info: PluginLogFn;
  warn: PluginLogFn;
  error: PluginLogFn;
  child(bindings: Record<string, unknown>): PluginLogger;
}

/** One agent a connector offers; `id` is the routing id WxCC sends back. */
export interface AgentDescriptor {
  id: string;
  name?: string;
  attributes?: Record<string, string>;
}

/** What the agent wants collected next; unset fields fall back to the agent's configured defaults. */
export interface NextInput {
  mode?: 'voice' | 'dtmf' | 'voice_dtmf';
  dtmf?: { length?: number; interDigitTimeoutMs?: number; terminator?: string };
  speech?: {
    completeTimeoutMs?: number;
    incompleteTimeoutMs?: number;
    maxSpeechMs?: number;
    noInputTimeoutMs?: number;
    /** Silence that ends the caller's utterance in the gateway's endpointer, for this answer only. Not sent to WxCC. */
    endSilenceMs?: number;
  };
  bargeIn?: boolean;
  /** Do not record the next input (PCI). */
  sensitive?: boolean;
}

export interface PromptAudio {
  format: AudioFormat;
  /** Raw samples in `format`, no header. */
  data: Uint8Array;
  /** The same audio as a complete WAV file, when the connector already has it. */
  wav?: Uint8Array;
}

export interface AgentPrompt {
  text?: string;
  audio?: PromptAudio;
  bargeIn?: boolean;
}

export type StructValue = Record<string, unknown>;

/** The agent's answer to one turn. */
export interface AgentReply {
  prompts: AgentPrompt[];
  /** Ends the call: hang up, or hand over to a human agent. */
  end?: { kind: 'session_end' | 'transfer'; name?: string; metadata?: StructValue };
  /** A non-terminal CUSTOM_EVENT for the flow. */
  event?: { name: string; metadata?: StructValue };
  next?: NextInput;
  transcript?: string;
  summary?: string;
}

export type CallerInput =
  /** One utterance, 16-bit PCM, ended by the gateway's endpointer. */
  | { kind: 'speech'; audio: Int16Array; sampleRate: number; durationMs: number; languageCode: string }
  | { kind: 'dtmf'; digits: string }
  | { kind: 'no_input' }
  | { kind: 'event'; name: string; parameters?: StructValue };

export type EndReason = 'caller_hangup' | 'agent_ended' | 'transferred' | 'idle_timeout' | 'max_duration' | 'gateway_shutdown' | 'start_failed' | 'admin_ended';

export interface ConnectorCallContext {
  readonly conversationId: string;
  readonly agentId: string;
  readonly customerOrgId: string;
  readonly signal: AbortSignal;
  readonly logger: PluginLogger;
}

export type ReplyMode = 'wav' | 'chunk';
export type Endpointing = 'gateway' | 'agent';

export interface ConnectorCapabilities {
  replyModes: ReplyMode[];
  speechAudio?: boolean;
  speechAudioRate?: number;
  endpointing?: Endpointing;
}

/** A connector's health for monitoring: `degraded` plus details of its own (JSON values). */
export interface ConnectorHealth {
  degraded: boolean;
  [detail: string]: unknown;
}

export interface ConnectorBase {
  listAgents(): AgentDescriptor[];
  /** Optional: read by the gateway's monitoring; calls are served whatever it says. */
  health?(): ConnectorHealth;
  capabilities?(): ConnectorCapabilities;
  errorReply?(ctx: ConnectorCallContext): AgentReply;
  close?(): Promise<void>;
}

/** Answers one input with one reply. */
export interface RequestReplyConnector extends ConnectorBase {
  start(ctx: ConnectorCallContext, info: { resumed: boolean }): Promise<AgentReply>;
  handleInput(ctx: ConnectorCallContext, input: CallerInput): Promise<AgentReply | null>;
  end(ctx: ConnectorCallContext, reason: EndReason): Promise<void>;
  openSession?: undefined;
}

/** Streams: one session per conversation, replies in pieces through `ctx.emit`. */
export interface StreamingConnector extends ConnectorBase {
  openSession(ctx: AgentSessionContext): AgentSession | Promise<AgentSession>;
}

export type VirtualAgentConnector = RequestReplyConnector | StreamingConnector;

export type AgentOutput =
  | { type: 'start_of_input' }
  | { type: 'end_of_input' }
  /** A whole reply at once (prompts and how it ends); no reply_end needed after it. */
  | { type: 'reply'; reply: AgentReply }
  | { type: 'prompt'; prompt: AgentPrompt }
  /** `bargeIn` defaults to the agent's configured barge-in: set it false on a closing message. */
  | { type: 'audio'; audio: PromptAudio; text?: string; bargeIn?: boolean }
  | ({ type: 'reply_end' } & Omit<AgentReply, 'prompts'>);

export interface AgentSessionContext {
  readonly conversationId: string;
  readonly agentId: string;
  readonly customerOrgId: string;
  readonly logger: PluginLogger;
  emit(output: AgentOutput): void;
  state: Record<string, unknown> | undefined;
}

export interface AudioStreamInfo {
  sampleRate: number;
  languageCode: string;
}

export interface AgentSession {
  start(info: { resumed: boolean }, signal: AbortSignal): Promise<void>;
  input(input: CallerInput, signal: AbortSignal): Promise<void>;
  listen?(stream: AudioStreamInfo, signal: AbortSignal): Promise<void>;
  audio?(pcm: Int16Array): void;
  bargeIn?(): void;
  end(reason: EndReason, signal: AbortSignal): Promise<void>;
}

/** The agent's configured `defaults` (see the README's configuration table). */
export interface AgentDefaultsView {
  readonly reply_mode: ReplyMode;
  readonly input_mode: 'voice' | 'dtmf' | 'voice_dtmf';
  readonly barge_in: boolean;
  readonly input_sensitive: boolean;
  readonly prompt_encoding: AudioEncoding;
  readonly prompt_sample_rate: number;
  readonly dtmf: { readonly length: number; readonly inter_digit_timeout_ms: number; readonly terminator: string };
  readonly speech: { readonly complete_timeout_ms: number; readonly incomplete_timeout_ms: number; readonly max_speech_ms: number; readonly no_input_timeout_ms: number };
}

/** `connectors.<id>.timeouts`: the gateway's deadlines for the connector's calls. */
export interface ConnectorTimeoutsView {
  /** One turn (the welcome, or the answer to one input); past it the caller hears the apology. */
  readonly turn_ms: number;
  /** The connector's `end` call. */
  readonly end_ms: number;
}

/** What `create` gets for one `connectors.<id>` entry. */
export interface ConnectorDefinition {
  /** The entry's key under `connectors`. */
  id: string;
  /** The entry's `config:` section, as written; validate it and throw on mistakes. */
  config: Record<string, unknown>;
  defaults: AgentDefaultsView;
  /** The entry's `timeouts`: a connector's own budgets must fit inside them. */
  timeouts: ConnectorTimeoutsView;
  /** The call's audio format: give prompt audio in it. */
  promptFormat: AudioFormat;
  /** Relative paths in `config` resolve against this folder. */
  baseDir: string;
  logger: PluginLogger;
  /** Call when listAgents() would now answer differently: new agents take new calls, calls in progress keep theirs. */
  agentsChanged(): void;
}

/** One connector type a plugin offers. */
export interface ConnectorPlugin {
  type: string;
  aliases?: string[];
  create(definition: ConnectorDefinition): VirtualAgentConnector | Promise<VirtualAgentConnector>;
}
