import type { CallerInput } from '@app/connector-sdk';
import type { Logger } from '@app/config';
import type { SpeechEndpointer, SpeechEventListener } from '@app/endpointing';
import type { CallRecording } from '@app/recording';
import { EventInput_EventType, type VoiceInput, type VoiceVARequest, type VoiceVAResponse, VoiceVAResponse_ResponseType } from '@app/proto';
import { AgentExchange, type ExchangeResult, type ExchangeServices } from '../agent/agent-exchange';
import type { SentReply } from '../agent/reply-stream';
import type { EngineEvents, ReplySummary, RpcInput, RpcStatus } from '../observe/engine-events';
import type { Conversation, LiveTurn } from '../conversation';
import { EngineError } from '../engine-error';
import { dtmfEventsToDigits } from '../next-input';
import { END_OF_INPUT, ERROR_EVENT_NAME, NO_INPUT, START_OF_INPUT } from '../reply-builder';
import { AudioIntake, type IntakeListener } from './audio-intake';

/** Where one RPC's responses go; the transport adapts it to its stream. */
export interface TurnSink {
  send(response: VoiceVAResponse): void;
  /** Completes the RPC with status OK. */
  complete(): void;
  fail(error: EngineError): void;
}

/** What the transport drives: the RPC's requests, its half-close, and its cancellation. */
export interface TurnHandle {
  request(req: VoiceVARequest): void;
  /** The client will send nothing more. Acted on at once: a transport whose cancel arrives as half-close then cancel orders that itself. */
  halfClose(): void;
  /** `status`: how the transport ends the RPC (for observers); the client going away is CANCELLED. */
  cancel(status?: RpcStatus): void;
}

export type EndCause = 'caller_hangup' | 'agent_ended' | 'transferred';

/** The engine services a turn uses. */
export interface TurnHost {
  /** The conversation of an RPC's first request; undefined when there is nothing to do (hang-up of an unknown or ended call). */
  bind(first: VoiceVARequest): Promise<Conversation | undefined>;
  endConversation(conversation: Conversation, reason: EndCause): Promise<void>;
  /** `endSilenceMs`: the turn's own end silence; unset: the configured one. */
  endpointer(sampleRate: number, listener: SpeechEventListener, endSilenceMs?: number): SpeechEndpointer;
  /** Saves what the turn changed (what to collect next, playback times, started) before the RPC completes. */
  saveState(conversation: Conversation): Promise<void>;
  readonly exchange: ExchangeServices;
  readonly audio: { fallbackSampleRate: number; preRollMs: number };
  /** How long an RPC waiting for its client's next request may wait. */
  readonly rpcIdleMs: number;
  readonly log: Logger;
  /** Observers (monitoring); unset or with none subscribed, turns report nothing. */
  readonly events?: EngineEvents;
}

const METHOD = 'ProcessCallerInput';

/** DTMF digits one request may carry: longer than any phone number (E.164: 15) or account number a caller keys in. */
export const MAX_DTMF_DIGITS = 32;

/** Caller audio held while the RPC waits (20 s of 16 kHz LINEAR16 is 640 000 bytes). */
export const MAX_QUEUED_AUDIO_BYTES = 1024 * 1024;

/** Requests held while the RPC waits for the conversation (about 20 s of 20 ms frames). */
const MAX_QUEUED = 1000;

type Phase = 'unbound' | 'binding' | 'waiting' | 'active' | 'closed';

/**
 * One ProcessCallerInput RPC, WxCC's unit of a turn: binds to its conversation on the first request, waits
 * for earlier RPCs of the same conversation (the ordering lock), feeds caller audio to the intake and inputs
 * to the agent exchange, and completes the RPC itself once the turn's responses are sent.
 */
