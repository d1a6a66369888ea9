import { setImmediate as macrotask } from 'node:timers/promises';
import type {
  AgentBinding,
  AgentOutput,
  AgentSession,
  AgentSessionContext,
  AudioStreamInfo,
  CallerInput,
  ConnectorCallContext,
  ConnectorRegistry,
  EndReason,
  RequestReplyConnector,
  StreamingConnector,
} from '@app/connector-sdk';
import { AgentDefaults, ConnectorEntry, type ConnectorsSection, createLogger, SessionsSection, VadSection } from '@app/config';
import { SpeechEvent, type SpeechEndpointer, type SpeechEndpointerFactory, type SpeechEventListener } from '@app/endpointing';
import {
  DTMFDigits,
  EventInput_EventType as IN,
  OutputEvent_EventType as EV,
  type VoiceVARequest,
  type VoiceVAResponse,
  VoiceVAResponse_ResponseType as RT,
} from '@app/proto';
import { ConversationEngine } from '../conversation-engine.service';
import type { EngineError } from '../engine-error';
import type { EngineEvent } from '../observe/engine-events';
import { InMemoryConversationStateStore } from '../state';
import { MAX_DTMF_DIGITS, MAX_QUEUED_AUDIO_BYTES, Turn, type TurnHost, type TurnSink } from './turn';

const MULAW = { encoding: 'mulaw' as const, sampleRate: 8000 };
const FRAME = new Uint8Array(160).fill(0xff); // 20 ms of µ-law silence: the scripted endpointer decides, not the audio
const TURN_MS = 2000;
const END_MS = 500;
const IDLE_MS = 1000;

/** Lets the store, the lock and the agent's promises run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await macrotask();
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

// ---- requests ----

const base = (over: Partial<VoiceVARequest> = {}): VoiceVARequest => ({
  conversationId: 'c1', customerOrgId: 'org', virtualAgentId: '', allowPartialResponses: false, vendorSpecificConfig: '', additionalInfo: {}, ...over,
});
const event = (eventType: IN, name = '') => base({ eventInput: { eventType, name, parameters: undefined } });
const START = () => event(IN.SESSION_START);
const HANGUP = () => event(IN.SESSION_END);
const dtmf = (...d: DTMFDigits[]) => base({ dtmfInput: { dtmfEvents: d } });
const audio = (first = false) =>
  base({ audioInput: { callerAudio: FRAME, encoding: first ? 2 : 0, sampleRateHertz: first ? 8000 : 0, audioTimestamp: undefined, languageCode: 'en-US', isSingleUtterance: false } });

// ---- collaborators ----

/** Collects one RPC's responses and how it ended, on a timeline shared by the test's RPCs. */
class Sink implements TurnSink {
  failed?: EngineError;
  completed = 0;
  constructor(readonly name: string, readonly timeline: string[]) {}
  send(r: VoiceVAResponse): void {
    this.timeline.push(`${this.name} ${summary(r)}`);
  }
  complete(): void {
    this.completed++;
    this.timeline.push(`${this.name} complete`);
  }
  fail(e: EngineError): void {
    this.failed = e;
    this.timeline.push(`${this.name} fail ${e.code}`);
  }
}

function summary(r: VoiceVAResponse): string {
  const parts = [RT[r.responseType]];
  for (const e of r.outputEvents) parts.push(e.eventType === EV.CUSTOM_EVENT ? e.name : EV[e.eventType]);
  for (const p of r.prompts) if (p.text) parts.push(JSON.stringify(p.text));
  if (r.responseType === RT.CHUNK) parts.push(`${r.prompts[0].audioContent.length}B`);
  return parts.join(' ');
}

interface Call {
  op: 'start' | 'input' | 'listen';
  arg: unknown;
  signal: AbortSignal;
  answer: ReturnType<typeof deferred<void>>;
}

/** The agent: every call waits until the test answers it; outputs go through the engine's emit. */
class ScriptedSession implements AgentSession {
  readonly calls: Call[] = [];
  /** Lengths of the caller audio it was streamed. */
  readonly heard: number[] = [];
  readonly log: string[] = [];
  constructor(readonly ctx: AgentSessionContext) {}
  start(info: { resumed: boolean }, signal: AbortSignal) {
    return this.hold('start', info, signal);
  }
  input(input: CallerInput, signal: AbortSignal) {
    return this.hold('input', input, signal);
  }
  listen(stream: AudioStreamInfo, signal: AbortSignal) {
    return this.hold('listen', stream, signal);
  }
  bargeIn() {
    this.log.push('bargeIn');
  }
  audio(pcm: Int16Array) {
    if (this.log[this.log.length - 1] !== 'audio') this.log.push('audio');
    this.heard.push(pcm.length);
  }
  end(reason: EndReason, signal: AbortSignal) {
    this.log.push(`end ${reason}${signal.aborted ? ' aborted' : ''}`);
    return Promise.resolve();
  }
  emit(o: AgentOutput) {
    this.ctx.emit(o);
  }
  /** Answers the last call with a whole reply. */
  reply(text: string) {
    this.emit({ type: 'reply', reply: { prompts: [{ text }] } });
    this.last.answer.resolve();
  }
  get last(): Call {
    return this.calls[this.calls.length - 1];
  }
  get ops(): string[] {
    return this.calls.map((c) => c.op);
  }
  private hold(op: Call['op'], arg: unknown, signal: AbortSignal) {
    this.log.push(op);
    const answer = deferred();
    this.calls.push({ op, arg, signal, answer });
    return answer.promise;
  }
}

/** Decides where speech starts and ends when the test says so; flush can be held. */
class ScriptedEndpointer implements SpeechEndpointer {
  heard = 0;
  closed = false;
  flushGate?: Promise<void>;
  constructor(readonly listener: SpeechEventListener) {}
  push(samples: Int16Array): void {
    this.heard += samples.length;
  }
  close(): void {
    this.closed = true;
  }
  flush(): Promise<void> {
    return this.flushGate ?? Promise.resolve();
  }
  say(e: SpeechEvent): void {
    this.listener(e, this.heard);
  }
}

interface Options {
  endpointing?: 'gateway' | 'agent';
  mode?: 'wav' | 'chunk';
  /** A request/reply connector instead of the streaming one. */
  requestReply?: RequestReplyConnector;
}

