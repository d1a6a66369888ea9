import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { type AgentBinding, type AgentSession, type AgentSessionContext, ConnectorRegistry, type EndReason } from '@app/connector-sdk';
import { ConnectorsSection, LOGGER, type Logger, SessionsSection, VadSection } from '@app/config';
import { SPEECH_ENDPOINTER_FACTORY, type SpeechEndpointer, type SpeechEndpointerFactory, type SpeechEventListener } from '@app/endpointing';
import { CallRecorder } from '@app/recording';
import { EventInput_EventType, type VoiceVARequest } from '@app/proto';
import type { ExchangeServices } from './agent/agent-exchange';
import type { SentReply } from './agent/reply-stream';
import { RequestReplySession } from './agent/request-reply-session';
import { Conversation } from './conversation';
import { EngineError } from './engine-error';
import { defaultInput } from './next-input';
import { CONVERSATION_STATE_STORE, type ConversationState, type ConversationStateStore, LeaseConflictError } from './state/conversation-state';
import { type EndCause, Turn, type TurnHandle, type TurnHost, type TurnSink } from './turn/turn';
import { type ConversationEndReason, EngineEvents } from './observe/engine-events';

const MAX_CONVERSATION_ID_LENGTH = 256;
/** Ownership of a conversation lapses this long after its owner stops renewing it (a replica died). */
export const LEASE_MS = 30_000;
const LEASE_RENEW_MS = 10_000;
const DEFAULT_TURN_MS = 10_000;
const DEFAULT_END_MS = 5_000;

/**
 * The per-turn conversation model of BYOVA: conversations keyed by conversation_id across RPCs, their state in a
 * shareable store (leased to this process while it runs them), bound to one agent, ended on hang-up, on the agent's
 * terminal answer, when idle or too long, and at shutdown, with the connector told why every time.
 */
@Injectable()
export class ConversationEngine implements TurnHost, OnModuleInit, OnApplicationShutdown {
  readonly log: Logger;
  readonly audio: { fallbackSampleRate: number; preRollMs: number };
  readonly rpcIdleMs: number;
  readonly exchange: ExchangeServices;
  /** Conversations this process runs now. */
  private readonly live = new Map<string, Conversation>();
  /** First RPCs of a conversation being looked up or created: later ones wait for the same result. */
  private readonly binding = new Map<string, Promise<Conversation | undefined>>();
  /** Conversations being removed from the store: an RPC for one waits until the store knows it ended. */
  private readonly ending = new Map<string, Promise<void>>();
  /** New conversations admitted but not yet created in the store (admission counts them). */
  private admitting = 0;
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private sweeper?: NodeJS.Timeout;
  private renewer?: NodeJS.Timeout;

  constructor(
    private readonly registry: ConnectorRegistry,
    @Inject(CONVERSATION_STATE_STORE) private readonly store: ConversationStateStore,
    @Inject(SPEECH_ENDPOINTER_FACTORY) private readonly endpointers: SpeechEndpointerFactory,
    private readonly sessions: SessionsSection,
    vad: VadSection,
    private readonly connectors: ConnectorsSection,
    @Inject(LOGGER) logger: Logger,
    @Optional() private readonly recorder?: CallRecorder,
    /** Observers of calls (monitoring); with none subscribed, nothing is built for them. */
    @Optional() readonly events: EngineEvents = new EngineEvents(),
  ) {
    this.log = logger.child({ context: 'ConversationEngine' });
    this.audio = { fallbackSampleRate: vad.fallback_sample_rate_hertz, preRollMs: vad.pre_roll_ms };
    this.rpcIdleMs = sessions.rpc_idle_timeout_seconds * 1000;
    this.exchange = {
      session: (conv) => this.session(conv),
      replySent: (conv, sent) => this.replySent(conv, sent),
      turnMs: (conv) => this.connectors[conv.agent.connectorId]?.timeouts?.turn_ms ?? DEFAULT_TURN_MS,
      events: this.events,
    };
  }

  onModuleInit(): void {
    const s = this.sessions;
    if (s.enable_auto_cleanup) {
      this.sweeper = setInterval(() => void this.sweep(), s.cleanup_interval * 1000);
      this.sweeper.unref();
    }
    this.renewer = setInterval(() => void this.renewLeases(), LEASE_RENEW_MS);
    this.renewer.unref();
  }

