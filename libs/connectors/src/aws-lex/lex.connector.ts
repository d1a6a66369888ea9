import type { SessionState } from '@aws-sdk/client-lex-runtime-v2';
import { type AudioFormat, resamplePcm16 } from '@app/audio';
import type { Logger } from '@app/config';
import type {
  AgentDescriptor,
  AgentPrompt,
  AgentReply,
  CallerInput,
  ConnectorCallContext,
  ConnectorCapabilities,
  EndReason,
  NextInput,
  RequestReplyConnector,
} from '@app/connector-sdk';
import type { BotDirectory, LexBot } from './lex-bots';
import { type LexResult, classify, currentIntent, heardNothing, messageTexts, outcomeMetadata } from './lex-result';
import { CircuitBreaker, CircuitOpenError, type RetryClock, withRetries } from './lex-resilience';
import {
  applyDtmfDeletion,
  dtmfDeletionCharacter,
  eventAttributes,
  lexSessionId,
  nextInputFromAttributes,
} from './lex-session';
import type { LexConfig } from './lex.config';
import type { LexRuntime } from './runtime/lex-runtime';

const LPCM_8K = 'audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false';
const L16_16K = 'audio/l16; rate=16000; channels=1';
const TEXT = 'text/plain; charset=utf-8';
const DELETE_TIMEOUT_MS = 2000;

/** What the connector keeps per conversation. */
interface CallState {
  bot: LexBot;
  sessionId: string;
  /** Lex's session attributes plus the flow's, sent back on every request. */
  attributes: Record<string, string>;
  /** Lex's last dialog state. */
  lexState?: SessionState;
  lastPrompts: AgentPrompt[];
  lastNext?: NextInput;
  /** Lex's DTMF deletion character for the next input, when it set one. */
  deletion?: string;
  noInputs: number;
  failedTurns: number;
}

export interface LexConnectorOptions {
  id: string;
  config: LexConfig;
  directory: BotDirectory;
  /** Lex's runtime API; its replies' audio comes already in `promptFormat`. */
  runtime: LexRuntime;
  promptFormat: AudioFormat;
  logger: Logger;
  clock?: RetryClock;
  /** The apology, in the call's format when an audio file was configured. */
  apology: AgentPrompt;
  /** Releases what the factory opened besides the runtime client (the discovery client). */
  dispose?: () => void;
}

/** Amazon Lex V2 bots as agents, one RecognizeUtterance per turn. */
export class LexConnector implements RequestReplyConnector {
  private readonly calls = new Map<string, CallState>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly cfg: LexConfig;

  constructor(private readonly o: LexConnectorOptions) {
    this.cfg = o.config;
  }

  listAgents(): AgentDescriptor[] {
    return this.o.directory.list().map((b) => ({ id: b.agentId, name: b.name }));
  }

  capabilities(): ConnectorCapabilities {
    // Lex takes 8 kHz LPCM and 16 kHz L16 as they are: no speechAudioRate, so no resampling.
    return { replyModes: ['wav', 'chunk'], speechAudio: true };
  }

  /** For health: discovery and the bots' circuits. */
  health(): { degraded: boolean; discovery: BotDirectory['status']; openCircuits: string[] } {
    const openCircuits = [...this.breakers].filter(([, b]) => b.state !== 'closed').map(([name]) => name);
    const discovery = this.o.directory.status;
    return { degraded: !discovery.healthy || openCircuits.length > 0, discovery, openCircuits };
  }

  errorReply(): AgentReply {
    return { prompts: [this.o.apology] };
  }

  async start(ctx: ConnectorCallContext, info: { resumed: boolean }): Promise<AgentReply> {
    const bot = this.o.directory.find(ctx.agentId);
    if (!bot) throw new Error(`no Lex bot for agent ${ctx.agentId}`);
    const call: CallState = { bot, sessionId: lexSessionId(ctx.conversationId), attributes: {}, lastPrompts: [], noInputs: 0, failedTurns: 0 };
    this.calls.set(ctx.conversationId, call);
    // A resumed call keeps its Lex session (same session id); it only needs no second greeting.
    if (info.resumed) return { prompts: [] };
    const w = this.cfg.welcome;
    const state: SessionState | undefined = w.intent ? { dialogAction: { type: 'Delegate' }, intent: { name: w.intent } } : undefined;
    return this.turn(ctx, call, { contentType: TEXT, body: Buffer.from(w.text ?? w.intent ?? ''), state });
  }