/** A started call with an audio RPC whose utterance started and ended: its input is concluded. */
async function inputConcluded(w: ReturnType<typeof world>) {
  await w.started();
  const rpc = w.rpc(audio(true));
  await settle();
  w.ep().say(SpeechEvent.Started);
  w.ep().say(SpeechEvent.Ended);
  return rpc;
}

function world(o: Options = {}) {
  const log = createLogger('silent');
  const timeline: string[] = [];
  const sessions: ScriptedSession[] = [];
  const endpointers: ScriptedEndpointer[] = [];
  const defaults = Object.assign(new AgentDefaults(), { reply_mode: o.mode ?? 'wav' });
  const streaming: StreamingConnector = {
    listAgents: () => [{ id: 'agent' }],
    openSession: (ctx) => {
      const s = new ScriptedSession(ctx);
      sessions.push(s);
      return s;
    },
  };
  const binding: AgentBinding = {
    id: 'agent', name: 'agent', attributes: {}, connectorId: 'test', connector: o.requestReply ?? streaming, defaults, promptFormat: MULAW,
    speechAudio: true, endpointing: o.endpointing ?? 'gateway', isDefault: true,
  };
  const registry = { resolve: (id: string) => (id === '' || id === 'agent' ? binding : undefined) } as unknown as ConnectorRegistry;
  const factory: SpeechEndpointerFactory = {
    kind: 'scripted',
    create: (_rate, listener) => {
      const e = new ScriptedEndpointer(listener);
      endpointers.push(e);
      return e;
    },
  };
  const sessionsCfg = Object.assign(new SessionsSection(), { rpc_idle_timeout_seconds: IDLE_MS / 1000 });
  const entry = Object.assign(new ConnectorEntry(), { timeouts: { turn_ms: TURN_MS, end_ms: END_MS } });
  const connectors = { test: entry } as unknown as ConnectorsSection;
  const engine = new ConversationEngine(registry, new InMemoryConversationStateStore(), factory, sessionsCfg, new VadSection(), connectors, log);
  // Binding can be held, to order it against the client's half-close and cancel.
  let bindGate: Promise<void> | undefined;
  let boundGate: Promise<void> | undefined;
  const host: TurnHost = {
    bind: async (r) => {
      if (bindGate) await bindGate;
      const conv = await engine.bind(r);
      if (boundGate) await boundGate;
      return conv;
    },
    endConversation: (c, r) => engine.endConversation(c, r),
    endpointer: (rate, l) => engine.endpointer(rate, l),
    saveState: (c) => engine.saveState(c),
    exchange: engine.exchange,
    audio: engine.audio,
    rpcIdleMs: engine.rpcIdleMs,
    log,
    events: engine.events,
  };
  let n = 0;
  const rpc = (...requests: VoiceVARequest[]) => {
    const sink = new Sink(`rpc${++n}`, timeline);
    const turn = new Turn(host, sink);
    for (const r of requests) turn.request(r);
    return { turn, sink };
  };
  return {
    engine, timeline, sessions, endpointers, rpc,
    session: () => sessions[0],
    ep: () => endpointers[endpointers.length - 1],
    conv: () => [...engine.conversations()][0],
    holdBind: () => {
      const d = deferred();
      bindGate = d.promise;
      return () => {
        bindGate = undefined;
        d.resolve();
      };
    },
    /** Holds the turn after the engine found its conversation, before the turn goes on with it. */
    holdBound: () => {
      const d = deferred();
      boundGate = d.promise;
      return () => {
        boundGate = undefined;
        d.resolve();
      };
    },
    /** A started conversation: its SESSION_START RPC answered and completed. */
    async started() {
      const { turn } = rpc(START());
      turn.halfClose();
      await settle();
      sessions[0].reply('welcome');
      await settle();
      timeline.length = 0;
    },
  };
}

afterEach(() => jest.useRealTimers());

describe('Turn: one RPC', () => {
  it('SESSION_START: the welcome, then the RPC completes', async () => {
    const w = world();
    const { turn, sink } = w.rpc(START());
    turn.halfClose();
    await settle();
    expect(w.session().calls.map((c) => [c.op, c.arg])).toEqual([['start', { resumed: false }]]);
    expect(sink.completed).toBe(0);
    w.session().reply('welcome');
    await settle();
    expect(w.timeline).toEqual(['rpc1 FINAL "welcome"', 'rpc1 complete']);
  });

  it('DTMF: the digits to the agent, its answer, complete', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE, DTMFDigits.DTMF_DIGIT_POUND));
    await settle();
    expect(w.session().last.arg).toEqual({ kind: 'dtmf', digits: '1#' });
    w.session().reply('got it');
    await settle();
    expect(w.timeline).toEqual(['rpc2 FINAL "got it"', 'rpc2 complete']);
  });

  it('START_OF_DTMF completes at once; a half-close with nothing sent completes too', async () => {
    const w = world();
    await w.started();
    w.rpc(event(IN.START_OF_DTMF));
    await settle();
    const { turn } = w.rpc();
    turn.halfClose();
    expect(w.timeline).toEqual(['rpc2 complete', 'rpc3 complete']);
  });

  it.each([
    ['no input at all', () => base()],
    ['an event the gateway does not take', () => event(IN.UNSPECIFIED_INPUT)],
    ['DTMF without a valid digit', () => dtmf(99 as DTMFDigits)],
  ])('refuses %s with INVALID_ARGUMENT', async (_what, request) => {
    const w = world();
    await w.started();
    w.rpc(request());
    await settle();
    expect(w.timeline).toEqual(['rpc2 fail invalid_argument']);
  });

  it('refuses a conversation_id that changes within the RPC', async () => {
    const w = world();
    await w.started();
    const { sink } = w.rpc(audio(true), base({ conversationId: 'other', dtmfInput: { dtmfEvents: [1] } }));
    await settle();
    expect(sink.failed?.message).toMatch(/conversation_id changed/);
  });

  it('refuses audio frames that name another conversation, before and after the input concluded', async () => {
    const w = world();
    await w.started();
    const other = () => ({ ...audio(), conversationId: 'other' });
    const first = w.rpc(audio(true), other());
    await settle();
    expect(first.sink.failed?.message).toMatch(/conversation_id changed/);
    const second = w.rpc(audio(true));
    await settle();
    w.ep().say(SpeechEvent.Started);
    w.ep().say(SpeechEvent.Ended);
    second.turn.request(other());
    expect(second.sink.failed?.message).toMatch(/conversation_id changed/);
  });

  it(`refuses a DTMF request longer than ${MAX_DTMF_DIGITS} digits, takes one of exactly that many`, async () => {
    const w = world();
    await w.started();
    const long = w.rpc(dtmf(...new Array<DTMFDigits>(MAX_DTMF_DIGITS + 1).fill(DTMFDigits.DTMF_DIGIT_ONE)));
    await settle();
    expect(long.sink.failed).toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/33 digits; at most 32/) });
    expect(w.session().calls.map((c) => c.arg)).not.toContainEqual(expect.objectContaining({ kind: 'dtmf' }));
    w.rpc(dtmf(...new Array<DTMFDigits>(MAX_DTMF_DIGITS).fill(DTMFDigits.DTMF_DIGIT_ONE)));
    await settle();
    expect(w.session().last.arg).toEqual({ kind: 'dtmf', digits: '1'.repeat(MAX_DTMF_DIGITS) });
  });

  it('refuses a frame that is wrong after the input concluded (format change, over a second): it is not heard as something else', async () => {
    const w = world();
    const { turn, sink } = await inputConcluded(w);
    turn.request(base({ audioInput: { callerAudio: FRAME, encoding: 1, sampleRateHertz: 8000, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } }));
    expect(sink.failed?.message).toMatch(/format changed/);
  });

  it('a conversation that was never started is started silently (resumed) before its first input', async () => {
    const w = world();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    expect(w.session().calls.map((c) => [c.op, c.arg])).toEqual([['start', { resumed: true }]]);
    w.session().reply('welcome back (not played)');
    await settle();
    expect(w.session().ops).toEqual(['start', 'input']);
    w.session().reply('answer');
    await settle();
    expect(w.timeline).toEqual(['rpc1 FINAL "answer"', 'rpc1 complete']);
  });
});