export class Turn implements TurnHandle, LiveTurn, IntakeListener {
  private phase: Phase = 'unbound';
  private conv?: Conversation;
  private release?: () => void;
  private readonly queue: VoiceVARequest[] = [];
  /** Caller audio in `queue`, bytes. */
  private queuedAudio = 0;
  /** Async work (binding, starting, asking the agent) in progress; requests queue meanwhile, unless the input concluded. */
  private busy = false;
  private halfClosed = false;
  /** This turn's input is complete: later requests are dropped (audio may still serve barge-in). */
  private concluded = false;
  private intake?: AudioIntake;
  private exchange?: AgentExchange;
  /** Agent endpointing: an input other than audio ended the listening; it is taken once the listen call returned. */
  private listenEnded = false;
  private lastRequestAt = Date.now();
  private idleTimer?: NodeJS.Timeout;
  // ---- for observers only (per RPC, never per frame) ----
  private readonly openedAt = this.lastRequestAt;
  private conversationId = '';
  /** This RPC's number in its conversation; 0 until bound. */
  private rpcNo = 0;
  /** When the input this turn answers was complete (end of speech, the DTMF, the SESSION_START); 0 once the first reply went out. */
  private inputAt = 0;
  private firstReplyMs?: number;
  private welcome = false;

  constructor(private readonly host: TurnHost, private readonly sink: TurnSink) {
    this.armIdle(host.rpcIdleMs);
  }

  request(req: VoiceVARequest): void {
    this.lastRequestAt = Date.now();
    if (this.concluded) {
      // Frames after the input concluded never queue: an agent that endpoints (or barge-in) may want them, else they are dropped.
      // They are checked like any frame: a wrong one ends the RPC rather than being heard as something else.
      const intake = this.intake;
      if (req.audioInput !== undefined && intake !== undefined && this.phase === 'active') {
        const wrong = this.foreignError(req) ?? intake.frameError(req.audioInput);
        if (wrong) return this.fail(wrong);
        intake.push(req.audioInput.callerAudio);
      }
      return;
    }
    switch (this.phase) {
      case 'active':
        if (!this.busy && this.queue.length === 0) this.process(req);
        else this.enqueue(req);
        return;
      case 'binding':
      case 'waiting':
        this.enqueue(req);
        return;
      case 'unbound':
        void this.bind(req);
        return;
    }
  }

  halfClose(): void {
    if (this.phase === 'closed') return;
    this.halfClosed = true;
    if (this.phase === 'unbound') this.finish();
    else if (this.phase === 'active' && !this.busy && this.queue.length === 0) this.settle();
  }

  cancel(status: RpcStatus = 'CANCELLED'): void {
    if (this.phase === 'closed') return;
    this.conv?.log.debug({ status }, 'rpc cancelled');
    this.exchange?.abort('rpc cancelled');
    this.close(status);
  }

  /** The conversation ended elsewhere (hang-up, sweep, shutdown): the RPC completes quietly. */
  conversationEnded(): void {
    this.exchange?.abort('conversation ended');
    if (!this.busy) this.finish();
  }

  /** Read after an await: the RPC may have closed meanwhile. */
  private get closed(): boolean {
    return this.phase === 'closed';
  }

  // ---- IntakeListener ----

  get bargeable(): boolean {
    return this.exchange?.bargeable === true;
  }

  speechStarted(): void {
    this.send(START_OF_INPUT);
    const ev = this.events;
    if (ev) ev.emit({ type: 'speech_started', at: Date.now(), conversationId: this.conversationId, rpc: this.rpcNo });
  }

  utterance(input: Extract<CallerInput, { kind: 'speech' }>): void {
    this.send(END_OF_INPUT);
    this.inputAt = Date.now();
    const ev = this.events;
    if (ev) ev.emit({ type: 'speech_ended', at: this.inputAt, conversationId: this.conversationId, rpc: this.rpcNo, utteranceMs: Math.round(input.durationMs) });
    this.conclude(() => this.answer(input));
  }

  noInput(): void {
    this.send(NO_INPUT);
    this.inputAt = Date.now();
    const ev = this.events;
    if (ev) ev.emit({ type: 'no_input', at: this.inputAt, conversationId: this.conversationId, rpc: this.rpcNo });
    this.conclude(() => this.answer({ kind: 'no_input' }));
  }

  bargeIn(): void {
    this.exchange?.bargeIn();
  }

  // ---- binding and ordering ----

  private enqueue(req: VoiceVARequest): void {
    const bytes = req.audioInput === undefined ? 0 : req.audioInput.callerAudio.length;
    if (this.queue.length >= MAX_QUEUED || this.queuedAudio + bytes > MAX_QUEUED_AUDIO_BYTES) {
      this.fail(EngineError.exhausted('too many requests queued while an earlier RPC of this conversation is running'));
      return;
    }
    this.queuedAudio += bytes;
    this.queue.push(req);
  }

