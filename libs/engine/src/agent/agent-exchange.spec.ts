import type { AgentBinding, AgentOutput, AgentReply, AgentSession, StreamingConnector } from '@app/connector-sdk';
import { AgentDefaults, createLogger } from '@app/config';
import { type VoiceVAResponse, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { Conversation } from '../conversation';
import { defaultInput } from '../next-input';
import { AgentExchange, type ExchangeServices } from './agent-exchange';
import type { SentReply } from './reply-stream';

const MULAW = { encoding: 'mulaw' as const, sampleRate: 8000 };
const TURN_MS = 1000;
const piece = (n: number, fill = 1) => ({ format: MULAW, data: new Uint8Array(n).fill(fill) });
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

interface HeldCall {
  op: string;
  signal: AbortSignal;
  answer: ReturnType<typeof deferred<void>>;
}

/** A session that emits, resolves, rejects or hangs as each test says; every call waits for `answer`. */
class ScriptedSession implements AgentSession {
  readonly calls: HeldCall[] = [];
  readonly bargeIns: number[] = [];
  constructor(readonly emit: (o: AgentOutput) => void) {}
  start(_info: { resumed: boolean }, signal: AbortSignal) {
    return this.hold('start', signal);
  }
  input(_input: unknown, signal: AbortSignal) {
    return this.hold('input', signal);
  }
  listen(_stream: unknown, signal: AbortSignal) {
    return this.hold('listen', signal);
  }
  bargeIn() {
    this.bargeIns.push(this.calls.length);
  }
  end() {
    return Promise.resolve();
  }
  get last(): HeldCall {
    return this.calls[this.calls.length - 1];
  }
  private hold(op: string, signal: AbortSignal) {
    const answer = deferred();
    this.calls.push({ op, signal, answer });
    return answer.promise;
  }
}

function setup(opts: { mode?: 'wav' | 'chunk'; errorReply?: () => AgentReply } = {}) {
  const defaults = Object.assign(new AgentDefaults(), { reply_mode: opts.mode ?? 'chunk' });
  const connector: StreamingConnector = { listAgents: () => [], openSession: () => session, errorReply: opts.errorReply };
  const agent: AgentBinding = {
    id: 'agent', name: 'agent', attributes: {}, connectorId: 'test', connector, defaults, promptFormat: MULAW,
    speechAudio: true, endpointing: 'gateway', isDefault: true,
  };
  const base = defaultInput(defaults);
  const state = { id: 'c1', agentId: 'agent', customerOrgId: 'org', createdAt: 0, lastActivityAt: 0, started: true, expect: base, noBargeInUntil: 0, promptsEndAt: 0 };
  const conv = new Conversation(state, { conversationId: 'c1', owner: 'me', expiresAt: 0 }, agent, base, createLogger('silent'));
  // Outputs reach the turn waiting for them, as the engine's session context routes them.
  const session = new ScriptedSession((o) => conv.outputSink?.(o));
  conv.session = session;
  const sent: VoiceVAResponse[] = [];
  const replies: SentReply[] = [];
  const inputEvents: string[] = [];
  const services: ExchangeServices = {
    session: () => Promise.resolve(session),
    replySent: (_c, r) => replies.push(r),
    turnMs: () => TURN_MS,
  };
  const exchange = new AgentExchange(conv, {
    send: (r) => sent.push(r),
    startOfInput: () => inputEvents.push('start'),
    endOfInput: () => inputEvents.push('end'),
  }, services);
  const types = () => sent.map((r) => RT[r.responseType]);
  const eventNames = () => sent.flatMap((r) => r.outputEvents.map((e) => e.name));
  const ask = (op: 'input' | 'start' | 'listen' = 'input', callOpts = {}) =>
    exchange.call(op, (s, signal) => (op === 'listen' ? s.listen!({ sampleRate: 8000, languageCode: '' }, signal) : op === 'start' ? s.start({ resumed: false }, signal) : s.input({ kind: 'no_input' }, signal)), callOpts);
  return { conv, session, exchange, services, sent, replies, inputEvents, types, eventNames, ask };
}

afterEach(() => jest.useRealTimers());

describe('AgentExchange: a call and its reply', () => {
  it('streams the outputs to the RPC and resolves replied once the reply is complete', async () => {
    const t = setup();
    const result = t.ask();
    await flush();
    expect(t.session.calls.map((c) => c.op)).toEqual(['input']);
    t.session.emit({ type: 'audio', audio: piece(160) });
    expect(t.types()).toEqual(['CHUNK']); // sent before the reply is complete
    t.session.emit({ type: 'reply_end', event: { name: 'ev' } });
    await expect(result).resolves.toBe('replied');
    expect(t.types()).toEqual(['CHUNK', 'FINAL']);
    expect(t.replies).toHaveLength(1);
    expect(t.conv.outputSink).toBeUndefined();
    expect(t.session.last.signal.aborted).toBe(false);
  });

  it('a request/reply answer (one reply output) goes out whole', async () => {
    const t = setup({ mode: 'wav' });
    const result = t.ask('start');
    await flush();
    t.session.emit({ type: 'reply', reply: { prompts: [{ text: 'welcome' }] } });
    await expect(result).resolves.toBe('replied');
    expect(t.types()).toEqual(['FINAL']);
    expect(t.sent[0].prompts[0].text).toBe('welcome');
  });

  it('drops outputs after reply_end, and a call that rejects after its reply completed is ignored', async () => {
    const t = setup();
    const result = t.ask();
    await flush();
    t.session.emit({ type: 'reply_end' });
    t.session.emit({ type: 'audio', audio: piece(160) }); // at once, and once the turn moved on
    await expect(result).resolves.toBe('replied');
    t.session.emit({ type: 'reply', reply: { prompts: [{ text: 'late' }] } });
    t.session.last.answer.reject(new Error('late failure'));
    await flush();
    expect(t.types()).toEqual(['FINAL']);
    expect(t.eventNames()).not.toContain('error_occurred');
    expect(t.session.last.signal.aborted).toBe(false);
  });

  it('a call of the previous op that rejects late does not fail the call now running', async () => {
    const t = setup();
    const started = t.ask('start');
    await flush();
    t.session.emit({ type: 'reply', reply: { prompts: [{ text: 'welcome' }] } });
    await expect(started).resolves.toBe('replied');
    const answered = t.ask('input');
    await flush();
    t.session.calls[0].answer.reject(new Error('start failed after its welcome'));
    await flush();
    expect(t.session.calls[1].signal.aborted).toBe(false);
    t.session.emit({ type: 'reply', reply: { prompts: [{ text: 'answer' }] } });
    await expect(answered).resolves.toBe('replied');
    expect(t.sent.map((r) => r.prompts[0]?.text)).toEqual(['welcome', 'answer']);
    expect(t.eventNames()).not.toContain('error_occurred');
  });

  it('silent (resumed start): nothing is sent, not even an apology, and the unplayed welcome changes no state', async () => {
    const t = setup();
    const ok = t.ask('start', { silent: true });
    await flush();
    t.session.emit({ type: 'reply', reply: { prompts: [{ text: 'welcome' }] } });
    await expect(ok).resolves.toBe('replied');
    const failed = t.ask('start', { silent: true });
    await flush();
    t.session.last.answer.reject(new Error('no'));
    await expect(failed).resolves.toBe('failed');
    expect(t.sent).toEqual([]);
    // Neither the welcome (not played) nor an apology (not given) counts as a reply sent: what the agent last
    // asked to collect stays as it was (the replicas e2e shows why).
    expect(t.replies).toHaveLength(0);
  });
});

describe('AgentExchange: failures get the apology with error_occurred', () => {
  it('a rejected call: the connector\'s own apology, not barge-in, and its signal aborted', async () => {
    const t = setup({ mode: 'wav', errorReply: () => ({ prompts: [{ text: 'our apologies', bargeIn: true }] }) });
    const result = t.ask();
    await flush();
    t.session.last.answer.reject(new Error('backend down'));
    await expect(result).resolves.toBe('failed');
    expect(t.types()).toEqual(['FINAL']);
    expect(t.sent[0].prompts.map((p) => [p.text, p.isBargeInEnabled])).toEqual([['our apologies', false]]);
    expect(t.eventNames()).toEqual(['error_occurred']);
    expect(t.session.last.signal.reason).toBe('failed');
  });

  it.each([
    ['is invalid', () => ({ prompts: 'sorry' }) as unknown as AgentReply],
    ['throws', () => { throw new Error('no apology either'); }],
  ])('falls back to the gateway\'s apology when the connector\'s %s', async (_what, errorReply) => {
    const t = setup({ mode: 'wav', errorReply });
    const result = t.ask();
    await flush();
    t.session.last.answer.reject(new Error('x'));
    await expect(result).resolves.toBe('failed');
    expect(t.sent[0].prompts[0].text).toMatch(/sorry/i);
    expect(t.eventNames()).toEqual(['error_occurred']);
  });

  it('a session that cannot be opened, or a call that throws at once, fails the turn', async () => {
    const t = setup();
    t.services.session = () => Promise.reject(new Error('cannot connect'));
    await expect(t.ask()).resolves.toBe('failed');
    t.services.session = () => Promise.resolve(t.session);
    await expect(t.exchange.call('input', () => { throw new Error('sync'); })).resolves.toBe('failed');
    expect(t.eventNames()).toEqual(['error_occurred', 'error_occurred']);
  });

  it('an invalid output mid-stream: the apology follows the chunks already sent, nothing after it', async () => {
    const t = setup();
    const result = t.ask();
    await flush();
    t.session.emit({ type: 'audio', audio: piece(160), text: 'part' });
    t.session.emit({ type: 'reply_end', next: { mode: 'video' } } as never);
    await expect(result).resolves.toBe('failed');
    expect(t.types()).toEqual(['CHUNK', 'FINAL']);
    expect(t.sent[1].prompts.map((p) => [p.text, p.isBargeInEnabled])).toEqual([['Sorry, something went wrong.', false]]);
    expect(t.eventNames()).toEqual(['error_occurred']);
    expect(t.session.last.signal.aborted).toBe(true);
    t.session.emit({ type: 'audio', audio: piece(160) });
    t.session.emit({ type: 'reply_end' });
    expect(t.types()).toEqual(['CHUNK', 'FINAL']);
  });

  it('the deadline: the call is aborted and abandoned with the apology; its late reply is dropped', async () => {
    jest.useFakeTimers();
    const t = setup();
    const result = t.ask();
    await flush();
    jest.advanceTimersByTime(TURN_MS - 1);
    expect(t.sent).toEqual([]);
    jest.advanceTimersByTime(1);
    await expect(result).resolves.toBe('failed');
    expect(t.session.last.signal.reason).toBe('deadline');
    expect(t.eventNames()).toEqual(['error_occurred']);
    // A session that ignores its signal: what it says now goes nowhere.
    t.session.emit({ type: 'reply', reply: { prompts: [{ text: 'too late' }] } });
    t.session.last.answer.resolve();
    await flush();
    expect(t.types()).toEqual(['FINAL']);
    // ...and the call stays tracked until it settles, so end() can wait for it.
    expect(t.conv.pendingCalls.size).toBe(0);
  });

  it('a session that takes longer than the deadline to open is never called', async () => {
    jest.useFakeTimers();
    const t = setup();
    const opening = deferred<AgentSession>();
    t.services.session = () => opening.promise;
    const result = t.ask();
    jest.advanceTimersByTime(TURN_MS);
    await expect(result).resolves.toBe('failed');
    opening.resolve(t.session);
    await flush();
    expect(t.session.calls).toEqual([]);
  });

  it('a cancel while the session is still opening ends the call at once, quietly', async () => {
    const t = setup();
    const opening = deferred<AgentSession>();
    t.services.session = () => opening.promise;
    const result = t.ask();
    t.exchange.abort('rpc cancelled');
    await expect(result).resolves.toBe('quiet');
    opening.resolve(t.session);
    await flush();
    expect(t.session.calls).toEqual([]);
    expect(t.sent).toEqual([]);
  });

  it('agent endpointing: the deadline starts only when armed (end of input), once', async () => {
    jest.useFakeTimers();
    const t = setup();
    const result = t.ask('listen', { deadlineFromEndOfInput: true });
    await flush();
    jest.advanceTimersByTime(TURN_MS * 5);
    expect(t.exchange.active).toBe(true);
    t.exchange.armDeadline();
    jest.advanceTimersByTime(TURN_MS / 2);
    t.exchange.armDeadline(); // a second arm does not push it back
    jest.advanceTimersByTime(TURN_MS / 2);
    await expect(result).resolves.toBe('failed');
  });
});

describe('AgentExchange: quiet endings (RPC cancelled, conversation ended)', () => {
  it.each(['rpc cancelled', 'conversation ended'])('%s while the agent answers: call aborted, nothing more sent', async (reason) => {
    const t = setup();
    const result = t.ask();
    await flush();
    t.session.emit({ type: 'audio', audio: piece(160) });
    t.exchange.abort(reason);
    await expect(result).resolves.toBe('quiet');
    expect(t.session.last.signal.reason).toBe(reason);
    // Whatever the session does next changes nothing: no apology even if it fails.
    t.session.emit({ type: 'audio', audio: piece(160) });
    t.session.last.answer.reject(new Error('aborted'));
    await flush();
    expect(t.types()).toEqual(['CHUNK']);
    expect(t.replies).toEqual([]);
  });

  it('a failure racing the abort stays quiet', async () => {
    jest.useFakeTimers();
    const t = setup();
    const result = t.ask();
    await flush();
    t.session.last.answer.reject(new Error('aborted by its signal'));
    t.exchange.abort('conversation ended'); // before the rejection is seen
    await expect(result).resolves.toBe('quiet');
    jest.advanceTimersByTime(TURN_MS);
    expect(t.sent).toEqual([]);
  });

  it('endCall: the call in progress ends quietly, its signal aborted, and the next call goes ahead', async () => {
    const t = setup();
    const listening = t.ask('listen', { deadlineFromEndOfInput: true });
    await flush();
    t.exchange.endCall('caller input');
    await expect(listening).resolves.toBe('quiet');
    expect(t.session.last.signal.reason).toBe('caller input');
    const answered = t.ask('input');
    await flush();
    t.session.emit({ type: 'reply', reply: { prompts: [{ text: 'digits' }] } });
    await expect(answered).resolves.toBe('replied');
    expect(t.session.calls.map((c) => c.op)).toEqual(['listen', 'input']);
  });

  it('after an abort no further call reaches the session', async () => {
    const t = setup();
    t.exchange.abort('rpc cancelled');
    await expect(t.ask()).resolves.toBe('quiet');
    expect(t.session.calls).toEqual([]);
  });
});

describe('AgentExchange: barge-in and agent endpointing', () => {
  it('barge-in while chunks stream: the agent is told, the rest is not sent, the FINAL closes the turn', async () => {
    const t = setup();
    const result = t.ask();
    await flush();
    expect(t.exchange.bargeable).toBe(false); // nothing sent yet
    t.session.emit({ type: 'audio', audio: piece(160) });
    t.session.emit({ type: 'audio', audio: piece(50) }); // pending, under 100 bytes
    expect(t.exchange.bargeable).toBe(true);
    t.exchange.bargeIn();
    expect(t.session.bargeIns).toEqual([1]);
    t.session.emit({ type: 'audio', audio: piece(500) }); // the agent had not stopped yet
    t.session.emit({ type: 'reply_end' });
    await expect(result).resolves.toBe('replied');
    expect(t.types()).toEqual(['CHUNK', 'FINAL']);
    expect(t.replies).toHaveLength(1);
  });

  it('nothing plays before a chunk went out: speech then is no barge-in (WAV mode, or a first piece under 100 bytes)', async () => {
    for (const [mode, first] of [['wav', 400], ['chunk', 50]] as const) {
      const t = setup({ mode });
      const result = t.ask();
      await flush();
      t.session.emit({ type: 'audio', audio: piece(first), text: 'whole' });
      expect(t.exchange.bargeable).toBe(false);
      t.exchange.bargeIn();
      expect(t.session.bargeIns).toEqual([]);
      t.session.emit({ type: 'audio', audio: piece(400) });
      t.session.emit({ type: 'reply_end' });
      await expect(result).resolves.toBe('replied');
      expect(t.replies[0].totalMs).toBe((first + 400) / 8);
    }
  });

  it('no barge-in on a silent call (the resumed start): nothing of it plays', async () => {
    const t = setup();
    const result = t.ask('start', { silent: true });
    await flush();
    t.session.emit({ type: 'audio', audio: piece(400) });
    expect(t.exchange.bargeable).toBe(false);
    t.exchange.bargeIn();
    expect(t.session.bargeIns).toEqual([]);
    expect(t.exchange.active).toBe(true);
    t.session.emit({ type: 'reply_end' });
    await expect(result).resolves.toBe('replied');
  });

  it('no barge-in on a prompt that does not allow it', async () => {
    const t = setup();
    const result = t.ask();
    await flush();
    t.session.emit({ type: 'audio', audio: piece(160), bargeIn: false });
    expect(t.exchange.bargeable).toBe(false);
    t.exchange.bargeIn();
    expect(t.session.bargeIns).toEqual([]);
    t.session.emit({ type: 'reply_end' });
    await expect(result).resolves.toBe('replied');
  });

  it('the agent\'s start_of_input and end_of_input become the turn\'s; start_of_input during its reply is a barge-in', async () => {
    const t = setup();
    const result = t.ask('listen', { deadlineFromEndOfInput: true });
    await flush();
    t.session.emit({ type: 'start_of_input' });
    t.session.emit({ type: 'end_of_input' });
    expect(t.inputEvents).toEqual(['start', 'end']);
    t.session.emit({ type: 'audio', audio: piece(160) });
    t.session.emit({ type: 'end_of_input' }); // ignored once the reply started
    t.session.emit({ type: 'start_of_input' });
    expect(t.inputEvents).toEqual(['start', 'end']);
    expect(t.session.bargeIns).toEqual([1]);
    await expect(result).resolves.toBe('replied');
    expect(t.types()).toEqual(['CHUNK', 'FINAL']);
  });
});