describe('Turn: binding, the ordering lock and the queue', () => {
  it('cancel before bind resolves: nothing runs, nothing is sent, the conversation is not held', async () => {
    const w = world();
    const release = w.holdBind();
    const { turn } = w.rpc(START());
    turn.cancel();
    release();
    await settle();
    expect(w.sessions).toEqual([]);
    expect(w.timeline).toEqual([]);
    const next = w.rpc(START());
    next.turn.halfClose();
    await settle();
    expect(w.session().ops).toEqual(['start']);
    expect(w.conv().turns.size).toBe(1);
  });

  it('cancel before a failing bind settles: the client is not sent the failure', async () => {
    const w = world();
    const release = w.holdBind();
    const { turn, sink } = w.rpc(base({ virtualAgentId: 'nobody', eventInput: { eventType: IN.SESSION_START, name: '', parameters: undefined } }));
    turn.cancel();
    release();
    await settle();
    expect(sink.failed).toBeUndefined();
    expect(w.timeline).toEqual([]);
  });

  it('two first RPCs of a new conversation at once: one conversation, the second waits for the first', async () => {
    const w = world();
    const first = w.rpc(START());
    const second = w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    first.turn.halfClose();
    second.turn.halfClose();
    await settle();
    expect(w.sessions).toHaveLength(1);
    expect(w.session().ops).toEqual(['start']);
    w.session().reply('welcome');
    await settle();
    w.session().reply('one');
    await settle();
    expect(w.timeline).toEqual(['rpc1 FINAL "welcome"', 'rpc1 complete', 'rpc2 FINAL "one"', 'rpc2 complete']);
  });

  it('half-close before bind resolves: the queued request is still answered', async () => {
    const w = world();
    const release = w.holdBind();
    const { turn } = w.rpc(START());
    turn.halfClose();
    release();
    await settle();
    w.session().reply('welcome');
    await settle();
    expect(w.timeline).toEqual(['rpc1 FINAL "welcome"', 'rpc1 complete']);
  });

  it('half-close before bind resolves, audio: frames queued while binding are heard, then the RPC completes', async () => {
    const w = world();
    await w.started();
    const release = w.holdBind();
    const { turn } = w.rpc(audio(true), audio(), audio());
    turn.halfClose();
    release();
    await settle();
    expect(w.ep().heard).toBe(480);
    expect(w.timeline).toEqual(['rpc2 complete']);
  });

  it('two RPCs of one conversation: the second waits for the first (half-closed while it waits)', async () => {
    const w = world();
    const first = w.rpc(START());
    first.turn.halfClose();
    await settle();
    const second = w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_FIVE));
    await settle(); // bound, waiting for the lock
    second.turn.halfClose();
    await settle();
    expect(w.session().ops).toEqual(['start']);
    w.session().reply('welcome');
    await settle();
    expect(w.session().ops).toEqual(['start', 'input']);
    w.session().reply('five');
    await settle();
    expect(w.timeline).toEqual(['rpc1 FINAL "welcome"', 'rpc1 complete', 'rpc2 FINAL "five"', 'rpc2 complete']);
  });

  it('cancel while waiting for the lock: the next RPC still gets it', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const waiting = w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_TWO));
    await settle();
    waiting.turn.cancel();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_THREE));
    w.session().reply('one');
    await settle();
    expect(w.session().last.arg).toEqual({ kind: 'dtmf', digits: '3' });
    w.session().reply('three');
    await settle();
    expect(w.timeline).toEqual(['rpc2 FINAL "one"', 'rpc2 complete', 'rpc4 FINAL "three"', 'rpc4 complete']);
  });

  it('a conversation that ends between binding and the lock: the RPC completes without asking the agent', async () => {
    const w = world();
    await w.started();
    const release = w.holdBound();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const conv = w.conv();
    await w.engine.endConversation(conv, 'caller_hangup');
    release();
    await settle();
    expect(w.timeline).toEqual(['rpc2 complete']);
    expect(w.session().ops).toEqual(['start']);
  });

  it('audio of a second RPC queues while the first runs, and is heard once it holds the lock', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    w.rpc(audio(true), audio(), audio(), audio());
    await settle();
    expect(w.endpointers).toEqual([]);
    w.session().reply('one');
    await settle();
    expect(w.ep().heard).toBe(640);
  });

  it('too many requests queued while an earlier RPC runs: RESOURCE_EXHAUSTED', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const { turn, sink } = w.rpc(audio(true));
    for (let i = 0; i < 1000; i++) turn.request(audio());
    expect(sink.failed?.code).toBe('resource_exhausted');
  });

  it('too much audio queued while an earlier RPC runs (large frames, few of them): RESOURCE_EXHAUSTED', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const { turn, sink } = w.rpc(audio(true));
    const big = base({ audioInput: { callerAudio: new Uint8Array(8000), encoding: 0, sampleRateHertz: 0, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } });
    for (let i = 0; i < MAX_QUEUED_AUDIO_BYTES / 8000 - 1; i++) turn.request(big);
    expect(sink.failed).toBeUndefined();
    turn.request(big);
    turn.request(big);
    expect(sink.failed?.code).toBe('resource_exhausted');
  });

  it('a hang-up does not wait behind an RPC still streaming audio: it ends the call and completes both', async () => {
    const w = world();
    await w.started();
    w.rpc(audio(true), audio());
    await settle();
    w.rpc(HANGUP());
    await settle();
    expect(w.timeline).toEqual(['rpc2 complete', 'rpc3 complete']);
    expect(w.session().log).toContain('end caller_hangup');
    expect(w.conv()).toBeUndefined();
  });

  it('an RPC for an ended conversation completes without action', async () => {
    const w = world();
    await w.started();
    w.rpc(HANGUP());
    await settle();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    expect(w.timeline).toEqual(['rpc2 complete', 'rpc3 complete']);
    expect(w.session().ops).toEqual(['start']);
  });
});