  private clearQueue(): void {
    this.queue.length = 0;
    this.queuedAudio = 0;
  }

  private async bind(first: VoiceVARequest): Promise<void> {
    this.phase = 'binding';
    this.conversationId = first.conversationId;
    this.queue.push(first);
    if (first.audioInput !== undefined) this.queuedAudio += first.audioInput.callerAudio.length;
    let conv: Conversation | undefined;
    try {
      conv = await this.host.bind(first);
    } catch (e) {
      if (e instanceof EngineError) return this.fail(e);
      // A store that fails (as a remote one can) costs this RPC, never the process.
      this.host.log.error({ err: e }, 'unexpected error in an RPC');
      return this.fail(EngineError.internal());
    }
    if (this.closed) return; // cancelled meanwhile
    if (!conv) return this.finish(); // nothing to do (hang-up of an unknown or ended conversation)
    this.conv = conv;
    conv.turns.add(this);
    this.rpcNo = ++conv.rpcCount;
    const ev = this.events;
    if (ev) ev.emit({ type: 'rpc_started', at: this.openedAt, conversationId: conv.id, rpc: this.rpcNo, method: METHOD });
    this.queue.shift();
    if (first.eventInput?.eventType === EventInput_EventType.SESSION_END) {
      // A hang-up does not wait behind an RPC still streaming audio: it ends the call, completing that RPC.
      this.observeInput({ kind: 'session_end' });
      this.phase = 'active';
      this.clearQueue();
      return this.conclude(() => this.host.endConversation(conv, 'caller_hangup'));
    }
    this.queue.unshift(first);
    this.phase = 'waiting';
    const release = await conv.lock();
    this.release = release;
    if (this.closed) return this.unlock();
    if (conv.ended) return this.finish();
    this.phase = 'active';
    this.drain();
  }

  private drain(): void {
    while (this.phase === 'active' && !this.busy && !this.concluded && this.queue.length > 0) {
      const req = this.queue.shift()!;
      if (req.audioInput !== undefined) this.queuedAudio -= req.audioInput.callerAudio.length;
      this.process(req);
    }
    if (this.concluded) this.clearQueue();
    if (this.phase === 'active' && !this.busy && this.halfClosed) this.settle();
  }

  /** Client half-closed with nothing queued: finish what is due. */
  private settle(): void {
    if (this.concluded || this.busy) return;
    const intake = this.intake;
    if (intake === undefined) return this.finish();
    if (this.exchange?.active) {
      // Agent endpointing: the agent decides when the input is over; its reply is due within the deadline.
      this.exchange.armDeadline();
      return;
    }
    this.busy = true;
    // Decisions on the last audio may still be on their way (neural inference): wait for them first.
    void intake.flush().then((speaking) => {
      // Decided meanwhile (the flush's own decisions, a timer): that work holds the turn now and ends it.
      if (this.concluded) return;
      this.busy = false;
      // Cancelled meanwhile: close() left the lock to this work.
      if (this.phase === 'closed') return this.unlock();
      // Ended elsewhere meanwhile (conversationEnded() waited for this work): nothing is asked of the agent any more.
      if (this.conv!.ended) return this.finish();
      if (speaking) intake.finishUtterance(); // the caller's words are not dropped
      else this.finish();
    });
  }

