import { Injectable } from '@nestjs/common';
import type { EndReason } from '@app/connector-sdk';

/**
 * What the engine tells observers (monitoring), per RPC, turn and conversation: never per audio frame.
 * Read-only facts: observers cannot change the call. Times are epoch milliseconds.
 */

/** What one RPC brought in. Digits and event parameters only when payloads are captured and the input is not sensitive. */
export type RpcInput =
  | { kind: 'session_start' }
  | { kind: 'session_end' }
  | { kind: 'start_of_dtmf' }
  | { kind: 'no_input' }
  | { kind: 'audio'; encoding: string; sampleRateHz: number }
  | { kind: 'dtmf'; digitCount: number; digits?: string }
  | { kind: 'event'; name: string; parameters?: Record<string, unknown> };

/** One prompt of a reply as sent: no audio. */
export interface PromptSummary {
  text?: string;
  durationMs: number;
  bargeIn: boolean;
}

/** What a reply asked WxCC to collect next. */
export interface InputSettings {
  mode: 'voice' | 'dtmf' | 'voice_dtmf';
  dtmf: { length: number; interDigitTimeoutMs: number; terminator: string };
  speech: { completeTimeoutMs: number; incompleteTimeoutMs: number; maxSpeechMs: number; noInputTimeoutMs: number };
  bargeIn: boolean;
  sensitive: boolean;
}

/** What one reply sent out. */
export interface ReplySummary {
  prompts: PromptSummary[];
  /** Output events of the reply: `SESSION_END`, `TRANSFER_TO_AGENT`, `CUSTOM_EVENT` with their names. */
  events: Array<{ type: string; name: string }>;
  input: InputSettings;
  /** The gateway's apology after a connector failure. */
  apology: boolean;
}

/** A gRPC status name: OK, CANCELLED, INVALID_ARGUMENT, ... */
export type RpcStatus = string;

/** Why a conversation ended here: the connector's end reasons, or another replica took it over. */
export type ConversationEndReason = EndReason | 'taken_over';

/** Connector call kinds: bounded (safe as a metric label). */
export type ConnectorOp = 'start' | 'speech' | 'dtmf' | 'no_input' | 'event' | 'listen' | 'end';

export type EngineEvent =
  | { type: 'conversation_started'; at: number; conversationId: string; agentId: string; connectorId: string; customerOrgId: string; resumed: boolean }
  | { type: 'rpc_started'; at: number; conversationId: string; rpc: number; method: string }
  | { type: 'rpc_input'; at: number; conversationId: string; rpc: number; input: RpcInput }
  | { type: 'speech_started'; at: number; conversationId: string; rpc: number }
  | { type: 'speech_ended'; at: number; conversationId: string; rpc: number; utteranceMs: number }
  /** The gateway detected no input (its own timer). */
  | { type: 'no_input'; at: number; conversationId: string; rpc: number }
  /** `latencyMs`: from the end of the input (or the SESSION_START) to the reply's first response; `welcome` for the session start. */
  | { type: 'reply'; at: number; conversationId: string; rpc: number; reply: ReplySummary; latencyMs?: number; welcome: boolean }
  | { type: 'connector_call'; at: number; conversationId: string; connectorId: string; op: ConnectorOp; durationMs: number; outcome: 'ok' | 'error' | 'timeout' | 'aborted' }
  /** `conversationId` is empty for an RPC refused before it named one; `rpc` is 0 for RPCs not bound to a conversation. */
  | { type: 'rpc_ended'; at: number; conversationId: string; rpc: number; method: string; status: RpcStatus; durationMs: number; started: boolean }
  | { type: 'conversation_ended'; at: number; conversationId: string; agentId: string; connectorId: string; reason: ConversationEndReason; durationMs: number };

export type EngineObserver = (event: EngineEvent) => void;

/** Events held for delivery at most; beyond that they are delivered at once. */
export const MAX_PENDING_EVENTS = 10_000;
/** How long an event may wait for delivery: about 140 events a batch at 150 calls. */
export const DELIVERY_INTERVAL_MS = 100;

/**
 * The engine's observation seam. Emitters check `listening` first, so nothing is built when nobody observes.
 * Events are delivered in order, in batches at most DELIVERY_INTERVAL_MS after they were emitted: observers never
 * run inside the engine's call stacks, and run a few times a second rather than between every burst of audio
 * (the monitoring bench measured each step, per loop turn and then per interval, at 2-3% less CPU with monitoring
 * on). Readers that must see everything emitted so far call `flush()` first. An observer that throws is dropped
 * from that event only: monitoring never breaks a call.
 */
@Injectable()
export class EngineEvents {
  private observers: EngineObserver[] = [];
  private pending: EngineEvent[] = [];
  private scheduled?: NodeJS.Timeout;
  /**
   * Whether DTMF digits and custom-event parameters go into events (never for inputs marked sensitive).
   * Set by the observer that was configured to want them.
   */
  capturePayloads = false;

  get listening(): boolean {
    return this.observers.length > 0;
  }

  /** Returns the unsubscribe function, which first delivers what was emitted while subscribed. */
  subscribe(observer: EngineObserver): () => void {
    this.flush();
    this.observers = [...this.observers, observer];
    return () => {
      this.flush();
      this.observers = this.observers.filter((o) => o !== observer);
    };
  }

  emit(event: EngineEvent): void {
    if (this.observers.length === 0) return;
    this.pending.push(event);
    if (this.pending.length >= MAX_PENDING_EVENTS) return this.flush();
    // Unref'd: held events never keep a stopping process alive (readers and unsubscribing flush them).
    this.scheduled ??= setTimeout(() => this.flush(), DELIVERY_INTERVAL_MS).unref();
  }

  /** Delivers every event emitted so far, now. */
  flush(): void {
    if (this.scheduled !== undefined) {
      clearTimeout(this.scheduled);
      this.scheduled = undefined;
    }
    // Observers may emit or flush themselves: each batch is taken before it is delivered.
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const observers = this.observers;
      for (const event of batch) {
        for (const o of observers) {
          try {
            o(event);
          } catch {
            // An observer's bug is its own; the call goes on.
          }
        }
      }
    }
  }
}
