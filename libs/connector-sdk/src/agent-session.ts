import type { Logger } from '@app/config';
import type { AgentPrompt, AgentReply, CallerInput, EndReason, PromptAudio } from './connector.types';

/**
 * What a streaming agent session emits, in order. A reply is any number of `prompt`/`audio` outputs closed
 * by one `reply_end`; with agent endpointing, `start_of_input` and `end_of_input` come before the reply to
 * the caller's speech.
 */
export type AgentOutput =
  /** Agent endpointing: the caller started speaking (a barge-in if a reply is still playing). */
  | { type: 'start_of_input' }
  /** Agent endpointing: the caller's utterance is over; the reply follows. */
  | { type: 'end_of_input' }
  /** A whole reply at once: its prompts and how it ends (what request/reply connectors produce). */
  | { type: 'reply'; reply: AgentReply }
  /** A whole prompt (text and/or complete audio). */
  | { type: 'prompt'; prompt: AgentPrompt }
  /**
   * A piece of the reply's speech, sent on to WxCC as it arrives (CHUNK mode); consecutive pieces form one
   * prompt. `text` and `bargeIn` are taken from the first piece of a prompt; `bargeIn` defaults to the agent's
   * configured barge-in (pieces go out before the reply's end is known: set it false on a closing message).
   */
  | { type: 'audio'; audio: PromptAudio; text?: string; bargeIn?: boolean }
  /** The reply is complete: what to collect next, an event for the flow, or the end of the call. */
  | ({ type: 'reply_end' } & Omit<AgentReply, 'prompts'>);

/** Who decides where the caller's speech starts and ends. */
export type Endpointing = 'gateway' | 'agent';

/** What the engine gives a session when the conversation starts. */
export interface AgentSessionContext {
  readonly conversationId: string;
  readonly agentId: string;
  readonly customerOrgId: string;
  readonly logger: Logger;
  /** Hands one output to the engine; outputs outside a turn (nothing asked, after reply_end) are dropped. */
  emit(output: AgentOutput): void;
  /**
   * A small JSON-serialisable blob kept with the conversation's state (shared across gateway replicas):
   * what the session needs to pick the call up again elsewhere. Undefined until set.
   */
  state: Record<string, unknown> | undefined;
}

/** What the session's `listen` call is told about the caller audio that follows. */
export interface AudioStreamInfo {
  /** 16-bit PCM at this rate (the rate the connector asked for, else the caller's). */
  sampleRate: number;
  languageCode: string;
}

/**
 * One conversation with an agent, from its start to its end. Calls get an AbortSignal that fires when the
 * turn's deadline passes, the RPC is cancelled or the conversation ends; the engine never makes two calls of
 * one session at once (unless one was abandoned at its deadline: its signal is then aborted), and calls `end`
 * once, after every other call has settled (or was abandoned).
 */
export interface AgentSession {
  /** The call starts (`resumed`: the gateway lost the call's state and rebuilt it; play no welcome). The welcome follows as outputs. */
  start(info: { resumed: boolean }, signal: AbortSignal): Promise<void>;
  /** One input from the caller; the reply follows as outputs. With gateway endpointing, speech arrives here as one utterance. */
  input(input: CallerInput, signal: AbortSignal): Promise<void>;
  /** Agent endpointing: a stream of caller audio begins; `audio()` carries it until the agent sends end_of_input. */
  listen?(stream: AudioStreamInfo, signal: AbortSignal): Promise<void>;
  /** Agent endpointing: caller audio as it arrives. The array is reused once the call returns: copy what you keep. */
  audio?(pcm: Int16Array): void;
  /** The caller barged in on the reply that is playing: stop producing it (what is left of it is not sent). */
  bargeIn?(): void;
  /** The conversation is over: release what the session holds. */
  end(reason: EndReason, signal: AbortSignal): Promise<void>;
}