  async handleInput(ctx: ConnectorCallContext, input: CallerInput): Promise<AgentReply | null> {
    const call = this.calls.get(ctx.conversationId);
    if (!call) throw new Error('conversation not started');
    switch (input.kind) {
      case 'speech':
        return this.turn(ctx, call, { ...speechRequest(input.audio, input.sampleRate), fromCaller: true });
      case 'dtmf':
        return this.turn(ctx, call, { contentType: TEXT, body: Buffer.from(applyDtmfDeletion(input.digits, call.deletion)), fromCaller: true });
      case 'no_input':
        return this.noInput(call);
      case 'event':
        Object.assign(call.attributes, eventAttributes(input.parameters));
        return null;
    }
  }

  async end(ctx: ConnectorCallContext, _reason: EndReason): Promise<void> {
    const call = this.calls.get(ctx.conversationId);
    this.calls.delete(ctx.conversationId);
    if (!call) return;
    // Best effort and bounded: Lex forgets the session on its own after its idle timeout anyway.
    try {
      await this.o.runtime.deleteSession(
        { botId: call.bot.botId, botAliasId: call.bot.aliasId, localeId: call.bot.localeId, sessionId: call.sessionId },
        AbortSignal.timeout(DELETE_TIMEOUT_MS),
      );
    } catch (e) {
      ctx.logger.debug({ err: (e as Error).name }, 'Lex DeleteSession failed');
    }
  }

  async close(): Promise<void> {
    this.o.directory.stop();
    this.o.dispose?.();
    await this.o.runtime.close();
  }

  private noInput(call: CallState): AgentReply {
    return this.noInputExhausted(call) ?? { prompts: call.lastPrompts, next: call.lastNext };
  }

  /** Counts one input that brought nothing; past `max_no_input` the call ends or transfers. */
  private noInputExhausted(call: CallState): AgentReply | undefined {
    call.noInputs++;
    if (call.noInputs <= this.cfg.max_no_input) return undefined;
    const kind = this.cfg.on_no_input_exhausted === 'transfer' ? 'transfer' : 'session_end';
    return { prompts: [], end: { kind, name: 'no_input_exhausted', metadata: { reason: 'no_input_exhausted', bot_name: call.bot.name } } };
  }

  private breaker(bot: LexBot): CircuitBreaker {
    let b = this.breakers.get(bot.agentId);
    if (!b) this.breakers.set(bot.agentId, (b = new CircuitBreaker(this.cfg.circuit_failure_threshold, this.cfg.circuit_open_ms)));
    return b;
  }

  /** One Lex exchange and its reply; a second failed turn in a row transfers the caller. */
  private async turn(ctx: ConnectorCallContext, call: CallState, req: LexRequest): Promise<AgentReply> {
    let result: LexResult;
    try {
      result = await this.recognize(ctx, call, req);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      call.failedTurns++;
      ctx.logger.warn({ err: (e as Error).name, bot: call.bot.name, failedTurns: call.failedTurns }, 'Lex turn failed');
      if (call.failedTurns >= 2) {
        return {
          prompts: [{ ...this.o.apology, bargeIn: false }],
          end: { kind: 'transfer', name: 'lex_unavailable', metadata: { reason: 'lex_unavailable', bot_name: call.bot.name } },
        };
      }
      throw e;
    }
    call.failedTurns = 0;
    return this.reply(call, result, req.fromCaller === true);
  }

  private async recognize(ctx: ConnectorCallContext, call: CallState, req: LexRequest): Promise<LexResult> {
    const breaker = this.breaker(call.bot);
    breaker.enter();
    // A sessionState sent to Lex replaces its own: send back its last dialog position with the attributes.
    const sessionState: SessionState = { ...(req.state ?? dialogPosition(call.lexState)), sessionAttributes: call.attributes };
    const request = {
      botId: call.bot.botId,
      botAliasId: call.bot.aliasId,
      localeId: call.bot.localeId,
      sessionId: call.sessionId,
      contentType: req.contentType,
      body: req.body,
      sessionState,
    };
    try {
      const result = await withRetries((signal) => this.o.runtime.recognize(request, signal), {
        maxRetries: this.cfg.max_retries,
        attemptTimeoutMs: this.cfg.request_timeout_ms,
        budgetMs: this.cfg.turn_budget_ms,
        signal: ctx.signal,
        clock: this.o.clock,
        onRetry: (err, retry, delayMs) => ctx.logger.info({ err: (err as Error).name, retry, delayMs, bot: call.bot.name }, 'retrying Lex'),
      });
      breaker.success();
      return result;
    } catch (e) {
      if (ctx.signal.aborted) breaker.release();
      else if (!(e instanceof CircuitOpenError)) breaker.failure();
      throw e;
    }
  }

