import { type AudioEncoding, decodeToPcm16, resamplePcm16 } from '@app/audio';
import type { AgentReply, CallerInput, ConnectorCallContext, RequestReplyConnector } from '@app/connector-sdk';
import type { Logger } from '@app/config';
import { EventInput_EventType, VoiceInput, VoiceInput_VoiceEncoding, VoiceVARequest, VoiceVAResponse } from '@app/proto';
import type { Conversation, LiveTurn } from './conversation';
import { SpeechEndpointer, SpeechEvent, SpeechEventListener } from '@app/endpointing';
import { EngineError } from './engine-error';
import { dtmfEventsToDigits, ResolvedInput, resolveInput } from './next-input';
import { buildEmptyReply, buildReplyResponses, END_OF_INPUT, errorReply, NO_INPUT, promptPlayback, START_OF_INPUT } from './reply-builder';
import type { CallerInput as RecordedInput, CallRecording } from '@app/recording';
import { UtteranceBuffer } from './utterance-buffer';

/** Where one RPC's responses go; the gRPC controller adapts it to the response stream. */
export interface TurnSink {
  send(response: VoiceVAResponse): void;
  /** Completes the RPC with status OK. */
  complete(): void;
  fail(error: EngineError): void;
}

/** What the transport drives: the RPC's requests, its half-close, and its cancellation. */
export interface TurnHandle {
  request(req: VoiceVARequest): void;
  halfClose(): void;
  cancel(): void;
}

/** The engine services a turn uses. */
export interface TurnHost {
  bind(first: VoiceVARequest): Conversation | undefined;
  endConversation(conversation: Conversation, reason: 'caller_hangup' | 'agent_ended' | 'transferred'): Promise<void>;
  endpointer(sampleRate: number, listener: SpeechEventListener): SpeechEndpointer;
  /** The call's recording, when its agent records calls. */
  recording?(conv: Conversation): CallRecording | undefined;
  readonly audio: { fallbackSampleRate: number; preRollMs: number };
  readonly log: Logger;
}

const ENCODINGS: Record<number, AudioEncoding | undefined> = {
  [VoiceInput_VoiceEncoding.UNSPECIFIED_FORMAT]: 'mulaw',
  [VoiceInput_VoiceEncoding.LINEAR16_FORMAT]: 'linear16',
  [VoiceInput_VoiceEncoding.MULAW_FORMAT]: 'mulaw',
  [VoiceInput_VoiceEncoding.ALAW_FORMAT]: 'alaw',
};
const SUPPORTED_RATES = new Set([8000, 16000]);
const NO_AUDIO = new Int16Array(0);
/** Requests held while the RPC waits for the conversation (about 20 s of 20 ms frames). */
const MAX_QUEUED = 1000;

/** Caller audio of one RPC: its declared format, endpointer and utterance. */
interface AudioIntake {
  encodingCode: number;
  encoding: AudioEncoding;
  sampleRate: number;
  endpointer: SpeechEndpointer;
  utterance: UtteranceBuffer | undefined;
  speaking: boolean;
  /** Half-close handling waits for the endpointer's pending decisions once. */
  flushing: boolean;
  flushed: boolean;
  scratch: Int16Array;
  samples: number;
  speechStartSample: number;
  /** Audio up to here falls inside a prompt that cannot be barged in. */
  deafUntilSample: number;
  /** The no-input timer starts when the prompts have played. */
  promptEndSample: number;
  noInputSamples: number;
  maxSpeechSamples: number;
  languageCode: string;
  record: RecordedInput | undefined;
}

type Phase = 'unbound' | 'waiting' | 'active' | 'closed';

/**
 * One ProcessCallerInput RPC: WxCC's unit of a turn. Binds to its conversation on the first request,
 * waits for earlier RPCs of the same conversation, runs the input through the agent and completes
 * the RPC itself once the turn's responses are sent.
 */
export class Turn implements TurnHandle, LiveTurn {
  private phase: Phase = 'unbound';
  private conv?: Conversation;
  private release?: () => void;
  private readonly queue: VoiceVARequest[] = [];
  /** Waiting on the connector; requests queue meanwhile. */
  private busy = false;
  private halfClosed = false;
  /** This turn's input is complete; later requests are ignored. */
  private concluded = false;
  /** Made on the first connector call only: most RPCs (audio frames, DTMF starts) never need one. */
  private abortController?: AbortController;
  private abortReason?: string;
  private audio?: AudioIntake;

  constructor(private readonly host: TurnHost, private readonly sink: TurnSink) {}

  request(req: VoiceVARequest): void {
    switch (this.phase) {
      case 'active':
        if (!this.busy && this.queue.length === 0) this.process(req);
        else this.enqueue(req);
        return;
      case 'waiting':
        this.enqueue(req);
        return;
      case 'unbound':
        this.bind(req);
        return;
    }
  }