describe('Turn: while the agent answers', () => {
  it('half-close while the agent answers: the answer, then complete', async () => {
    const w = world();
    await w.started();
    const { turn } = w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    turn.halfClose();
    await settle();
    expect(w.timeline).toEqual([]);
    w.session().reply('one');
    await settle();
    expect(w.timeline).toEqual(['rpc2 FINAL "one"', 'rpc2 complete']);
  });

  it('cancel while the agent answers: the call is aborted, nothing is sent, the next RPC runs', async () => {
    const w = world();
    await w.started();
    const { turn } = w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const call = w.session().last;
    turn.cancel();
    expect(call.signal.aborted).toBe(true);
    expect(call.signal.reason).toBe('rpc cancelled');
    w.session().reply('too late');
    await settle();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_TWO));
    await settle();
    expect(w.session().last.arg).toEqual({ kind: 'dtmf', digits: '2' });
    expect(w.timeline).toEqual([]);
  });

  it('conversation ended while the agent answers: quiet, no apology, the RPC completes; end after the call settled', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const call = w.session().last;
    w.rpc(HANGUP());
    await settle();
    expect(call.signal.reason).toBe('conversation ended');
    expect(w.timeline).toEqual(['rpc2 complete']);
    expect(w.session().log).not.toContain('end caller_hangup'); // the aborted call has not settled yet
    call.answer.reject(new Error('aborted'));
    await settle();
    expect(w.timeline).toEqual(['rpc2 complete', 'rpc3 complete']);
    expect(w.session().log.slice(-1)).toEqual(['end caller_hangup']);
  });

  it('conversation ended while one RPC answers and another waits for the lock: both complete quietly', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const waiting = w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_TWO));
    await settle();
    w.rpc(HANGUP());
    await settle();
    expect(waiting.sink.completed).toBe(1);
    w.session().calls[1].answer.resolve();
    await settle();
    expect(w.session().ops).toEqual(['start', 'input']);
    expect([...w.timeline].sort()).toEqual(['rpc2 complete', 'rpc3 complete', 'rpc4 complete']);
  });

  it('a reply after the deadline is dropped: the apology was sent and the RPC completed', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const call = w.session().last;
    jest.advanceTimersByTime(TURN_MS);
    await settle();
    expect(call.signal.reason).toBe('deadline');
    expect(w.timeline).toEqual(['rpc2 FINAL error_occurred "Sorry, something went wrong."', 'rpc2 complete']);
    w.session().reply('late');
    await settle();
    expect(w.timeline).toHaveLength(2);
  });

  it('a failed agent call: the apology with error_occurred, then complete', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    w.session().last.answer.reject(new Error('backend down'));
    await settle();
    expect(w.timeline).toEqual(['rpc2 FINAL error_occurred "Sorry, something went wrong."', 'rpc2 complete']);
  });

  it('the agent ends the call: its goodbye, the conversation ends, the session is told why', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    w.session().emit({ type: 'reply', reply: { prompts: [{ text: 'bye' }], end: { kind: 'transfer' } } });
    w.session().last.answer.resolve();
    await settle();
    expect(w.timeline).toEqual(['rpc2 FINAL TRANSFER_TO_AGENT "bye"', 'rpc2 complete']);
    expect(w.session().log.slice(-1)).toEqual(['end transferred']);
  });
});

