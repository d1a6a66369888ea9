import type { ConversationEndReason, InputSettings, PromptSummary, RpcInput, RpcStatus } from '@app/engine';

/**
 * The call log's public read model: what the REST API and the dashboard show. Plain data (copies), times
 * in epoch milliseconds. No audio, no transcripts; digits and event parameters only when configured.
 */

export type { ConversationEndReason, InputSettings, PromptSummary, RpcInput, RpcStatus };

/** One reply the gateway sent in an RPC. */
export interface ReplyRecord {
  at: number;
  prompts: PromptSummary[];
  /** Output events (`SESSION_END`, `TRANSFER_TO_AGENT`, `CUSTOM_EVENT`) with their names. */
  events: Array<{ type: string; name: string }>;
  /** What WxCC was asked to collect next. */
  input: InputSettings;
  /** The gateway's apology after a connector failure. */
  apology: boolean;
  /** From the end of the input (or the SESSION_START) to the reply's first response. */
  latencyMs?: number;
}

/** One ProcessCallerInput RPC of a call: what came in, what went out, when. */
export interface RpcRecord {
  /** 1, 2, ... within the conversation. */
  seq: number;
  method: string;
  startedAt: number;
  endedAt?: number;
  /** gRPC status name once ended (OK, CANCELLED, ...). */
  status?: RpcStatus;
  durationMs?: number;
  /** What the RPC brought in (its first input). */
  input?: RpcInput;
  speechStartedAt?: number;
  speechEndedAt?: number;
  utteranceMs?: number;
  /** The gateway's no-input timer fired. */
  noInputAt?: number;
  replies: ReplyRecord[];
}

export type ConversationState = 'active' | 'ended';

/** A call in a list. */
export interface ConversationSummary {
  id: string;
  agentId: string;
  connectorId: string;
  customerOrgId: string;
  startedAt: number;
  lastActivityAt: number;
  /** RPCs bound to the call so far. */
  turns: number;
  state: ConversationState;
  /** The RPC running now, if any. */
  currentRpc?: { seq: number; input?: RpcInput['kind']; startedAt: number };
  /** The welcome went out. */
  welcomeSent: boolean;
  /** Ended calls only. */
  endedAt?: number;
  endReason?: ConversationEndReason;
  durationMs?: number;
}

/** A call with its timeline (the first `MAX_TIMELINE_RPCS` RPCs are kept; `droppedRpcs` counts the rest). */
export interface ConversationDetail extends ConversationSummary {
  rpcs: RpcRecord[];
  droppedRpcs: number;
}

/** One minute of the last hour. */
export interface MinuteStats {
  /** Start of the minute (epoch ms). */
  minute: number;
  started: number;
  ended: number;
  /** Replies measured (end of input → first reply) and their percentiles; undefined when none. */
  replies: number;
  firstReplyP50Ms?: number;
  firstReplyP95Ms?: number;
}

export interface Page<T> {
  total: number;
  offset: number;
  limit: number;
  items: T[];
}

/** Page sizes of the call lists: the default and the largest a request may ask for. */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

export interface ListOptions {
  agentId?: string;
  offset?: number;
  limit?: number;
}

/** Pushed on every change of a call (per RPC event, never per frame); dashboards subscribe (Server-Sent Events). */
export interface CallLogChange {
  kind: 'started' | 'updated' | 'ended';
  conversation: ConversationSummary;
}

/** A change named only, with no copy of the call: for views that re-read what they show (the dashboard). */
export interface CallLogChangeId {
  kind: CallLogChange['kind'];
  id: string;
}

/** The Python gateway's connection event (its e2e tool reads them from /api/connections). */
export interface ConnectionEvent {
  event_type: 'start' | 'message' | 'terminal' | 'end';
  conversation_id: string;
  agent_id: string;
  /** Epoch seconds (float), as the Python gateway wrote them. */
  timestamp: number;
  outcome?: 'SESSION_END' | 'TRANSFER_TO_AGENT';
  name?: string;
  reason?: string;
}