  /** Starts handling one ProcessCallerInput RPC. */
  openTurn(sink: TurnSink): TurnHandle {
    return new Turn(this, sink);
  }

  get conversationCount(): number {
    return this.live.size;
  }

  conversations(): IterableIterator<Conversation> {
    return this.live.values();
  }

  endpointer(sampleRate: number, listener: SpeechEventListener, endSilenceMs?: number): SpeechEndpointer {
    return this.endpointers.create(sampleRate, listener, endSilenceMs);
  }

  // ---- binding RPCs to conversations ----

  /** Finds, picks up or creates the conversation of an RPC's first request; undefined when there is nothing to do. */
  async bind(req: VoiceVARequest): Promise<Conversation | undefined> {
    const id = req.conversationId;
    if (!id) throw EngineError.invalidArgument('conversation_id is required');
    if (id.length > MAX_CONVERSATION_ID_LENGTH) throw EngineError.invalidArgument(`conversation_id is longer than ${MAX_CONVERSATION_ID_LENGTH} characters`);
    if (!req.audioInput && !req.dtmfInput && !req.eventInput) {
      throw EngineError.invalidArgument('request has no input: set audio_input, dtmf_input or event_input');
    }
    let conv = this.live.get(id);
    if (conv === undefined) {
      let pending = this.binding.get(id);
      if (pending === undefined) {
        pending = this.load(req).finally(() => this.binding.delete(id));
        this.binding.set(id, pending);
      }
      conv = await pending;
      if (conv === undefined) return undefined;
    }
    if (req.virtualAgentId && req.virtualAgentId !== conv.agent.id) {
      throw EngineError.invalidArgument(`virtual_agent_id "${req.virtualAgentId}" does not match the agent of conversation ${id}`);
    }
    conv.state.lastActivityAt = Date.now();
    return conv;
  }

  private async load(req: VoiceVARequest): Promise<Conversation | undefined> {
    const id = req.conversationId;
    await this.ending.get(id);
    // A late RPC of a call that already ended (hang-up, transfer, agent end) starts nothing.
    if (await this.store.wasEnded(id)) {
      this.log.debug({ conversationId: id }, 'rpc for an ended conversation completed without action');
      return undefined;
    }
    const stored = await this.store.get(id);
    if (stored !== undefined) return this.pickUp(stored);
    if (req.eventInput?.eventType === EventInput_EventType.SESSION_END) return undefined;
    const agent = this.registry.resolve(req.virtualAgentId);
    if (!agent) {
      if (!req.virtualAgentId) throw EngineError.unavailable('no virtual agent is available');
      throw EngineError.notFound(`unknown virtual_agent_id "${req.virtualAgentId}"`);
    }
    const limit = this.sessions.max_sessions;
    if (this.live.size + this.admitting >= limit) throw EngineError.exhausted(`too many concurrent conversations (limit ${limit})`);
    const now = Date.now();
    const state: ConversationState = {
      id,
      agentId: agent.id,
      customerOrgId: req.customerOrgId,
      createdAt: now,
      lastActivityAt: now,
      started: false,
      expect: defaultInput(agent.defaults),
      noBargeInUntil: 0,
      promptsEndAt: 0,
    };
    let lease;
    this.admitting++;
    try {
      lease = await this.store.create(state, this.owner, LEASE_MS);
    } catch (e) {
      if (e instanceof LeaseConflictError) throw EngineError.unavailable(`conversation ${id} is being started elsewhere; retry`);
      throw e;
    } finally {
      this.admitting--;
    }
    const conv = this.materialise(state, lease, agent);
    conv.log.info('conversation created');
    this.started(conv, false);
    return conv;
  }