describe('Turn: caller audio, gateway endpointing', () => {
  it('START_OF_INPUT, END_OF_INPUT, the utterance to the agent, its answer, complete', async () => {
    const w = world();
    await w.started();
    const { turn } = w.rpc(audio(true), audio());
    await settle();
    w.ep().say(SpeechEvent.Started);
    turn.request(audio());
    w.ep().say(SpeechEvent.Ended);
    await settle();
    expect(w.timeline).toEqual(['rpc2 PARTIAL START_OF_INPUT', 'rpc2 PARTIAL END_OF_INPUT']);
    const input = w.session().last.arg as Extract<CallerInput, { kind: 'speech' }>;
    expect([input.kind, input.sampleRate, input.languageCode]).toEqual(['speech', 8000, 'en-US']);
    turn.halfClose();
    w.session().reply('heard you');
    await settle();
    expect(w.timeline.slice(2)).toEqual(['rpc2 FINAL "heard you"', 'rpc2 complete']);
  });

  it('frames after the input concluded are not queued: no RESOURCE_EXHAUSTED while the agent answers', async () => {
    const w = world();
    const { turn, sink } = await inputConcluded(w);
    const heard = w.ep().heard;
    for (let i = 0; i < 3000; i++) turn.request(audio());
    expect(sink.failed).toBeUndefined();
    expect(w.ep().heard).toBe(heard); // the reply is not one that can be barged in on: dropped at once
    await settle();
    w.session().reply('ok');
    await settle();
    expect(sink.completed).toBe(1);
  });

  it('NO_INPUT from WxCC: the agent is told, the RPC completes after its answer', async () => {
    const w = world();
    await w.started();
    w.rpc(event(IN.NO_INPUT));
    await settle();
    expect(w.session().last.arg).toEqual({ kind: 'no_input' });
  });

  it('a half-close while the caller speaks finishes the utterance: their words are not dropped', async () => {
    const w = world();
    await w.started();
    const { turn } = w.rpc(audio(true), audio());
    await settle();
    w.ep().say(SpeechEvent.Started);
    turn.halfClose();
    await settle();
    expect(w.timeline).toEqual(['rpc2 PARTIAL START_OF_INPUT', 'rpc2 PARTIAL END_OF_INPUT']);
    expect((w.session().last.arg as CallerInput).kind).toBe('speech');
  });

  it('a half-close waits for the endpointer\'s pending decisions before it decides', async () => {
    const w = world();
    await w.started();
    const { turn } = w.rpc(audio(true), audio());
    await settle();
    const gate = deferred();
    w.ep().flushGate = gate.promise;
    turn.halfClose();
    await settle();
    w.ep().say(SpeechEvent.Started); // decided late, on audio already sent
    gate.resolve();
    await settle();
    expect(w.timeline).toEqual(['rpc2 PARTIAL START_OF_INPUT', 'rpc2 PARTIAL END_OF_INPUT']);
  });

  it('cancel while the half-close waits for the endpointer: the conversation is not held', async () => {
    const w = world();
    await w.started();
    const { turn } = w.rpc(audio(true), audio());
    await settle();
    const gate = deferred();
    w.ep().flushGate = gate.promise;
    turn.halfClose();
    await settle();
    turn.cancel();
    gate.resolve();
    await settle();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    expect(w.session().last.arg).toEqual({ kind: 'dtmf', digits: '1' });
  });

  it('conversation ended while the half-close waits for the endpointer: the agent is not asked, the RPC completes', async () => {
    const w = world();
    await w.started();
    const { turn } = w.rpc(audio(true), audio());
    await settle();
    w.ep().say(SpeechEvent.Started);
    const gate = deferred();
    w.ep().flushGate = gate.promise;
    turn.halfClose();
    await settle();
    w.rpc(HANGUP());
    await settle();
    gate.resolve();
    await settle();
    expect(w.session().ops).toEqual(['start']);
    expect(w.timeline).toEqual(['rpc2 PARTIAL START_OF_INPUT', 'rpc3 complete', 'rpc2 complete']);
  });

  it('the utterance the half-close flush decided keeps the conversation held until its turn is saved', async () => {
    const w = world();
    await w.started();
    const first = w.rpc(audio(true), audio());
    await settle();
    w.ep().say(SpeechEvent.Started);
    const gate = deferred();
    w.ep().flushGate = gate.promise;
    first.turn.halfClose();
    await settle();
    w.ep().say(SpeechEvent.Ended); // the decision the flush was waiting for: the agent is asked
    await settle();
    expect(w.session().ops).toEqual(['start', 'input']);
    gate.resolve();
    await settle();
    // A store that takes its time, as a remote one does.
    const store = (w.engine as unknown as { store: InMemoryConversationStateStore }).store;
    const save = store.save.bind(store);
    store.save = async (lease, state, ms) => {
      await macrotask();
      const saved = await save(lease, state, ms);
      w.timeline.push(`saved after ${w.session().ops.length} calls`);
      return saved;
    };
    first.turn.cancel();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    expect(w.session().ops).toEqual(['start', 'input', 'input']);
    expect(w.timeline).toContain('saved after 2 calls');
  });

  it('barge-in while chunks stream: the agent is told, the rest is not sent, the FINAL closes the turn', async () => {
    const w = world({ mode: 'chunk' });
    await w.started();
    const { turn } = w.rpc(audio(true));
    await settle();
    w.ep().say(SpeechEvent.Started);
    w.ep().say(SpeechEvent.Ended);
    await settle();
    w.session().emit({ type: 'audio', audio: { format: MULAW, data: new Uint8Array(400) } });
    turn.request(audio()); // heard now: the prompt playing may be barged in on
    w.ep().say(SpeechEvent.Started);
    w.session().emit({ type: 'audio', audio: { format: MULAW, data: new Uint8Array(400) } });
    await settle();
    expect(w.session().log.slice(-1)).toEqual(['bargeIn']);
    expect(w.timeline.slice(2)).toEqual(['rpc2 CHUNK 400B', 'rpc2 FINAL', 'rpc2 complete']);
  });

  it('an idle RPC (no request for rpcIdleMs): DEADLINE_EXCEEDED', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const w = world();
    await w.started();
    const { turn, sink } = w.rpc(audio(true));
    await settle();
    jest.advanceTimersByTime(IDLE_MS / 2);
    turn.request(audio()); // still talking to us
    jest.advanceTimersByTime(IDLE_MS - 1);
    expect(sink.failed).toBeUndefined();
    jest.advanceTimersByTime(IDLE_MS);
    expect(sink.failed?.code).toBe('deadline_exceeded');
    expect(w.ep().closed).toBe(true);
  });

  it('an idle RPC while the caller speaks: the utterance is finished and answered instead', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const w = world();
    await w.started();
    w.rpc(audio(true));
    await settle();
    w.ep().say(SpeechEvent.Started);
    jest.advanceTimersByTime(IDLE_MS + 100);
    await settle();
    expect(w.timeline).toEqual(['rpc2 PARTIAL START_OF_INPUT', 'rpc2 PARTIAL END_OF_INPUT']);
    expect(w.session().ops).toEqual(['start', 'input']);
  });

  it('an RPC waiting for the agent is not idle: the agent\'s deadline bounds it', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const w = world();
    await w.started();
    const { sink } = w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    jest.advanceTimersByTime(IDLE_MS * 1.5);
    expect(sink.failed).toBeUndefined();
    w.session().reply('one');
    await settle();
    expect(sink.completed).toBe(1);
  });
});

