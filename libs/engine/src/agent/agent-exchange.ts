import type { AgentOutput, AgentReply, AgentSession, ConnectorCallContext } from '@app/connector-sdk';
import type { VoiceVAResponse } from '@app/proto';
import type { Conversation } from '../conversation';
import type { ConnectorOp, EngineEvents } from '../observe/engine-events';
import { errorReply } from '../reply-builder';
import { agentOutputProblem, InvalidAgentOutputError } from './output-validation';
import { ReplyStream, type SentReply } from './reply-stream';

/** How a call to the agent ended for the turn. */
export type ExchangeResult =
  /** The reply was sent (or, barged in on, cut short). */
  | 'replied'
  /** The agent failed (error, bad output, deadline): the caller got the apology. */
  | 'failed'
  /** The RPC was cancelled or the conversation ended: nothing more was sent. */
  | 'quiet';

/** The turn, as the exchange needs it. */
export interface ExchangeHost {
  /** Sends a response on the RPC; a no-op once the RPC is closed. */
  send(r: VoiceVAResponse): void;
  /** Agent endpointing: the caller started / stopped speaking. */
  startOfInput(): void;
  endOfInput(): void;
}

/** What the engine does with the agent's side of a conversation. */
export interface ExchangeServices {
  /** The conversation's agent session, opened on first use. */
  session(conv: Conversation): Promise<AgentSession>;
  /** A reply went out: remember what to collect next and when its prompts play; end the call if it says so. */
  replySent(conv: Conversation, sent: SentReply): void;
  /** Deadline of one turn's call, for this conversation's connector. */
  turnMs(conv: Conversation): number;
  /** Observers of connector calls (latency, failures); optional for embedders that observe nothing. */
  readonly events?: EngineEvents;
}

export interface CallOptions {
  /** Outputs are not sent (the resumed start: its welcome is not played). */
  silent?: boolean;
  /** Agent endpointing: the deadline starts at end_of_input, not at the call. */
  deadlineFromEndOfInput?: boolean;
}

const NO_SEND = () => undefined;

/**
 * One turn's calls to the agent session: each with a deadline and an abort signal (RPC cancelled, conversation
 * ended), the outputs validated where they enter and streamed to the RPC, and the agent's apology with
 * `error_occurred` when the call fails. A call that never settles is abandoned at its deadline.
 */
export class AgentExchange {
  private controller?: AbortController;
  private deadline?: NodeJS.Timeout;
  private stream?: ReplyStream;
  private settle?: (r: ExchangeResult) => void;
  private op = '';
  private quietReason?: string;
  private silent = false;
  private calledAt = 0;
  private failure: 'error' | 'timeout' = 'error';
  /** The reply is complete: whatever settles the call now (a terminal reply ends the conversation), it succeeded. */
  private completed = false;

  constructor(private readonly conv: Conversation, private readonly host: ExchangeHost, private readonly services: ExchangeServices) {}

  /** A call is running and its reply is not complete. */
  get active(): boolean {
    return this.settle !== undefined;
  }

  /** Barge-in is possible now: part of the reply has gone out and what plays may be interrupted. */
  get bargeable(): boolean {
    // Not merely started: in WAV mode, before a first chunk, or in a silent call, nothing plays yet.
    return this.settle !== undefined && !this.silent && this.stream !== undefined && this.stream.playing && this.stream.bargeable;
  }

  /** Calls the session and resolves once its reply is complete, it failed, or the turn was abandoned. */
  async call(op: string, fn: (s: AgentSession, signal: AbortSignal) => Promise<void>, opts: CallOptions = {}): Promise<ExchangeResult> {
    if (this.quietReason !== undefined) return 'quiet';
    const conv = this.conv;
    const controller = (this.controller = new AbortController());
    this.op = op;
    this.silent = opts.silent === true;
    this.calledAt = Date.now();
    this.completed = false;
    let settle!: (r: ExchangeResult) => void;
    const done = new Promise<ExchangeResult>((r) => (this.settle = settle = r));
    this.stream = new ReplyStream(conv.replyMode, conv.agent.promptFormat, conv.baseInput, conv.expect, conv.recording !== undefined, this.silent ? NO_SEND : (r) => this.host.send(r));
    const sink = (o: AgentOutput) => this.onOutput(o);
    conv.outputSink = sink;
    if (!opts.deadlineFromEndOfInput) this.armDeadline();
    // Not awaited here: the deadline and an abort also bound a session that is slow to open.
    const call = this.services.session(conv).then((session) => (this.settle === settle ? fn(session, controller.signal) : undefined));
    // Only this call's own failure counts: one that settled (or was abandoned) may reject during a later call.
    conv.track(call).then(undefined, (err) => {
      if (this.settle === settle) this.fail(err);
    });
    try {
      return await done;
    } finally {
      this.clearDeadline();
      if (conv.outputSink === sink) conv.outputSink = undefined;
    }
  }

  /** The deadline of the call in progress starts now (agent endpointing: at end_of_input). */
  armDeadline(): void {
    if (this.settle === undefined || this.deadline !== undefined) return;
    const ms = this.services.turnMs(this.conv);
    this.deadline = setTimeout(() => {
      this.deadline = undefined;
      this.fail(new DeadlineError(`no complete reply within ${ms} ms`));
    }, ms);
  }

