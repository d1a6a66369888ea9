import type { AgentBinding, AgentOutput, AgentSession } from '@app/connector-sdk';
import type { Logger } from '@app/config';
import type { CallRecording } from '@app/recording';
import type { ResolvedInput } from './next-input';
import type { ConversationState, Lease } from './state/conversation-state';

/** An RPC bound to a conversation, as the conversation needs to know it. */
export interface LiveTurn {
  /** The conversation ended elsewhere: complete the RPC quietly. */
  conversationEnded(): void;
}

/** Receives the agent session's outputs while a turn waits for them. */
export type OutputSink = (output: AgentOutput) => void;

/**
 * One call as this process runs it: its shareable state (saved to the store after every turn) plus what
 * only this process has: the lease, open RPCs, the ordering lock, the agent session and the recording.
 */
export class Conversation {
  /** Runtime only: the agent session has been started in this process. */
  sessionStarted = false;
  ended = false;
  /** RPCs this process has bound to the conversation: numbers them for observers. */
  rpcCount = 0;
  /** RPCs bound to this conversation that have not finished. */
  readonly turns = new Set<LiveTurn>();
  /** The agent's configured input defaults. */
  readonly baseInput: ResolvedInput;
  recording?: CallRecording;
  /** Opened on first use; undefined until then. */
  session?: AgentSession;
  sessionOpening?: Promise<AgentSession>;
  /** Where the session's outputs go now (the turn waiting for them); outputs with no sink are dropped. */
  outputSink?: OutputSink;
  /** Connector calls not yet settled (including ones abandoned at their deadline): end() waits for them. */
  readonly pendingCalls = new Set<Promise<unknown>>();
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly state: ConversationState,
    public lease: Lease,
    readonly agent: AgentBinding,
    baseInput: ResolvedInput,
    readonly log: Logger,
  ) {
    this.baseInput = baseInput;
  }

  get id(): string {
    return this.state.id;
  }

  get createdAt(): number {
    return this.state.createdAt;
  }

  get replyMode() {
    return this.agent.defaults.reply_mode;
  }

  /** What the agent last asked to collect. */
  get expect(): ResolvedInput {
    return this.state.expect;
  }

  /** Serialises RPCs of one conversation: resolves with the release function once earlier holders released. */
  lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => held);
    return prev.then(() => release);
  }

  /** Tracks a connector call until it settles, whatever the engine decided about it meanwhile. */
  track<T>(call: Promise<T>): Promise<T> {
    this.pendingCalls.add(call);
    const done = () => this.pendingCalls.delete(call);
    call.then(done, done);
    return call;
  }

  /** Resolves once no connector call is pending, or false after `ms`. */
  async callsSettled(ms: number): Promise<boolean> {
    if (this.pendingCalls.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    try {
      while (this.pendingCalls.size > 0) {
        const settled = Promise.allSettled([...this.pendingCalls]).then(() => true as const);
        if (!(await Promise.race([settled, timeout]))) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