describe('Turn: an agent that endpoints', () => {
  async function listening(w: ReturnType<typeof world>) {
    await w.started();
    const rpc = w.rpc(audio(true), audio(), audio());
    await settle();
    return rpc;
  }

  it('the session listens, hears every frame, says where speech starts and ends, answers; the RPC completes', async () => {
    const w = world({ endpointing: 'agent' });
    const { turn } = await listening(w);
    expect(w.session().calls[1].arg).toEqual({ sampleRate: 8000, languageCode: 'en-US' });
    expect(w.endpointers).toEqual([]);
    expect(w.session().heard).toEqual([160, 160, 160]);
    w.session().emit({ type: 'start_of_input' });
    turn.request(audio());
    w.session().emit({ type: 'end_of_input' });
    expect(w.timeline).toEqual(['rpc2 PARTIAL START_OF_INPUT', 'rpc2 PARTIAL END_OF_INPUT']);
    // After the input concluded frames still reach the agent (barge-in is its call), never the queue.
    for (let i = 0; i < 1500; i++) turn.request(audio());
    expect(w.session().heard).toHaveLength(1504);
    w.session().reply('heard you');
    await settle();
    expect(w.timeline.slice(2)).toEqual(['rpc2 FINAL "heard you"', 'rpc2 complete']);
  });

  it('the session is told a stream begins before it gets the stream\'s audio', async () => {
    const w = world({ endpointing: 'agent' });
    await listening(w);
    expect(w.session().log).toEqual(['start', 'listen', 'audio']);
  });

  it('START_OF_DTMF while the session listens: the RPC completes and the listen call ends with it', async () => {
    const w = world({ endpointing: 'agent' });
    const { turn } = await listening(w);
    const listen = w.session().last;
    turn.request(event(IN.START_OF_DTMF));
    await settle();
    expect(w.timeline).toEqual(['rpc2 complete']);
    expect(listen.signal.aborted).toBe(true);
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    expect(w.session().ops).toEqual(['start', 'listen', 'input']);
    w.session().reply('one');
    await settle();
    expect(w.timeline).toEqual(['rpc2 complete', 'rpc3 FINAL "one"', 'rpc3 complete']);
  });

  it('DTMF digits while the session listens: listening ends, the digits are answered, the RPC completes once', async () => {
    const w = world({ endpointing: 'agent' });
    const { turn, sink } = await listening(w);
    const listen = w.session().last;
    turn.request(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    expect(listen.signal.aborted).toBe(true);
    expect(w.session().ops).toEqual(['start', 'listen', 'input']);
    listen.answer.resolve();
    await settle();
    expect(w.timeline).toEqual([]);
    w.session().reply('one');
    await settle();
    expect(w.timeline).toEqual(['rpc2 FINAL "one"', 'rpc2 complete']);
    expect(sink.completed).toBe(1);
  });

  it('cancel while the session listens: its listen call is aborted, nothing sent', async () => {
    const w = world({ endpointing: 'agent' });
    const { turn } = await listening(w);
    turn.cancel();
    expect(w.session().last.op).toBe('listen');
    expect(w.session().last.signal.reason).toBe('rpc cancelled');
    w.session().reply('late');
    await settle();
    expect(w.timeline).toEqual([]);
  });

  it('conversation ended while the session listens: aborted, the RPC completes quietly, then end', async () => {
    const w = world({ endpointing: 'agent' });
    await listening(w);
    w.rpc(HANGUP());
    await settle();
    expect(w.session().last.signal.reason).toBe('conversation ended');
    w.session().last.answer.resolve();
    await settle();
    expect(w.timeline).toEqual(['rpc2 complete', 'rpc3 complete']);
    expect(w.session().log.slice(-1)).toEqual(['end caller_hangup']);
  });

  it('no deadline while the caller may still speak; from end_of_input (or a half-close) the reply is due in time', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const w = world({ endpointing: 'agent' });
    const { turn, sink } = await listening(w);
    for (let i = 0; i < 5; i++) {
      jest.advanceTimersByTime(TURN_MS / 2);
      turn.request(audio()); // not idle either
    }
    expect(sink.failed).toBeUndefined();
    expect(w.timeline).toEqual([]);
    turn.halfClose();
    jest.advanceTimersByTime(TURN_MS);
    await settle();
    expect(w.session().last.signal.reason).toBe('deadline');
    expect(w.timeline).toEqual(['rpc2 FINAL error_occurred "Sorry, something went wrong."', 'rpc2 complete']);
  });

  it('audio goes at the rate the agent asked for', async () => {
    const w = world({ endpointing: 'agent' });
    w.engine['registry'].resolve('agent')!.speechAudioRate = 16000;
    await listening(w);
    expect(w.session().calls[1].arg).toEqual({ sampleRate: 16000, languageCode: 'en-US' });
    expect(w.session().heard.reduce((a, b) => a + b, 0)).toBeGreaterThan(2 * 160 * 2);
  });
});

/** A request/reply connector whose calls wait for the test; what each was given is kept. */
class HeldConnector implements RequestReplyConnector {
  readonly calls: Array<{ op: string; ctx: ConnectorCallContext; arg: unknown; answer: ReturnType<typeof deferred<unknown>> }> = [];
  listAgents() {
    return [{ id: 'agent' }];
  }
  start(ctx: ConnectorCallContext, info: { resumed: boolean }) {
    return this.hold('start', ctx, info) as never;
  }
  handleInput(ctx: ConnectorCallContext, input: CallerInput) {
    return this.hold('input', ctx, input) as never;
  }
  end(ctx: ConnectorCallContext, reason: EndReason) {
    return this.hold('end', ctx, reason) as never;
  }
  get last() {
    return this.calls[this.calls.length - 1];
  }
  private hold(op: string, ctx: ConnectorCallContext, arg: unknown) {
    const answer = deferred<unknown>();
    this.calls.push({ op, ctx, arg, answer });
    return answer.promise;
  }
}