  private process(req: VoiceVARequest): void {
    const conv = this.conv!;
    if (req.audioInput !== undefined) {
      const foreign = this.foreignError(req);
      return foreign ? this.fail(foreign) : this.onAudio(req.audioInput);
    }
    if (this.exchange?.active) {
      // The agent is listening (nothing else runs while the turn is not busy): that stops for this input.
      this.busy = true;
      this.listenEnded = true;
      this.queue.push(req);
      this.exchange.endCall('caller input');
      return;
    }
    const foreign = this.foreignError(req);
    if (foreign) return this.fail(foreign);
    if (req.dtmfInput !== undefined) {
      if (req.dtmfInput.dtmfEvents.length > MAX_DTMF_DIGITS) {
        return this.fail(EngineError.invalidArgument(`dtmf_input carries ${req.dtmfInput.dtmfEvents.length} digits; at most ${MAX_DTMF_DIGITS} are accepted`));
      }
      const digits = dtmfEventsToDigits(req.dtmfInput.dtmfEvents);
      if (!digits) return this.fail(EngineError.invalidArgument('dtmf_input carries no valid DTMF digits'));
      if (this.events) this.observeInput({ kind: 'dtmf', digitCount: digits.length, digits: this.payloadsAllowed() ? digits : undefined });
      this.inputAt = Date.now();
      return this.conclude(() => this.answer({ kind: 'dtmf', digits }));
    }
    const ev = req.eventInput;
    if (ev === undefined) return this.fail(EngineError.invalidArgument('request has no input: set audio_input, dtmf_input or event_input'));
    switch (ev.eventType) {
      case EventInput_EventType.SESSION_START:
        this.observeInput({ kind: 'session_start' });
        this.inputAt = Date.now();
        this.welcome = true;
        return this.conclude(() => this.startSession());
      case EventInput_EventType.SESSION_END:
        this.observeInput({ kind: 'session_end' });
        return this.conclude(() => this.host.endConversation(conv, 'caller_hangup'));
      case EventInput_EventType.START_OF_DTMF:
        this.observeInput({ kind: 'start_of_dtmf' });
        this.concluded = true;
        return this.finish();
      case EventInput_EventType.NO_INPUT:
        this.observeInput({ kind: 'no_input' });
        this.inputAt = Date.now();
        return this.conclude(() => this.answer({ kind: 'no_input' }));
      case EventInput_EventType.CUSTOM_EVENT:
        if (this.events) this.observeInput({ kind: 'event', name: ev.name, parameters: this.payloadsAllowed() ? ev.parameters : undefined });
        this.inputAt = Date.now();
        return this.conclude(() => this.answer({ kind: 'event', name: ev.name, parameters: ev.parameters }));
      default:
        return this.fail(EngineError.invalidArgument(`unsupported event_input type ${ev.eventType}`));
    }
  }

  // ---- caller audio (per frame: no logging, no allocation) ----

  /** A request naming another conversation than the RPC's (audio included: one string comparison per frame). */
  private foreignError(req: VoiceVARequest): EngineError | undefined {
    const id = req.conversationId;
    if (id === '' || id === this.conv!.id) return undefined;
    return EngineError.invalidArgument(`conversation_id changed within the RPC (bound to ${this.conv!.id})`);
  }

  private onAudio(v: VoiceInput): void {
    const intake = this.intake;
    if (intake === undefined) return this.openAudio(v);
    const wrong = intake.frameError(v);
    if (wrong) return this.fail(wrong);
    intake.push(v.callerAudio);
  }

  private openAudio(first: VoiceInput): void {
    const conv = this.conv!;
    const agentEndpoints = conv.agent.endpointing === 'agent';
    let intake: AudioIntake;
    try {
      intake = new AudioIntake(
        first,
        {
          ...this.host.audio,
          forward: agentEndpoints ? (pcm) => conv.session?.audio?.(pcm) : undefined,
          agentRate: conv.agent.speechAudioRate,
          captureSpeech: conv.agent.speechAudio,
          expect: conv.expect,
          noBargeInUntil: conv.state.noBargeInUntil,
          promptsEndAt: conv.state.promptsEndAt,
          endpointer: (rate, listener, endSilenceMs) => this.host.endpointer(rate, listener, endSilenceMs),
          record: conv.recording ? (rate, sensitive, now) => (conv.recording as CallRecording).callerInput(rate, sensitive, now) : undefined,
        },
        this,
      );
    } catch (e) {
      if (e instanceof EngineError) return this.fail(e);
      throw e;
    }
    this.intake = intake;
    if (this.events) this.observeInput({ kind: 'audio', encoding: intake.encoding, sampleRateHz: intake.sampleRate });
    if (agentEndpoints) {
      // The agent hears the audio as it comes and says itself when the caller starts and stops.
      this.busy = true;
      void this.listen(intake, first).finally(() => {
        if (this.listenEnded && this.phase === 'active') {
          this.busy = false;
          this.drain();
        } else this.afterWork();
      });
      return;
    }
    intake.push(first.callerAudio);
  }