  private reply(call: CallState, r: LexResult, fromCaller: boolean): AgentReply {
    if (r.sessionState) {
      call.lexState = r.sessionState;
      call.attributes = { ...call.attributes, ...(r.sessionState.sessionAttributes ?? {}) };
    }
    const outcome = classify(r, { transferIntents: this.cfg.transfer_intents, transferAttribute: this.cfg.transfer_attribute });
    const terminal = outcome.kind !== 'continue';
    if (fromCaller) {
      // Lex heard nothing (its re-prompt follows): a no-input like WxCC's, so a silent caller is not looped forever.
      if (!terminal && heardNothing(r)) {
        const exhausted = this.noInputExhausted(call);
        if (exhausted) return exhausted;
      } else {
        call.noInputs = 0;
      }
    }
    let prompts = this.prompts(r, terminal);
    // Lex heard nothing and said nothing: the caller hears the last question again, never silence.
    if (!terminal && !prompts.length && heardNothing(r)) prompts = call.lastPrompts;
    if (outcome.kind !== 'continue') {
      return { prompts, end: { kind: outcome.kind, name: `lex_${outcome.reason}`, metadata: outcomeMetadata(r, call.bot.name, outcome.reason, this.cfg.include_transcript) } };
    }
    const intent = currentIntent(r);
    const slot = r.sessionState?.dialogAction?.slotToElicit;
    const next = nextInputFromAttributes(call.attributes, intent?.name, slot);
    call.deletion = dtmfDeletionCharacter(call.attributes, intent?.name, slot);
    if (prompts.length) call.lastPrompts = prompts;
    call.lastNext = next;
    const reply: AgentReply = { prompts };
    if (next) reply.next = next;
    return reply;
  }

  /** Lex's audio (every message, in order) as one prompt in the call's format; text-only messages otherwise. */
  private prompts(r: LexResult, closing: boolean): AgentPrompt[] {
    const texts = messageTexts(r.messages);
    const bargeIn = closing ? false : undefined;
    if (r.audio) {
      const prompt: AgentPrompt = { text: texts.join(' '), audio: { format: this.o.promptFormat, data: r.audio } };
      if (bargeIn !== undefined) prompt.bargeIn = bargeIn;
      return [prompt];
    }
    return texts.map((text) => (bargeIn === undefined ? { text } : { text, bargeIn }));
  }

}

interface LexRequest {
  contentType: string;
  body: Uint8Array;
  /** A dialog state to start from instead of the call's (the welcome's intent). */
  state?: SessionState;
  /** The caller's speech or digits (not the welcome): counts toward `max_no_input` when Lex heard nothing. */
  fromCaller?: boolean;
}

/** The caller's utterance in a content type Lex takes as is (8 kHz LPCM or 16 kHz L16). */
export function speechRequest(audio: Int16Array, sampleRate: number): LexRequest {
  let pcm = audio;
  let type = sampleRate === 8000 ? LPCM_8K : L16_16K;
  if (sampleRate !== 8000 && sampleRate !== 16000) {
    pcm = resamplePcm16(audio, sampleRate, 16000);
    type = L16_16K;
  }
  const body = new Uint8Array(pcm.length * 2);
  const view = new DataView(body.buffer);
  for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i], true);
  return { contentType: type, body };
}

/** What of Lex's last state goes back: where the dialog is, not Lex's read-only extras. */
function dialogPosition(s: SessionState | undefined): SessionState {
  const out: SessionState = {};
  if (s?.dialogAction) out.dialogAction = s.dialogAction;
  if (s?.intent) out.intent = s.intent;
  if (s?.activeContexts?.length) out.activeContexts = s.activeContexts;
  return out;
}