  /** A conversation known to the store but not running here (another replica's, or this process restarted). */
  private async pickUp(state: ConversationState): Promise<Conversation> {
    const agent = this.registry.resolve(state.agentId);
    if (!agent) throw EngineError.failedPrecondition(`the agent of conversation ${state.id} is no longer available`);
    const lease = await this.store.acquire(state.id, this.owner, LEASE_MS);
    if (!lease) throw EngineError.unavailable(`conversation ${state.id} is handled by another gateway instance`);
    const conv = this.materialise(state, lease, agent);
    // Its agent session is not running here: the next input restarts it silently (the resumed path).
    conv.log.info({ started: state.started }, 'conversation picked up from the store');
    this.started(conv, true);
    return conv;
  }

  private started(conv: Conversation, resumed: boolean): void {
    const ev = this.events;
    if (!ev.listening) return;
    const a = conv.agent;
    ev.emit({ type: 'conversation_started', at: Date.now(), conversationId: conv.id, agentId: a.id, connectorId: a.connectorId, customerOrgId: conv.state.customerOrgId, resumed });
  }

  private ended(conv: Conversation, reason: ConversationEndReason): void {
    const ev = this.events;
    if (!ev.listening) return;
    const at = Date.now();
    ev.emit({ type: 'conversation_ended', at, conversationId: conv.id, agentId: conv.agent.id, connectorId: conv.agent.connectorId, reason, durationMs: at - conv.createdAt });
  }

  private materialise(state: ConversationState, lease: Conversation['lease'], agent: AgentBinding): Conversation {
    const conv = new Conversation(state, lease, agent, defaultInput(agent.defaults), this.log.child({ conversationId: state.id, agentId: agent.id }));
    conv.recording = this.recorder?.open({
      conversationId: state.id,
      agentId: agent.id,
      startedAt: state.createdAt,
      sampleRate: agent.promptFormat.sampleRate,
      settings: agent.defaults.recording,
      log: conv.log,
    });
    this.live.set(state.id, conv);
    return conv;
  }

  async saveState(conv: Conversation): Promise<void> {
    try {
      conv.lease = await this.store.save(conv.lease, conv.state, LEASE_MS);
    } catch (e) {
      if (!(e instanceof LeaseConflictError)) throw e;
      // Another instance took the call over: it is theirs now.
      conv.log.warn('conversation taken over by another gateway instance; dropped here');
      this.drop(conv);
    }
  }

  private async renewLeases(): Promise<void> {
    for (const conv of [...this.live.values()]) {
      try {
        const lease = await this.store.acquire(conv.id, this.owner, LEASE_MS);
        if (lease) conv.lease = lease;
        else if (!conv.ended) {
          conv.log.warn('conversation lease lost to another gateway instance; dropped here');
          this.drop(conv);
        }
      } catch (err) {
        conv.log.warn({ err }, 'conversation lease could not be renewed');
      }
    }
  }

  /** Forgets a conversation locally without ending it (its state lives on in the store). */
  private drop(conv: Conversation): void {
    if (this.live.get(conv.id) === conv) {
      this.live.delete(conv.id);
      this.ended(conv, 'taken_over');
    }
    if (conv.recording) void this.recorder?.close(conv.recording);
  }

  // ---- the agent side ----

  private session(conv: Conversation): Promise<AgentSession> {
    if (conv.session) return Promise.resolve(conv.session);
    return (conv.sessionOpening ??= (async () => {
      const connector = conv.agent.connector;
      const ctx = this.sessionContext(conv);
      const session = connector.openSession ? await connector.openSession(ctx) : new RequestReplySession(connector, ctx);
      conv.session = session;
      return session;
    })().finally(() => (conv.sessionOpening = undefined)));
  }

  private sessionContext(conv: Conversation): AgentSessionContext {
    const state = conv.state;
    return {
      conversationId: conv.id,
      agentId: conv.agent.id,
      customerOrgId: state.customerOrgId,
      logger: conv.log,
      // Outputs go to the turn waiting for them; with none waiting they are dropped.
      emit: (o) => conv.outputSink?.(o),
      get state() {
        return state.connectorState;
      },
      set state(v) {
        state.connectorState = v;
      },
    };
  }

  private replySent(conv: Conversation, sent: SentReply): void {
    const s = conv.state;
    s.expect = sent.input;
    s.promptsEndAt = sent.startedAt + sent.totalMs;
    s.noBargeInUntil = sent.startedAt + sent.noBargeInMs;
    conv.recording?.agentPrompts(sent.reply.prompts, sent.startedAt);
    const end = sent.reply.end;
    if (end) {
      conv.log.info({ outcome: end.kind, name: end.name }, 'agent ended the call');
      void this.endConversation(conv, end.kind === 'transfer' ? 'transferred' : 'agent_ended');
    }
  }

