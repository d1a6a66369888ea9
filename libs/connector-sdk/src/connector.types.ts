import type { AudioFormat } from '@app/audio';
import type { AgentDefaults, Logger } from '@app/config';
import type { AgentSession, AgentSessionContext, Endpointing } from './agent-session';

/** One agent a connector offers; `id` is the routing id WxCC sends back (e.g. `Local Audio: Local Playback`). */
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
  /** Barge-in for this answer's prompts unless a prompt says otherwise. */
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
  /** Sent on the last response of a call. */
  transcript?: string;
  summary?: string;
}

export type CallerInput =
  /** One utterance, 16-bit PCM at the caller's rate, ended by the gateway's endpointer (empty if the connector asked for no audio). */
  | { kind: 'speech'; audio: Int16Array; sampleRate: number; durationMs: number; languageCode: string }
  | { kind: 'dtmf'; digits: string }
  /** The caller said nothing within the no-input timeout (detected by WxCC or the gateway). */
  | { kind: 'no_input' }
  | { kind: 'event'; name: string; parameters?: StructValue };

export type EndReason =
  | 'caller_hangup'
  | 'agent_ended'
  | 'transferred'
  | 'idle_timeout'
  | 'max_duration'
  | 'gateway_shutdown'
  | 'start_failed'
  /** An operator ended the call from the monitoring API. */
  | 'admin_ended';

export interface ConnectorCallContext {
  readonly conversationId: string;
  readonly agentId: string;
  readonly customerOrgId: string;
  /** Aborted when the RPC is cancelled or the conversation ends. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** How prompts go back to WxCC, fixed for a whole call: complete WAV files in one FINAL, or raw CHUNKs. */
export type ReplyMode = 'wav' | 'chunk';

export interface ConnectorCapabilities {
  /** Reply modes the connector's audio can be sent in; the agent's configured mode must be one of them. */
  replyModes: ReplyMode[];
  /** Whether it listens to the caller's utterances; false spares collecting their audio. Default true. */
  speechAudio?: boolean;
  /** Sample rate it wants utterances (or streamed audio) in (16-bit PCM); converted once. Default: the caller's rate. */
  speechAudioRate?: number;
  /** `agent`: caller audio is streamed to the session, which reports start and end of input itself. Default `gateway`. */
  endpointing?: Endpointing;
}

/** A connector's own view of its health, for monitoring: `degraded` plus details of its own (JSON values). */
export interface ConnectorHealth {
  degraded: boolean;
  [detail: string]: unknown;
}

/** What every connector offers, whichever way it talks to its agent. */
export interface ConnectorBase {
  listAgents(): AgentDescriptor[];
  /** Read live by ConnectorRegistry.connectorHealth(); calls are served whatever it says. */
  health?(): ConnectorHealth;
  /** Omitted: every reply mode works, the gateway endpoints and utterance audio is wanted. */
  capabilities?(): ConnectorCapabilities;
  /** The agent's own apology for failures; the gateway adds the `error_occurred` event. */
  errorReply?(ctx: ConnectorCallContext): AgentReply;
  /** Process shutdown. */
  close?(): Promise<void>;
}

/** A bot backend answering one input with one reply. One instance per configured connector entry; it may offer several agents. */
export interface RequestReplyConnector extends ConnectorBase {
  /** Conversation start; the reply is the welcome. `resumed`: the gateway lost the call's state and rebuilt it. */
  start(ctx: ConnectorCallContext, info: { resumed: boolean }): Promise<AgentReply>;
  /** A null reply means the agent has nothing to say for this input. */
  handleInput(ctx: ConnectorCallContext, input: CallerInput): Promise<AgentReply | null>;
  /** Always called once per started conversation, with the reason it ended. */
  end(ctx: ConnectorCallContext, reason: EndReason): Promise<void>;
  openSession?: undefined;
}

/** A bot backend that streams: caller audio as it arrives, replies in pieces (see AgentSession). */
export interface StreamingConnector extends ConnectorBase {
  /** Opened once per conversation, before its first call. */
  openSession(ctx: AgentSessionContext): AgentSession | Promise<AgentSession>;
}

export type VirtualAgentConnector = RequestReplyConnector | StreamingConnector;

/** `connectors.<id>.timeouts`. */
export interface ConnectorTimeoutsView {
  /** The engine's deadline for one turn (the welcome, or the answer to one input). */
  readonly turn_ms: number;
  /** The deadline of the connector's `end` call. */
  readonly end_ms: number;
}

/** What a factory gets to build a connector from one `connectors.<id>` entry. */
export interface ConnectorDefinition {
  id: string;
  config: Record<string, unknown>;
  defaults: AgentDefaults;
  /** The entry's `timeouts` (the engine's deadlines): a connector's own budgets must fit inside them. */
  timeouts: ConnectorTimeoutsView;
  /** The call's audio format; prompts are converted to it once. */
  promptFormat: AudioFormat;
  /** Relative paths in the connector's config resolve against this folder. */
  baseDir: string;
  logger: Logger;
  /**
   * Call when listAgents() would now answer differently (bots deployed or removed): the gateway reads it again.
   * New agents take new calls at once; calls in progress keep their agent.
   */
  agentsChanged(): void;
}

/** Builds connectors of one type; found by the registry through the @ConnectorProvider decorator. */
export interface ConnectorFactory {
  create(definition: ConnectorDefinition): VirtualAgentConnector | Promise<VirtualAgentConnector>;
}