describe('Turn: a request/reply connector gets a signal on every call', () => {
  async function startedWith(c: HeldConnector) {
    const w = world({ requestReply: c });
    w.rpc(START()).turn.halfClose();
    await settle();
    c.last.answer.resolve({ prompts: [{ text: 'welcome' }] });
    await settle();
    w.timeline.length = 0;
    return w;
  }

  describe.each(['start', 'input'] as const)('%s', (op) => {
    it.each([
      ['deadline', 'deadline'],
      ['cancel', 'rpc cancelled'],
      ['conversation end', 'conversation ended'],
    ])('aborted on %s', async (cause, reason) => {
      jest.useFakeTimers({ doNotFake: ['setImmediate'] });
      const c = new HeldConnector();
      const w = op === 'start' ? world({ requestReply: c }) : await startedWith(c);
      const { turn } = w.rpc(op === 'start' ? START() : dtmf(DTMFDigits.DTMF_DIGIT_ONE));
      await settle();
      const call = c.last;
      expect([call.op, call.ctx.signal.aborted]).toEqual([op, false]);
      if (cause === 'deadline') jest.advanceTimersByTime(TURN_MS);
      else if (cause === 'cancel') turn.cancel();
      else w.rpc(HANGUP());
      await settle();
      expect(call.ctx.signal.reason).toBe(reason);
    });
  });

  it('start: aborted when the RPC is cancelled; its late welcome is not sent', async () => {
    const c = new HeldConnector();
    const w = world({ requestReply: c });
    const { turn } = w.rpc(START());
    await settle();
    expect(c.last.op).toBe('start');
    turn.cancel();
    expect(c.last.ctx.signal.reason).toBe('rpc cancelled');
    c.last.answer.resolve({ prompts: [{ text: 'welcome' }] });
    await settle();
    expect(w.timeline).toEqual([]);
  });

  it('input: aborted at the deadline; the apology went out and the late reply is dropped', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const c = new HeldConnector();
    const w = await startedWith(c);
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const input = c.last;
    expect(input.ctx.signal.aborted).toBe(false);
    jest.advanceTimersByTime(TURN_MS);
    await settle();
    expect(input.ctx.signal.reason).toBe('deadline');
    input.answer.resolve({ prompts: [{ text: 'late' }] });
    await settle();
    expect(w.timeline).toEqual(['rpc2 FINAL error_occurred "Sorry, something went wrong."', 'rpc2 complete']);
    // The next turn gets its own answer, not the late one.
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_TWO));
    await settle();
    c.last.answer.resolve({ prompts: [{ text: 'two' }] });
    await settle();
    expect(w.timeline.slice(2)).toEqual(['rpc3 FINAL "two"', 'rpc3 complete']);
  });

  it('input: aborted when the conversation ends; end follows once it settled, with its own live signal', async () => {
    const c = new HeldConnector();
    const w = await startedWith(c);
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const input = c.last;
    w.rpc(HANGUP());
    await settle();
    expect(input.ctx.signal.reason).toBe('conversation ended');
    expect(c.calls.map((x) => x.op)).toEqual(['start', 'input']);
    input.answer.reject(new Error('aborted'));
    await settle();
    expect(c.last.op).toBe('end');
    expect(c.last.arg).toBe('caller_hangup');
    expect(c.last.ctx.signal.aborted).toBe(false);
    c.last.answer.resolve(undefined);
    await settle();
    expect(w.timeline).toEqual(['rpc2 complete', 'rpc3 complete']);
  });
});

describe('Turn: more orderings', () => {
  it('agent endpointing: end_of_input starts the reply\'s deadline', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const w = world({ endpointing: 'agent' });
    await w.started();
    w.rpc(audio(true));
    await settle();
    w.session().emit({ type: 'end_of_input' });
    jest.advanceTimersByTime(TURN_MS);
    await settle();
    expect(w.timeline).toEqual(['rpc2 PARTIAL END_OF_INPUT', 'rpc2 FINAL error_occurred "Sorry, something went wrong."', 'rpc2 complete']);
  });

  it('agent endpointing with a session that cannot listen: the apology', async () => {
    const w = world({ endpointing: 'agent' });
    await w.started();
    (w.session() as { listen?: unknown }).listen = undefined;
    w.rpc(audio(true));
    await settle();
    expect(w.timeline).toEqual(['rpc2 FINAL error_occurred "Sorry, something went wrong."', 'rpc2 complete']);
  });

  it('gateway no-input: NO_INPUT, then the agent is told', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const w = world();
    await w.started();
    w.conv().state.expect.speech.noInputTimeoutMs = 100;
    w.rpc(audio(true));
    await settle();
    jest.advanceTimersByTime(100 + 250);
    await settle();
    expect(w.timeline).toEqual(['rpc2 PARTIAL NO_INPUT']);
    expect(w.session().last.arg).toEqual({ kind: 'no_input' });
  });

  it('a repeated SESSION_START is ignored: the RPC completes, the agent is not started twice', async () => {
    const w = world();
    await w.started();
    w.rpc(START()).turn.halfClose();
    await settle();
    expect(w.timeline).toEqual(['rpc2 complete']);
    expect(w.session().ops).toEqual(['start']);
  });

  it('a failed start: the apology; the next input starts the agent again, silently', async () => {
    const w = world();
    w.rpc(START());
    await settle();
    w.session().last.answer.reject(new Error('no'));
    await settle();
    expect(w.timeline).toEqual(['rpc1 FINAL error_occurred "Sorry, something went wrong."', 'rpc1 complete']);
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    expect(w.session().calls.map((c) => [c.op, c.arg])).toEqual([['start', { resumed: false }], ['start', { resumed: true }]]);
    w.session().last.answer.reject(new Error('still no'));
    await settle();
    expect(w.session().ops).toEqual(['start', 'start']); // the input is not asked of an agent that did not start
    expect(w.timeline.slice(2)).toEqual(['rpc2 FINAL error_occurred "Sorry, something went wrong."', 'rpc2 complete']);
  });

  it('conversation ended elsewhere (shutdown) while an RPC streams audio: it completes at once', async () => {
    const w = world();
    await w.started();
    w.rpc(audio(true), audio());
    await settle();
    await w.engine.endAll('gateway_shutdown');
    expect(w.timeline).toEqual(['rpc2 complete']);
    expect(w.session().log.slice(-1)).toEqual(['end gateway_shutdown']);
  });

  it('a store that fails costs the RPC (INTERNAL), not the process', async () => {
    const w = world();
    (w.engine as unknown as { store: { get(): Promise<never> } }).store.get = () => Promise.reject(new Error('store down'));
    const { sink } = w.rpc(START());
    await settle();
    expect(sink.failed?.code).toBe('internal');
  });

  it('an unknown agent: NOT_FOUND; a hang-up for an unknown call: completes without action', async () => {
    const w = world();
    const unknown = w.rpc(base({ virtualAgentId: 'nobody', eventInput: { eventType: IN.SESSION_START, name: '', parameters: undefined } }));
    w.rpc(base({ conversationId: 'c2', eventInput: { eventType: IN.SESSION_END, name: '', parameters: undefined } }));
    await settle();
    expect(unknown.sink.failed?.code).toBe('not_found');
    expect(w.timeline).toEqual(['rpc1 fail not_found', 'rpc2 complete']);
    expect(w.sessions).toEqual([]);
  });

  it('after the RPC closed, the client\'s half-close, cancel and requests change nothing', async () => {
    const w = world();
    await w.started();
    const { turn, sink } = w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    w.session().emit({ type: 'reply_end' });
    await settle();
    expect(sink.completed).toBe(1);
    turn.halfClose();
    turn.cancel();
    turn.request(dtmf(DTMFDigits.DTMF_DIGIT_TWO));
    await settle();
    expect(sink.completed).toBe(1);
    expect(w.session().ops).toEqual(['start', 'input']);
    expect(w.session().last.signal.aborted).toBe(false); // the finished call is left alone
  });

  it('what the reply asks to collect next is saved before the RPC completes', async () => {
    const w = world();
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    // A store that takes its time, as a remote one does.
    const store = (w.engine as unknown as { store: InMemoryConversationStateStore }).store;
    const save = store.save.bind(store);
    store.save = async (lease, state, ms) => {
      await macrotask();
      const saved = await save(lease, state, ms);
      w.timeline.push(`saved ${state.expect.mode}`);
      return saved;
    };
    w.session().emit({ type: 'reply', reply: { prompts: [{ text: 'your PIN?' }], next: { mode: 'dtmf' } } });
    w.session().last.answer.resolve();
    await settle();
    expect(w.timeline).toEqual(['rpc2 FINAL "your PIN?"', 'saved dtmf', 'rpc2 complete']);
  });
});