  private endTimeoutMs(conv: Conversation): number {
    return this.connectors[conv.agent.connectorId]?.timeouts?.end_ms ?? DEFAULT_END_MS;
  }

  /**
   * Ends a conversation once: drops it, completes its other RPCs quietly, remembers its id as ended, and tells
   * the connector why, once none of its calls is running any more. Bounded: at most twice the connector's end_ms.
   */
  async endConversation(conv: Conversation, reason: EndReason | EndCause): Promise<void> {
    if (conv.ended) return;
    conv.ended = true;
    if (this.live.get(conv.id) === conv) this.live.delete(conv.id);
    for (const t of [...conv.turns]) t.conversationEnded();
    if (conv.recording) void this.recorder?.close(conv.recording); // finalised in the background; never fails the call
    conv.log.info({ reason, durationMs: Date.now() - conv.createdAt }, 'conversation ended');
    this.ended(conv, reason);
    const forgotten = this.store
      .end(conv.lease, this.sessions.ended_retention_seconds * 1000)
      .catch((err) => conv.log.warn({ err }, 'conversation state could not be removed from the store'))
      .finally(() => this.ending.delete(conv.id));
    this.ending.set(conv.id, forgotten);
    const session = conv.session;
    if (conv.sessionStarted && session) {
      const ms = this.endTimeoutMs(conv);
      // end() never overlaps a call of the same conversation: the aborted ones get a bounded time to settle.
      if (!(await conv.callsSettled(ms))) conv.log.warn({ timeoutMs: ms }, 'a connector call did not settle after it was aborted; ending the conversation anyway');
      await this.endSession(conv, session, reason as EndReason, ms);
    }
    await forgotten;
  }

  private async endSession(conv: Conversation, session: AgentSession, reason: EndReason, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const signal = AbortSignal.timeout(ms);
    const t0 = Date.now();
    let outcome: 'ok' | 'error' | 'timeout' = 'ok';
    try {
      const done = Promise.resolve().then(() => session.end(reason, signal));
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
      if ((await Promise.race([done, late])) === 'late') {
        outcome = 'timeout';
        conv.log.warn({ reason, timeoutMs: ms, connector: conv.agent.connectorId }, 'connector end did not finish in time');
      } else await done;
    } catch (err) {
      outcome = 'error';
      conv.log.warn({ err, reason, connector: conv.agent.connectorId }, 'connector end failed');
    } finally {
      clearTimeout(timer);
    }
    const ev = this.events;
    if (ev.listening) {
      const at = Date.now();
      ev.emit({ type: 'connector_call', at, conversationId: conv.id, connectorId: conv.agent.connectorId, op: 'end', durationMs: at - t0, outcome });
    }
  }

  /** Ends conversations idle longer than sessions.timeout or older than sessions.max_session_duration. */
  sweep(now = Date.now()): Promise<void> {
    const s = this.sessions;
    const ending: Promise<void>[] = [];
    for (const conv of [...this.live.values()]) {
      if (now - conv.createdAt >= s.max_session_duration * 1000) ending.push(this.endConversation(conv, 'max_duration'));
      else if (conv.turns.size === 0 && now - conv.state.lastActivityAt >= s.timeout * 1000) ending.push(this.endConversation(conv, 'idle_timeout'));
    }
    return Promise.all(ending).then(() => undefined);
  }

  /** Ends a conversation this process runs (an operator ending a stuck call); false when it runs no such conversation. */
  async endById(id: string, reason: EndReason): Promise<boolean> {
    const conv = this.live.get(id);
    if (conv === undefined || conv.ended) return false;
    await this.endConversation(conv, reason);
    return true;
  }

  async endAll(reason: EndReason): Promise<void> {
    await Promise.all([...this.live.values()].map((c) => this.endConversation(c, reason)));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.renewer) clearInterval(this.renewer);
    await this.endAll('gateway_shutdown');
  }
}