  halfClose(): void {
    if (this.phase === 'closed') return;
    this.halfClosed = true;
    if (this.phase === 'unbound') this.finish();
    else if (this.phase === 'active' && !this.busy && this.queue.length === 0) this.settle();
  }

  cancel(): void {
    if (this.phase === 'closed') return;
    this.conv?.log.debug('rpc cancelled by the client');
    this.close();
    this.abortCalls('rpc cancelled');
  }

  /** The conversation ended elsewhere (reaper, shutdown, another RPC): complete this RPC. */
  conversationEnded(): void {
    this.abortCalls('conversation ended');
    if (!this.busy) this.finish();
  }

  private abortCalls(reason: string): void {
    this.abortReason ??= reason;
    this.abortController?.abort(reason);
  }

  /** The signal connector calls of this RPC get; already aborted if the RPC is over. */
  private signal(): AbortSignal {
    if (!this.abortController) {
      this.abortController = new AbortController();
      if (this.abortReason !== undefined) this.abortController.abort(this.abortReason);
    }
    return this.abortController.signal;
  }

  private enqueue(req: VoiceVARequest): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.fail(EngineError.exhausted('too many requests queued while an earlier RPC of this conversation is running'));
      return;
    }
    this.queue.push(req);
  }

  private bind(first: VoiceVARequest): void {
    let conv: Conversation | undefined;
    try {
      conv = this.host.bind(first);
    } catch (e) {
      if (e instanceof EngineError) return this.fail(e);
      throw e;
    }
    if (!conv) return this.finish(); // nothing to do (hang-up of an unknown conversation)
    this.conv = conv;
    conv.turns.add(this);
    if (first.eventInput?.eventType === EventInput_EventType.SESSION_END) {
      // A hang-up does not wait behind an RPC still streaming audio: it ends the call, completing that RPC.
      this.phase = 'active';
      return this.conclude(() => this.host.endConversation(conv, 'caller_hangup'));
    }
    this.phase = 'waiting';
    this.queue.push(first);
    void conv.lock().then((release) => {
      this.release = release;
      if (this.phase === 'closed') return this.unlock();
      if (conv.ended) return this.finish();
      this.phase = 'active';
      this.drain();
    });
  }

  private drain(): void {
    while (this.phase === 'active' && !this.busy && this.queue.length > 0) this.process(this.queue.shift()!);
    if (this.phase === 'active' && !this.busy && this.halfClosed) this.settle();
  }

  /** Client half-closed with nothing queued: finish what is due. */
  private settle(): void {
    if (this.concluded) return;
    const a = this.audio;
    if (a?.flushing) return;
    if (a?.endpointer.flush && !a.flushed) {
      // Decisions on the last audio may still be on their way (neural inference): wait for them first.
      a.flushing = true;
      void a.endpointer.flush().then(() => {
        a.flushing = false;
        a.flushed = true;
        if (this.phase === 'active' && !this.busy) this.settle();
      });
      return;
    }
    if (a?.speaking) return this.endOfInput(); // the caller's words are not dropped
    this.finish();
  }

  private process(req: VoiceVARequest): void {
    if (this.concluded) return;
    const conv = this.conv!;
    if (req.audioInput !== undefined) return this.onAudio(req.audioInput);
    if (req.conversationId && req.conversationId !== conv.id) {
      return this.fail(EngineError.invalidArgument(`conversation_id changed within the RPC (bound to ${conv.id})`));
    }
    if (req.dtmfInput !== undefined) {
      const digits = dtmfEventsToDigits(req.dtmfInput.dtmfEvents);
      if (!digits) return this.fail(EngineError.invalidArgument('dtmf_input carries no valid DTMF digits'));
      return this.conclude(() => this.answer({ kind: 'dtmf', digits }));
    }
    const ev = req.eventInput;
    if (ev === undefined) return this.fail(EngineError.invalidArgument('request has no input: set audio_input, dtmf_input or event_input'));
    switch (ev.eventType) {
      case EventInput_EventType.SESSION_START:
        return this.conclude(() => this.startSession());
      case EventInput_EventType.SESSION_END:
        return this.conclude(() => this.host.endConversation(conv, 'caller_hangup'));
      case EventInput_EventType.START_OF_DTMF:
        this.concluded = true;
        return this.finish();
      case EventInput_EventType.NO_INPUT:
        return this.conclude(() => this.answer({ kind: 'no_input' }));
      case EventInput_EventType.CUSTOM_EVENT:
        return this.conclude(() => this.answer({ kind: 'event', name: ev.name, parameters: ev.parameters }));
      default:
        return this.fail(EngineError.invalidArgument(`unsupported event_input type ${ev.eventType}`));
    }
  }

  // ---- caller audio (per frame: no logging, no allocation beyond buffer growth) ----

  private onAudio(v: VoiceInput): void {
    let a = this.audio;
    if (a === undefined) {
      a = this.openAudio(v);
      if (a === undefined) return;
    } else if ((v.encoding !== 0 && v.encoding !== a.encodingCode) || (v.sampleRateHertz !== 0 && v.sampleRateHertz !== a.sampleRate)) {
      return this.fail(EngineError.invalidArgument(
        `audio format changed within the RPC: encoding ${v.encoding} at ${v.sampleRateHertz} Hz after encoding ${a.encodingCode} at ${a.sampleRate} Hz`,
      ));
    }
    const bytes = v.callerAudio;
    const need = a.encoding === 'linear16' ? bytes.length >> 1 : bytes.length;
    // Exactly sized, so decoding returns the buffer itself (frames of an RPC are normally all one size).
    if (need !== a.scratch.length) a.scratch = new Int16Array(need);
    const pcm = decodeToPcm16(bytes, a.encoding, a.scratch);
    a.record?.push(pcm);
    // Capture first, so a start decided on this frame finds it in the pre-roll.
    const u = a.utterance;
    if (u !== undefined) {
      if (a.speaking) u.append(pcm);
      else u.remember(pcm);
    }
    a.samples += pcm.length;
    // While a prompt that cannot be barged in plays, the caller's audio is not listened to.
    if (a.samples > a.deafUntilSample) a.endpointer.push(pcm);
    if (this.concluded) return; // the endpointer ended the input

    if (a.speaking) {
      if (a.maxSpeechSamples > 0 && a.samples - a.speechStartSample >= a.maxSpeechSamples) this.endOfInput();
    } else if (a.noInputSamples > 0 && a.samples - a.promptEndSample >= a.noInputSamples) {
      this.send(NO_INPUT);
      this.conclude(() => this.answer({ kind: 'no_input' }));
    }
  }

  private onSpeech(event: SpeechEvent, atSample: number): void {
    const a = this.audio;
    if (a === undefined || this.concluded || this.phase === 'closed') return;
    if (event === SpeechEvent.Started) {
      if (a.speaking) return;
      a.speaking = true;
      a.utterance?.begin();
      a.speechStartSample = atSample;
      this.send(START_OF_INPUT);
    } else if (a.speaking) {
      this.endOfInput();
    }
  }

  private openAudio(v: VoiceInput): AudioIntake | undefined {
    const encoding = ENCODINGS[v.encoding];
    if (encoding === undefined) {
      this.fail(EngineError.invalidArgument(`unsupported audio encoding ${v.encoding}: use LINEAR16_FORMAT, MULAW_FORMAT or ALAW_FORMAT`));
      return undefined;
    }
    const sampleRate = v.sampleRateHertz || this.host.audio.fallbackSampleRate;
    if (!SUPPORTED_RATES.has(sampleRate)) {
      this.fail(EngineError.invalidArgument(`unsupported sample rate ${sampleRate} Hz: use 8000 or 16000`));
      return undefined;
    }
    const conv = this.conv!;
    const expect = conv.expect;
    const perMs = sampleRate / 1000;
    // Prompt playback is wall-clock time from the reply; turned into audio positions once, not per frame.
    const now = Date.now();
    this.audio = {
      encodingCode: v.encoding,
      encoding,
      sampleRate,
      endpointer: this.host.endpointer(sampleRate, (event, at) => this.onSpeech(event, at)),
      deafUntilSample: Math.max(0, conv.noBargeInUntil - now) * perMs,
      promptEndSample: Math.max(0, conv.promptsEndAt - now) * perMs,
      // Only agents that listen to the caller's audio get it collected.
      utterance: this.conv!.agent.speechAudio ? new UtteranceBuffer(Math.round(this.host.audio.preRollMs * perMs), sampleRate * 5) : undefined,
      speaking: false,
      flushing: false,
      flushed: false,
      scratch: new Int16Array(0),
      samples: 0,
      speechStartSample: 0,
      noInputSamples: Math.round(expect.speech.noInputTimeoutMs * perMs),
      maxSpeechSamples: Math.round(expect.speech.maxSpeechMs * perMs),
      languageCode: v.languageCode,
      // The answer before this input decides whether it may be recorded (input_sensitive).
      record: this.host.recording?.(conv)?.callerInput(sampleRate, expect.sensitive, now),
    };
    return this.audio;
  }

  private endOfInput(): void {
    const a = this.audio!;
    a.speaking = false;
    const captured = a.utterance?.take() ?? NO_AUDIO;
    const durationMs = ((a.utterance ? captured.length : a.samples - a.speechStartSample) * 1000) / a.sampleRate;
    // The one conversion step to the rate the connector asked for.
    const rate = this.conv!.agent.speechAudioRate ?? a.sampleRate;
    const audio = rate === a.sampleRate || captured.length === 0 ? captured : resamplePcm16(captured, a.sampleRate, rate);
    this.send(END_OF_INPUT);
    this.conclude(() => this.answer({ kind: 'speech', audio, sampleRate: rate, durationMs, languageCode: a.languageCode }));
  }

  // ---- asking the agent ----

  /** Runs the turn's one piece of async work, then completes the RPC. */
  private conclude(work: () => Promise<void>): void {
    this.concluded = true;
    this.busy = true;
    work()
      .catch((e) => this.conv!.log.error({ err: e }, 'turn failed'))
      .finally(() => {
        this.busy = false;
        if (this.phase === 'closed') this.unlock();
        else this.finish();
      });
  }

  private async startSession(): Promise<void> {
    const conv = this.conv!;
    if (conv.started) {
      conv.log.warn('repeated SESSION_START ignored');
      return;
    }
    conv.started = true;
    const reply = await this.callAgent('start', (ctx) => (conv.agent.connector as RequestReplyConnector).start(ctx, { resumed: false }));
    if (reply === undefined) conv.started = false; // the next input retries the start
    else this.sendReply(reply);
  }

  /** A conversation that never saw SESSION_START (e.g. state lost in a restart) is started silently. */
  private async ensureStarted(): Promise<boolean> {
    const conv = this.conv!;
    if (conv.started) return true;
    conv.started = true;
    conv.log.info('conversation resumed without SESSION_START');
    const welcome = await this.callAgent('start', (ctx) => (conv.agent.connector as RequestReplyConnector).start(ctx, { resumed: true }));
    if (welcome === undefined) conv.started = false;
    return welcome !== undefined;
  }

  private async answer(input: CallerInput): Promise<void> {
    if (!(await this.ensureStarted())) return;
    const conv = this.conv!;
    const reply = await this.callAgent(input.kind, (ctx) => (conv.agent.connector as RequestReplyConnector).handleInput(ctx, input));
    if (reply !== undefined) this.sendReply(reply);
  }

  /** Calls the connector; on failure sends the agent's apology and returns undefined. */
  private async callAgent<T>(op: string, call: (ctx: ConnectorCallContext) => Promise<T>): Promise<T | undefined> {
    const conv = this.conv!;
    const ctx = conv.context(this.signal());
    try {
      return await call(ctx);
    } catch (err) {
      if (this.phase === 'closed') return undefined;
      conv.log.error({ err, op }, 'connector failed');
      let apology: AgentReply | undefined;
      try {
        apology = conv.agent.connector.errorReply?.(ctx);
      } catch {
        apology = undefined;
      }
      const reply = errorReply(apology);
      for (const r of buildReplyResponses(reply, conv.replyMode, conv.expect)) this.send(r);
      this.notePlayback(reply, conv.expect);
      return undefined;
    }
  }

  private sendReply(reply: AgentReply | null): void {
    const conv = this.conv!;
    if (reply === null) {
      this.send(buildEmptyReply(conv.expect));
      return;
    }
    const input = resolveInput(conv.baseInput, reply.next);
    for (const r of buildReplyResponses(reply, conv.replyMode, input)) this.send(r);
    conv.expect = input;
    this.notePlayback(reply, input);
    if (reply.end) {
      conv.log.info({ outcome: reply.end.kind, name: reply.end.name }, 'agent ended the call');
      void this.host.endConversation(conv, reply.end.kind === 'transfer' ? 'transferred' : 'agent_ended');
    }
  }

  /** Remembers when the prompts just sent will have played, for the next audio RPC's barge-in and no-input timing. */
  private notePlayback(reply: AgentReply, input: ResolvedInput): void {
    const conv = this.conv!;
    const { totalMs, noBargeInMs } = promptPlayback(reply, input);
    const now = Date.now();
    conv.promptsEndAt = now + totalMs;
    conv.noBargeInUntil = now + noBargeInMs;
    this.host.recording?.(conv)?.agentPrompts(reply.prompts, now);
  }

  // ---- completion ----

  private send(r: VoiceVAResponse): void {
    if (this.phase !== 'closed') this.sink.send(r);
  }

  private finish(): void {
    if (this.phase === 'closed') return;
    this.close();
    this.sink.complete();
  }

  private fail(e: EngineError): void {
    if (this.phase === 'closed') return;
    this.conv?.log.info({ code: e.code, reason: e.message }, 'rpc rejected');
    this.close();
    this.sink.fail(e);
  }

  private close(): void {
    this.phase = 'closed';
    this.queue.length = 0;
    this.audio?.endpointer.close();
    const conv = this.conv;
    if (conv) {
      conv.turns.delete(this);
      conv.lastActivityAt = Date.now();
    }
    if (!this.busy) this.unlock();
  }

  private unlock(): void {
    const release = this.release;
    this.release = undefined;
    release?.();
  }
}