  /** Ends the call in progress quietly (its signal aborted, nothing more sent); later calls go ahead. */
  endCall(reason: string): void {
    if (this.settle === undefined) return;
    this.controller?.abort(reason);
    this.finishWith('quiet');
  }

  /** The RPC was cancelled or the conversation ended: abort the call, send nothing more. */
  abort(reason: string): void {
    this.quietReason ??= reason;
    this.controller?.abort(reason);
    this.finishWith('quiet');
  }

  /** The caller started speaking over a reply that may be barged in on: the agent is told, the rest is not sent. */
  bargeIn(): void {
    if (!this.bargeable) return;
    const stream = this.stream!;
    try {
      this.session()?.bargeIn?.();
    } catch (err) {
      this.conv.log.warn({ err, connector: this.conv.agent.connectorId }, 'connector bargeIn failed');
    }
    this.complete(stream.interrupt());
  }

  private session(): AgentSession | undefined {
    return this.conv.session;
  }

  private onOutput(o: AgentOutput): void {
    if (this.settle === undefined) return; // late: the turn is over
    const problem = agentOutputProblem(o);
    if (problem !== undefined) return this.fail(new InvalidAgentOutputError(problem));
    const stream = this.stream!;
    try {
      switch (o.type) {
        case 'start_of_input':
          if (stream.started) this.bargeIn();
          else this.host.startOfInput();
          return;
        case 'end_of_input':
          if (!stream.started) this.host.endOfInput();
          return;
        case 'reply':
          if (!stream.started) return this.complete(stream.whole(o.reply));
          for (const p of o.reply.prompts) stream.prompt(p);
          return this.complete(stream.finish(o.reply));
        case 'prompt':
          return stream.prompt(o.prompt);
        case 'audio':
          return stream.audio(o.audio, o.text, o.bargeIn);
        case 'reply_end':
          return this.complete(stream.finish(o));
      }
    } catch (err) {
      // Building the responses failed (e.g. audio the gateway cannot convert): the caller still hears the apology.
      this.fail(err);
    }
  }

  private complete(sent: SentReply): void {
    if (this.settle === undefined) return;
    // A silent call's reply (the resumed start's welcome) was not played: it changes nothing the caller knows.
    this.completed = true;
    if (!this.silent) this.services.replySent(this.conv, sent);
    this.finishWith('replied');
  }

  private fail(err: unknown): void {
    if (this.settle === undefined) return;
    if (this.quietReason !== undefined) return this.finishWith('quiet');
    const conv = this.conv;
    const invalid = err instanceof InvalidAgentOutputError;
    const timedOut = err instanceof DeadlineError;
    this.failure = timedOut ? 'timeout' : 'error';
    conv.log.error(
      { err: timedOut ? undefined : err, op: this.op, connector: conv.agent.connectorId },
      timedOut ? `connector call exceeded its deadline: ${(err as Error).message}` : invalid ? `connector sent an invalid reply: ${(err as Error).message}` : 'connector failed',
    );
    // Whatever it is still doing is no longer wanted.
    this.controller?.abort(timedOut ? 'deadline' : 'failed');
    if (!this.silent) this.sendApology();
    this.finishWith('failed');
  }

  private sendApology(): void {
    const conv = this.conv;
    let apology: AgentReply | undefined;
    try {
      apology = conv.agent.connector.errorReply?.(this.callContext());
      if (apology !== undefined && agentOutputProblem({ type: 'reply', reply: apology }) !== undefined) apology = undefined;
    } catch {
      apology = undefined;
    }
    const reply = errorReply(apology);
    const stream = this.stream!;
    try {
      if (!stream.started) this.services.replySent(conv, stream.whole(reply, conv.expect));
      else {
        for (const p of reply.prompts) stream.prompt(p);
        this.services.replySent(conv, stream.finish(reply));
      }
    } catch (err) {
      conv.log.error({ err }, 'apology could not be sent');
    }
  }

  private callContext(): ConnectorCallContext {
    const c = this.conv;
    return { conversationId: c.id, agentId: c.agent.id, customerOrgId: c.state.customerOrgId, signal: this.controller!.signal, logger: c.log };
  }

  private finishWith(r: ExchangeResult): void {
    const settle = this.settle;
    if (settle === undefined) return;
    this.settle = undefined;
    this.clearDeadline();
    const ev = this.services.events;
    if (ev?.listening && this.op !== 'apology') {
      const at = Date.now();
      const c = this.conv;
      const outcome = r === 'replied' || this.completed ? 'ok' : r === 'failed' ? this.failure : 'aborted';
      ev.emit({ type: 'connector_call', at, conversationId: c.id, connectorId: c.agent.connectorId, op: this.op as ConnectorOp, durationMs: at - this.calledAt, outcome });
    }
    settle(r);
  }

  private clearDeadline(): void {
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.deadline = undefined;
  }
}

class DeadlineError extends Error {
  override name = 'DeadlineError';
}
