import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { ConnectorRegistry, type EndReason, type RequestReplyConnector } from '@app/connector-sdk';
import { GatewayConfig, LOGGER, type Logger } from '@app/config';
import { EventInput_EventType, type VoiceVARequest } from '@app/proto';
import { Conversation } from './conversation';
import { CONVERSATION_STORE, type ConversationStore } from './conversation-store';
import { SPEECH_ENDPOINTER_FACTORY, type SpeechEndpointer, type SpeechEndpointerFactory, type SpeechEventListener } from '@app/endpointing';
import { EngineError } from './engine-error';
import { CallRecorder } from '@app/recording';
import type { CallRecording } from '@app/recording';
import { Turn, TurnHandle, TurnHost, TurnSink } from './turn';

const MAX_CONVERSATION_ID_LENGTH = 256;
/** How long a connector gets to wind a conversation down. */
const END_TIMEOUT_MS = 10_000;

/**
 * The per-turn conversation model of BYOVA: conversations keyed by conversation_id across RPCs,
 * bound to one agent, ended on hang-up, on the agent's terminal answer, when idle or too long,
 * and at shutdown, with the connector told why every time.
 */
@Injectable()
export class ConversationEngine implements TurnHost, OnModuleInit, OnApplicationShutdown {
  readonly log: Logger;
  readonly audio: { fallbackSampleRate: number; preRollMs: number };
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly registry: ConnectorRegistry,
    @Inject(CONVERSATION_STORE) private readonly store: ConversationStore,
    @Inject(SPEECH_ENDPOINTER_FACTORY) private readonly endpointers: SpeechEndpointerFactory,
    private readonly config: GatewayConfig,
    @Inject(LOGGER) logger: Logger,
    @Optional() private readonly recorder?: CallRecorder,
  ) {
    this.log = logger.child({ context: 'ConversationEngine' });
    const vad = config.voice_activity_detection;
    this.audio = { fallbackSampleRate: vad.fallback_sample_rate_hertz, preRollMs: vad.pre_roll_ms };
  }

  onModuleInit(): void {
    const s = this.config.sessions;
    if (s.enable_auto_cleanup) {
      this.sweeper = setInterval(() => this.sweep(), s.cleanup_interval * 1000);
      this.sweeper.unref();
    }
  }

  /** Starts handling one ProcessCallerInput RPC. */
  openTurn(sink: TurnSink): TurnHandle {
    return new Turn(this, sink);
  }

  get conversationCount(): number {
    return this.store.size;
  }

  conversations(): IterableIterator<Conversation> {
    return this.store.values();
  }

  endpointer(sampleRate: number, listener: SpeechEventListener): SpeechEndpointer {
    return this.endpointers.create(sampleRate, listener);
  }

  recording(conv: Conversation): CallRecording | undefined {
    return conv.recording;
  }

  /** Finds or creates the conversation of an RPC's first request; undefined when there is nothing to do. */
  bind(req: VoiceVARequest): Conversation | undefined {
    const id = req.conversationId;
    if (!id) throw EngineError.invalidArgument('conversation_id is required');
    if (id.length > MAX_CONVERSATION_ID_LENGTH) throw EngineError.invalidArgument(`conversation_id is longer than ${MAX_CONVERSATION_ID_LENGTH} characters`);
    if (!req.audioInput && !req.dtmfInput && !req.eventInput) {
      throw EngineError.invalidArgument('request has no input: set audio_input, dtmf_input or event_input');
    }
    const existing = this.store.get(id);
    if (existing) {
      if (req.virtualAgentId && req.virtualAgentId !== existing.agent.id) {
        throw EngineError.invalidArgument(`virtual_agent_id "${req.virtualAgentId}" does not match the agent of conversation ${id}`);
      }
      existing.lastActivityAt = Date.now();
      return existing;
    }
    if (req.eventInput?.eventType === EventInput_EventType.SESSION_END) return undefined;
    const agent = this.registry.resolve(req.virtualAgentId);
    if (!agent) {
      if (!req.virtualAgentId) throw EngineError.unavailable('no virtual agent is available');
      throw EngineError.notFound(`unknown virtual_agent_id "${req.virtualAgentId}"`);
    }
    const limit = this.config.sessions.max_sessions;
    if (this.store.size >= limit) throw EngineError.exhausted(`too many concurrent conversations (limit ${limit})`);
    const conv = new Conversation(id, agent, req.customerOrgId, this.log.child({ conversationId: id, agentId: agent.id }));
    this.store.add(conv);
    conv.recording = this.recorder?.open({
      conversationId: id,
      agentId: agent.id,
      startedAt: conv.createdAt,
      sampleRate: agent.promptFormat.sampleRate,
      settings: agent.defaults.recording,
      log: conv.log,
    });
    conv.log.info('conversation created');
    return conv;
  }

  /** Ends a conversation once: drops it, completes its other RPCs and tells the connector why. */
  async endConversation(conv: Conversation, reason: EndReason): Promise<void> {
    if (conv.ended) return;
    conv.markEnded();
    if (this.store.get(conv.id) === conv) this.store.delete(conv.id);
    for (const t of [...conv.turns]) t.conversationEnded();
    if (conv.recording) void this.recorder?.close(conv.recording); // finalised in the background; never fails the call
    conv.log.info({ reason, durationMs: Date.now() - conv.createdAt }, 'conversation ended');
    if (!conv.started) return;
    try {
      await (conv.agent.connector as RequestReplyConnector).end(conv.endContext(END_TIMEOUT_MS), reason);
    } catch (err) {
      conv.log.warn({ err, reason }, 'connector end failed');
    }
  }

  /** Ends conversations idle longer than sessions.timeout or older than sessions.max_session_duration. */
  sweep(now = Date.now()): Promise<void> {
    const s = this.config.sessions;
    const ending: Promise<void>[] = [];
    for (const conv of [...this.store.values()]) {
      if (now - conv.createdAt >= s.max_session_duration * 1000) ending.push(this.endConversation(conv, 'max_duration'));
      else if (conv.turns.size === 0 && now - conv.lastActivityAt >= s.timeout * 1000) ending.push(this.endConversation(conv, 'idle_timeout'));
    }
    return Promise.all(ending).then(() => undefined);
  }

  async endAll(reason: EndReason): Promise<void> {
    await Promise.all([...this.store.values()].map((c) => this.endConversation(c, reason)));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.endAll('gateway_shutdown');
  }
}