describe('Turn: ending a call whose connector hangs', () => {
  it('an aborted call that never settles, and an end that hangs: both bounded, end\'s signal aborted at end_ms', async () => {
    const c = new HeldConnector();
    const w = world({ requestReply: c });
    w.rpc(START()).turn.halfClose();
    await settle();
    c.last.answer.resolve({ prompts: [{ text: 'welcome' }] });
    await settle();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    const t0 = Date.now();
    const hangup = w.rpc(HANGUP());
    while (c.last.op !== 'end') await macrotask();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(END_MS - 20); // waited for the aborted input call, in vain
    const end = c.last;
    expect(end.ctx.signal.aborted).toBe(false);
    while (hangup.sink.completed === 0) await macrotask();
    expect(end.ctx.signal.aborted).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2 * END_MS + 450); // two end_ms waits at most (a third: 1500), with room for late timers
  });
});

describe('Turn: what observers see', () => {
  const observe = (w: ReturnType<typeof world>) => {
    const seen: EngineEvent[] = [];
    w.engine.events.subscribe((e) => seen.push(e));
    return seen;
  };
  const summary = (seen: EngineEvent[]) =>
    seen.map((e) => {
      switch (e.type) {
        case 'rpc_input':
          return `${e.rpc} input ${JSON.stringify(e.input)}`;
        case 'rpc_ended':
          return `${e.rpc} ended ${e.status}`;
        case 'reply':
          return `${e.rpc} reply ${e.welcome ? 'welcome ' : ''}${e.reply.prompts.map((p) => p.text).join(',')} ${e.reply.events.map((x) => `${x.type}:${x.name}`).join(',')}`.trim();
        case 'connector_call':
          return `call ${e.op} ${e.outcome}`;
        case 'conversation_ended':
          return `ended ${e.reason}`;
        default:
          return 'rpc' in e ? `${e.rpc} ${e.type}` : e.type;
      }
    });

  it('per RPC and conversation, in order: input, reply with its latency, the connector call, status; the call ending', async () => {
    const w = world();
    const seen = observe(w);
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    w.session().reply('got it');
    await settle();
    w.rpc(HANGUP());
    await settle();
    w.engine.events.flush(); // delivered in batches (DELIVERY_INTERVAL_MS): a reader takes them in first
    expect(summary(seen)).toEqual([
      'conversation_started',
      '1 rpc_started',
      '1 input {"kind":"session_start"}',
      '1 reply welcome welcome',
      'call start ok',
      '1 ended OK',
      '2 rpc_started',
      '2 input {"kind":"dtmf","digitCount":1}',
      '2 reply got it',
      'call dtmf ok',
      '2 ended OK',
      '3 rpc_started',
      '3 input {"kind":"session_end"}',
      'ended caller_hangup',
      'call end ok',
      '3 ended OK',
    ]);
    const replies = seen.filter((e): e is Extract<EngineEvent, { type: 'reply' }> => e.type === 'reply');
    expect(replies.map((r) => typeof r.latencyMs)).toEqual(['number', 'number']);
  });

  it('digits only when payloads are asked for, and never for an input the agent marked sensitive', async () => {
    const w = world();
    const seen = observe(w);
    w.engine.events.capturePayloads = true;
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    w.session().emit({ type: 'reply', reply: { prompts: [{ text: 'card number?' }], next: { sensitive: true } } });
    w.session().last.answer.resolve();
    await settle();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_FOUR));
    await settle();
    w.engine.events.flush();
    const inputs = seen.flatMap((e) => (e.type === 'rpc_input' && e.input.kind === 'dtmf' ? [e.input] : []));
    expect(inputs).toEqual([
      { kind: 'dtmf', digitCount: 1, digits: '1' },
      { kind: 'dtmf', digitCount: 1 },
    ]);
  });

  it('with nobody observing, nothing is emitted', async () => {
    const w = world();
    const emit = jest.spyOn(w.engine.events, 'emit');
    await w.started();
    w.rpc(dtmf(DTMFDigits.DTMF_DIGIT_ONE));
    await settle();
    w.session().reply('got it');
    await settle();
    w.rpc(HANGUP());
    await settle();
    expect(emit).not.toHaveBeenCalled();
  });
});