  /** Agent endpointing: the session listens until it has answered the caller's speech. */
  private async listen(intake: AudioIntake, first: VoiceInput): Promise<void> {
    if (!(await this.ensureStarted())) return;
    const rate = this.conv!.agent.speechAudioRate ?? intake.sampleRate;
    const listening = this.agent().call(
      'listen',
      (s, signal) => {
        if (!s.listen) return Promise.reject(new Error('the session has no listen()'));
        const call = s.listen({ sampleRate: rate, languageCode: first.languageCode }, signal);
        // The stream's audio follows its start: the first frame, then what queued while the session was started.
        this.busy = false;
        intake.push(first.callerAudio);
        this.drain();
        return call;
      },
      { deadlineFromEndOfInput: true },
    );
    await listening;
    this.busy = true;
  }

  // ---- asking the agent ----

  private agent(): AgentExchange {
    const conv = this.conv!;
    const host = this;
    if (this.exchange) return this.exchange;
    const base = this.host.exchange;
    // Observed: the turn reports each reply it sent (a wrapper per RPC, only while someone listens).
    const services: ExchangeServices = this.events
      ? { ...base, replySent: (c, sent) => {
          // Reported first: a terminal reply ends the conversation inside replySent.
          host.replied(sent);
          base.replySent(c, sent);
        } }
      : base;
    return (this.exchange = new AgentExchange(conv, {
      send: (r) => host.send(r),
      startOfInput: () => {
        host.send(START_OF_INPUT);
        const ev = host.events;
        if (ev) ev.emit({ type: 'speech_started', at: Date.now(), conversationId: host.conversationId, rpc: host.rpcNo });
      },
      endOfInput: () => {
        host.send(END_OF_INPUT);
        host.inputAt = Date.now();
        const ev = host.events;
        if (ev) ev.emit({ type: 'speech_ended', at: host.inputAt, conversationId: host.conversationId, rpc: host.rpcNo, utteranceMs: 0 });
        host.concluded = true;
        host.exchange?.armDeadline();
      },
    }, services));
  }

  /** Runs the turn's one piece of async work, then saves the conversation and completes the RPC. */
  private conclude(work: () => Promise<unknown>): void {
    this.concluded = true;
    this.clearQueue();
    this.intake?.conclude();
    this.busy = true;
    work()
      .catch((e) => this.conv!.log.error({ err: e }, 'turn failed'))
      .finally(() => this.afterWork());
  }

  private afterWork(): void {
    const conv = this.conv!;
    const save = conv.ended ? Promise.resolve() : this.host.saveState(conv);
    save
      .catch((err) => conv.log.error({ err }, 'conversation state could not be saved'))
      .finally(() => {
        this.busy = false;
        if (this.phase === 'closed') this.unlock();
        else this.finish();
      });
  }

  private async startSession(): Promise<void> {
    const conv = this.conv!;
    if (conv.sessionStarted && conv.state.started) {
      conv.log.warn('repeated SESSION_START ignored');
      return;
    }
    conv.sessionStarted = conv.state.started = true;
    const r = await this.agent().call('start', (s, signal) => s.start({ resumed: false }, signal));
    if (r !== 'replied') conv.sessionStarted = conv.state.started = false; // the next input retries the start
  }

  /** A conversation whose agent session is not running here (state lost in a restart, or taken over) is started silently. */
  private async ensureStarted(): Promise<boolean> {
    const conv = this.conv!;
    if (conv.sessionStarted) return true;
    conv.sessionStarted = conv.state.started = true;
    conv.log.info('conversation resumed without SESSION_START');
    const r: ExchangeResult = await this.agent().call('start', (s, signal) => s.start({ resumed: true }, signal), { silent: true });
    if (r !== 'replied') conv.sessionStarted = conv.state.started = false;
    if (r === 'failed') await this.agent().call('apology', () => Promise.reject(new Error('start failed')));
    return r === 'replied';
  }

  private async answer(input: CallerInput): Promise<void> {
    if (!(await this.ensureStarted())) return;
    await this.agent().call(input.kind, (s, signal) => s.input(input, signal));
  }

  // ---- completion ----

  private send(r: VoiceVAResponse): void {
    if (this.phase === 'closed') return;
    if (this.inputAt !== 0 && r.responseType !== VoiceVAResponse_ResponseType.PARTIAL) {
      this.firstReplyMs = Date.now() - this.inputAt;
      this.inputAt = 0;
    }
    this.sink.send(r);
  }

