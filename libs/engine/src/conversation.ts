import type { AgentBinding, ConnectorCallContext } from '@app/connector-sdk';
import type { Logger } from '@app/config';
import type { CallRecording } from '@app/recording';
import { defaultInput, ResolvedInput } from './next-input';

/** An RPC bound to a conversation, as the conversation needs to know it. */
export interface LiveTurn {
  /** The conversation ended elsewhere: complete the RPC. */
  conversationEnded(): void;
}

/** One call's state across its many per-turn RPCs. */
export class Conversation {
  readonly createdAt = Date.now();
  lastActivityAt = this.createdAt;
  /** The connector's start has run (with or without a SESSION_START from WxCC). */
  started = false;
  ended = false;
  /** RPCs bound to this conversation that have not finished. */
  readonly turns = new Set<LiveTurn>();
  /** The agent's configured input defaults. */
  readonly baseInput: ResolvedInput;
  /** What the agent last asked to collect; the gateway applies the timers it owns. */
  expect: ResolvedInput;
  /** Epoch ms until which the last answer's prompts that cannot be barged in are playing. */
  noBargeInUntil = 0;
  /** Epoch ms when the last answer's prompts have all played. */
  promptsEndAt = 0;
  /** The call's recording, when its agent records calls. */
  recording?: CallRecording;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly agent: AgentBinding,
    readonly customerOrgId: string,
    readonly log: Logger,
  ) {
    this.baseInput = this.expect = defaultInput(agent.defaults);
  }

  get replyMode() {
    return this.agent.defaults.reply_mode;
  }

  /** Serialises RPCs of one conversation: resolves with the release function once earlier holders released. */
  lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => held);
    return prev.then(() => release);
  }

  /** Context for a connector call within an RPC; the RPC aborts `signal` when it is cancelled or the conversation ends. */
  context(signal: AbortSignal): ConnectorCallContext {
    return { conversationId: this.id, agentId: this.agent.id, customerOrgId: this.customerOrgId, signal, logger: this.log };
  }

  /** Context for the connector's end call, which runs after the conversation ended: bounded by time only. */
  endContext(timeoutMs: number): ConnectorCallContext {
    return this.context(AbortSignal.timeout(timeoutMs));
  }

  /** Marks the conversation ended; the engine then completes its RPCs, which aborts their connector calls. */
  markEnded(): void {
    this.ended = true;
  }
}