  // ---- observers ----

  /** The observers, when someone listens: read at each use (a dashboard may connect mid-call). */
  private get events(): EngineEvents | undefined {
    const ev = this.host.events;
    return ev !== undefined && ev.listening ? ev : undefined;
  }

  /** Digits and event parameters are observed only when asked for, and never for an input the agent marked sensitive. */
  private payloadsAllowed(): boolean {
    return this.host.events?.capturePayloads === true && this.conv?.expect.sensitive !== true;
  }

  private observeInput(input: RpcInput): void {
    const ev = this.events;
    if (ev) ev.emit({ type: 'rpc_input', at: Date.now(), conversationId: this.conversationId, rpc: this.rpcNo, input });
  }

  private replied(sent: SentReply): void {
    const ev = this.events;
    if (!ev) return;
    const { reply, input: i } = sent;
    const events: ReplySummary['events'] = [];
    if (reply.end) events.push({ type: reply.end.kind === 'transfer' ? 'TRANSFER_TO_AGENT' : 'SESSION_END', name: reply.end.name ?? (reply.end.kind === 'transfer' ? 'transfer_requested' : 'session_ended') });
    else if (reply.event) events.push({ type: 'CUSTOM_EVENT', name: reply.event.name });
    const summary: ReplySummary = {
      prompts: sent.prompts,
      events,
      input: { mode: i.mode, dtmf: { ...i.dtmf }, speech: { completeTimeoutMs: i.speech.completeTimeoutMs, incompleteTimeoutMs: i.speech.incompleteTimeoutMs, maxSpeechMs: i.speech.maxSpeechMs, noInputTimeoutMs: i.speech.noInputTimeoutMs }, bargeIn: i.bargeIn, sensitive: i.sensitive },
      apology: reply.end === undefined && reply.event?.name === ERROR_EVENT_NAME,
    };
    const latencyMs = this.firstReplyMs;
    this.firstReplyMs = undefined;
    ev.emit({ type: 'reply', at: Date.now(), conversationId: this.conversationId, rpc: this.rpcNo, reply: summary, latencyMs, welcome: this.welcome });
    this.welcome = false;
  }

  private finish(): void {
    if (this.phase === 'closed') return;
    // A call still running (an agent listening when START_OF_DTMF completes the RPC) ends with the RPC.
    if (this.exchange?.active) this.exchange.abort('rpc completed');
    this.close('OK');
    this.sink.complete();
  }

  private fail(e: EngineError): void {
    if (this.phase === 'closed') return;
    (this.conv?.log ?? this.host.log).info({ code: e.code, reason: e.message }, 'rpc rejected');
    this.exchange?.abort('rpc failed');
    this.close(e.code.toUpperCase());
    this.sink.fail(e);
  }

  private close(status: RpcStatus): void {
    this.phase = 'closed';
    const ev = this.events;
    if (ev) {
      const at = Date.now();
      ev.emit({ type: 'rpc_ended', at, conversationId: this.conversationId, rpc: this.rpcNo, method: METHOD, status, durationMs: at - this.openedAt, started: this.rpcNo !== 0 });
    }
    this.clearQueue();
    this.intake?.close();
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    const conv = this.conv;
    if (conv) {
      conv.turns.delete(this);
      conv.state.lastActivityAt = Date.now();
    }
    if (!this.busy) this.unlock();
  }

  private unlock(): void {
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  // ---- a client that goes quiet ----

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => this.checkIdle(), ms);
    this.idleTimer.unref();
  }

  /** Only a turn waiting for its client's next request can be idle; the agent's time is bounded by its deadline. */
  private checkIdle(): void {
    if (this.phase === 'closed') return;
    const idleMs = this.host.rpcIdleMs;
    const quiet = Date.now() - this.lastRequestAt;
    if (this.halfClosed || this.busy || this.concluded || this.exchange?.active || quiet < idleMs) {
      return this.armIdle(Math.max(idleMs - quiet, 100));
    }
    if (this.intake?.isSpeaking) return this.intake.finishUtterance();
    this.fail(EngineError.deadlineExceeded(`no request received for ${Math.round(idleMs / 1000)} s`));
  }
}
