import { status } from '@grpc/grpc-js';
import { encodeFromPcm16 } from '@app/audio';
import { EventInput_EventType, OutputEvent_EventType as EV, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { type ByovaCaller, type TurnHandle, type TurnResult, voiceInput } from '@app/simulator';
import { scriptedLog } from '../fixtures/scripted-connector';
import { eventually, ok, scriptedConnector, sleep, speechBurst, startTestGateway, TestGateway } from './harness';

/**
 * Edges of a call the gateway used to get wrong: hang-up while the agent answers, audio that keeps coming
 * while it answers, agents that never answer or answer something unplayable, RPCs of calls that already
 * ended, clients that go quiet mid-RPC, and speech that starts while a prompt that cannot be barged in plays.
 */

const AGENT = 'Scripted: bot';
const MULAW_8K = { encoding: 'mulaw' as const, sampleRate: 8000 };
const SILENT_FRAME = new Uint8Array(160).fill(0xff);

type Log = Record<string, unknown>;

const kinds = (rs: { responseType: number; outputEvents: { eventType: number }[] }[]) =>
  rs.map((r) => (r.outputEvents[0] ? EV[r.outputEvents[0].eventType] : RT[r.responseType]));
const events = (r: TurnResult) => r.responses.flatMap((x) => x.outputEvents.map((e) => e.name || EV[e.eventType]));
const texts = (r: TurnResult) => r.responses.flatMap((x) => x.prompts.map((p) => p.text));
const callsOf = (conversationId: string, op: 'start' | 'input' | 'end') => scriptedLog.filter((c) => c.conversationId === conversationId && c.op === op);
/** Error log lines about one conversation. */
const errorsOf = (logs: Log[], conversationId: string) => logs.filter((l) => (l.level as number) >= 50 && l.conversationId === conversationId);

/** Opens a DTMF RPC (without its START_OF_DTMF) and half-closes it, as WxCC does. */
function dtmfTurn(caller: ByovaCaller, digit: number): TurnHandle {
  const turn = caller.openTurn('dtmf');
  turn.write(caller.request({ dtmfInput: { dtmfEvents: [digit] } }));
  turn.halfClose();
  return turn;
}

/** A SESSION_END (hang-up) RPC, half-closed. */
function hangUpTurn(caller: ByovaCaller): TurnHandle {
  const turn = caller.openTurn('SESSION_END');
  turn.write(caller.request({ eventInput: { eventType: EventInput_EventType.SESSION_END, name: '', parameters: undefined } }));
  turn.halfClose();
  return turn;
}

/** What a late RPC got: its status and whatever it was sent. */
const outcome = (r: TurnResult) => ({ turn: r.label, status: status[r.status.code], prompts: texts(r), events: events(r) });

/** The RPC's result; an RPC the server leaves open longer than `ms` is cancelled (status CANCELLED), so a hang fails the test. */
async function resultWithin(turn: TurnHandle, ms: number): Promise<TurnResult> {
  const timer = setTimeout(() => turn.cancel(), ms);
  try {
    return await turn.result;
  } finally {
    clearTimeout(timer);
  }
}

/** DTMF enum values of the scripted connector's letter digits. */
const DIGIT_A = 11;
const DIGIT_B = 12;
const DIGIT_C = 13;

describe('edges of a call: hang-up while the agent answers, unplayable replies, late RPCs', () => {
  let t: TestGateway;
  const logs: Log[] = [];
  beforeAll(async () => {
    t = await startTestGateway(
      { sessions: { max_sessions: 1 }, connectors: { scripted: scriptedConnector({ slow_ms: 600 }, { speech: { no_input_timeout_ms: 0 } }) } },
      { logs },
    );
  });
  afterAll(() => t?.stop());
  beforeEach(() => {
    scriptedLog.splice(0);
    logs.splice(0);
  });
  // max_sessions is 1: a test that failed half-way must not leave its call to the next one
  afterEach(() => t?.gw.engine.endAll('gateway_shutdown'));

  // Edge 1
  it('hang-up while the agent answers another RPC: that RPC completes quietly and the aborted call is not an error', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    const answering = dtmfTurn(caller, DIGIT_A); // answers after 600 ms unless aborted
    await eventually(() => callsOf(caller.conversationId, 'input').length === 1);
    const hangup = await caller.endSession();
    expect([hangup.status.code, hangup.responses.length]).toEqual([status.OK, 0]);
    const r = ok(await resultWithin(answering, 3000));
    expect({ prompts: texts(r), events: events(r) }).toEqual({ prompts: [], events: [] });
    expect(errorsOf(logs, caller.conversationId).map((l) => l.msg)).toEqual([]);
    expect(logs.filter((l) => l.msg === 'connector failed')).toEqual([]);
    expect(callsOf(caller.conversationId, 'end').map((c) => c.reason)).toEqual(['caller_hangup']);
    expect(t.gw.engine.conversationCount).toBe(0);
  });

  // Edge 1
  it('hang-up while the agent answers: end() waits until the running call (which ignores the abort) has settled', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    const answering = dtmfTurn(caller, DIGIT_B); // answers after 600 ms whatever happens
    await eventually(() => callsOf(caller.conversationId, 'input').length === 1);
    const hangup = await caller.endSession();
    expect([hangup.status.code, hangup.responses.length]).toEqual([status.OK, 0]);
    const r = await resultWithin(answering, 3000);
    await eventually(() => callsOf(caller.conversationId, 'end').length === 1);
    const [input] = callsOf(caller.conversationId, 'input');
    const [end] = callsOf(caller.conversationId, 'end');
    await eventually(() => input.finishedAt !== undefined);
    expect({ endStartedAfterTheCallFinished: end.startedAt >= input.finishedAt! }).toEqual({ endStartedAfterTheCallFinished: true });
    // and the open RPC completed quietly
    ok(r);
    expect({ prompts: texts(r), events: events(r) }).toEqual({ prompts: [], events: [] });
    expect(errorsOf(logs, caller.conversationId).map((l) => l.msg)).toEqual([]);
  });

  // Edge 5
  it('a reply the gateway cannot build (prompt audio in opus) becomes the apology with error_occurred, logged with the connector id', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    const r = ok(await caller.sendDtmf('D'));
    expect(r.violations).toEqual([]);
    expect(kinds(r.responses)).toEqual(['CUSTOM_EVENT']);
    expect(r.responses[0].responseType).toBe(RT.FINAL);
    expect(events(r)).toEqual(['error_occurred']);
    expect(texts(r)).toEqual(['scripted apology']);
    expect(errorsOf(logs, caller.conversationId)).toEqual([expect.objectContaining({ connector: 'scripted' })]);
    // the call goes on
    expect(texts(ok(await caller.sendDtmf('55')))).toEqual(['digits 55']);
    await caller.endSession();
  });

  // Edge 6
  it('RPCs for a call the caller hung up complete without starting anything and do not take a conversation slot', async () => {
    const a = t.caller({ agentId: AGENT });
    ok(await a.startSession());
    ok(await a.endSession());
    const dtmf = await a.sendDtmf('55');
    const late = [dtmf.startOfDtmf, dtmf, await a.startSession(), await a.sendEvent('CUSTOM_EVENT', 'late')];
    const quiet = (turn: string) => ({ turn, status: 'OK', prompts: [], events: [] });
    expect(late.map(outcome)).toEqual([quiet('START_OF_DTMF'), quiet('dtmf'), quiet('SESSION_START'), quiet('CUSTOM_EVENT')]);
    expect(t.gw.engine.conversationCount).toBe(0);
    // max_sessions is 1: a new call still gets in, and a late RPC of the ended call while it runs is no new call
    const b = t.caller({ agentId: AGENT });
    expect(outcome(await b.startSession())).toEqual({ ...quiet('SESSION_START'), prompts: ['scripted welcome'] });
    expect(outcome(await a.sendDtmf('55'))).toEqual(quiet('dtmf'));
    expect(callsOf(a.conversationId, 'start')).toHaveLength(1);
    expect(callsOf(a.conversationId, 'input')).toHaveLength(0);
    expect(t.gw.engine.conversationCount).toBe(1);
    ok(await b.endSession());
  });

  // Edge 6
  it.each([
    ['a transfer', '4', 'transferred'],
    ['the agent ending it', '3', 'agent_ended'],
  ])('RPCs for a call that ended with %s complete without starting anything', async (_what, digit, reason) => {
    const a = t.caller({ agentId: AGENT });
    ok(await a.startSession());
    ok(await a.sendDtmf(digit));
    await eventually(() => callsOf(a.conversationId, 'end').length === 1);
    expect(callsOf(a.conversationId, 'end').map((c) => c.reason)).toEqual([reason]);
    const late = [await a.sendDtmf('55'), await a.startSession()];
    const quiet = (turn: string) => ({ turn, status: 'OK', prompts: [], events: [] });
    expect(late.map(outcome)).toEqual([quiet('dtmf'), quiet('SESSION_START')]);
    expect(callsOf(a.conversationId, 'start')).toHaveLength(1);
    expect(callsOf(a.conversationId, 'input')).toHaveLength(1);
    expect(t.gw.engine.conversationCount).toBe(0);
    const b = t.caller({ agentId: AGENT });
    ok(await b.startSession());
    ok(await b.endSession());
  });
});

describe('edges of a call: caller audio that keeps coming while a slow agent answers', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      voice_activity_detection: { end_silence_ms: 300 },
      // The slow answer gives the caller time to send over MAX_QUEUED (1000) frames after END_OF_INPUT: ~0.9 s on an
      // idle machine, several times that on a busy one (2 s was not always enough).
      connectors: { scripted: scriptedConnector({ speech_delay_ms: 4000 }, { speech: { no_input_timeout_ms: 0 } }) },
    });
  });
  afterAll(() => t?.stop());
  beforeEach(() => scriptedLog.splice(0));

  // Edge 2
  it('frames sent after END_OF_INPUT on the same RPC never fail it: the answer arrives, status OK', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    // An unpaced client streaming a long recording (50 s: 2,500 frames), not stopping at END_OF_INPUT.
    const speech = encodeFromPcm16(speechBurst(400, 0), 'mulaw');
    const r = ok(await caller.sendAudio({ data: speech, format: MULAW_8K }, { pace: false, trailingSilenceMs: 50_000, stopOnEndOfInput: false }));
    expect(kinds(r.responses)).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    expect(texts(r)).toEqual(['heard speech']);
    expect(r.timeline.some((e) => e.kind === 'stopped-sending')).toBe(false); // it really kept sending
    expect(r.framesSent).toBeGreaterThan(1100); // over MAX_QUEUED after END_OF_INPUT (at frame ~35), all before the answer
    await caller.endSession();
  });
});

describe('edges of a call: an agent that never answers', () => {
  let t: TestGateway;
  const logs: Log[] = [];
  beforeAll(async () => {
    t = await startTestGateway(
      { connectors: { scripted: { ...scriptedConnector({}, { speech: { no_input_timeout_ms: 0 } }), timeouts: { turn_ms: 300, end_ms: 500 } } } },
      { logs },
    );
  });
  afterAll(() => t?.stop());
  beforeEach(() => scriptedLog.splice(0));

  // Edge 3
  it('apologises at turn_ms, serves the next RPC, and still ends the call within end_ms bounds on hang-up', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    const r = ok(await resultWithin(dtmfTurn(caller, DIGIT_C) /* never answers, ignores the abort */, 5000));
    expect(kinds(r.responses)).toEqual(['CUSTOM_EVENT']);
    expect(events(r)).toEqual(['error_occurred']);
    expect(texts(r)).toEqual(['scripted apology']);
    expect(r.durationMs).toBeGreaterThanOrEqual(250);
    expect(r.durationMs).toBeLessThan(3000);
    expect(errorsOf(logs, caller.conversationId)).toEqual([expect.objectContaining({ connector: 'scripted' })]);
    // the conversation is released: its next RPC is served
    expect(texts(ok(await caller.sendDtmf('55')))).toEqual(['digits 55']);
    // hang-up: the call that never settles delays the end by at most end_ms, then end() runs anyway
    const hangup = await resultWithin(hangUpTurn(caller), 5000);
    expect([hangup.status.code, hangup.responses.length]).toEqual([status.OK, 0]);
    expect(hangup.durationMs).toBeLessThan(3000);
    await eventually(() => callsOf(caller.conversationId, 'end').length === 1, 3000);
    expect(callsOf(caller.conversationId, 'end').map((c) => c.reason)).toEqual(['caller_hangup']);
    expect(t.gw.engine.conversationCount).toBe(0);
  });
});

describe('edges of a call: a client that stops sending without half-closing', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      voice_activity_detection: { end_silence_ms: 300 },
      connectors: { scripted: scriptedConnector({}, { speech: { no_input_timeout_ms: 500, max_speech_ms: 1000 } }) },
    });
  });
  afterAll(() => t?.stop());
  beforeEach(() => scriptedLog.splice(0));

  // Edge 7
  it('one frame, then nothing: NO_INPUT fires on the clock and the agent answers', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    await sleep(250); // the 200 ms welcome has played
    const turn = caller.openTurn('audio');
    turn.write(caller.request({ audioInput: voiceInput(SILENT_FRAME, MULAW_8K) }));
    const r = ok(await resultWithin(turn, 4000));
    expect(kinds(r.responses)).toEqual(['NO_INPUT', 'FINAL']);
    expect(texts(r)).toEqual(['heard no_input']);
    await caller.endSession();
  });

  // Edge 7
  it('speech, then nothing mid-utterance: END_OF_INPUT and the answer come at max speech on the clock', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    await sleep(250);
    const speech = encodeFromPcm16(speechBurst(400, 0), 'mulaw');
    const turn = caller.openTurn('audio');
    for (let off = 0; off < speech.length; off += 160) {
      turn.write(caller.request({ audioInput: voiceInput(speech.subarray(off, off + 160), off === 0 ? MULAW_8K : undefined) }));
      await sleep(20);
    }
    const r = ok(await resultWithin(turn, 4000));
    expect(kinds(r.responses)).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    expect(texts(r)).toEqual(['heard speech']);
    const gap = r.endOfInputAtMs! - r.startOfInputAtMs!;
    expect(gap).toBeGreaterThanOrEqual(600); // max speech (1000 ms) counted from the start of speech
    expect(gap).toBeLessThan(2500);
    await caller.endSession();
  });
});

describe('edges of a call: a client that stops sending, with no-input off', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      sessions: { rpc_idle_timeout_seconds: 1 },
      connectors: { scripted: scriptedConnector({}, { speech: { no_input_timeout_ms: 0 } }) },
    });
  });
  afterAll(() => t?.stop());

  // Edge 7
  it('ends the RPC after rpc_idle_timeout_seconds with DEADLINE_EXCEEDED and serves the next RPC', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    const turn = caller.openTurn('audio');
    turn.write(caller.request({ audioInput: voiceInput(SILENT_FRAME, MULAW_8K) }));
    const r = await resultWithin(turn, 5000);
    expect(r.status.code).toBe(status.DEADLINE_EXCEEDED);
    expect(r.durationMs).toBeLessThan(4000);
    expect(texts(ok(await caller.sendDtmf('55')))).toEqual(['digits 55']);
    await caller.endSession();
  });
});

describe('edges of a call: speech after a welcome that cannot be barged in', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      voice_activity_detection: { end_silence_ms: 300 },
      connectors: { scripted: scriptedConnector({ welcome_ms: 3000 }, { barge_in: false, speech: { no_input_timeout_ms: 0, max_speech_ms: 2500 } }) },
    });
  });
  afterAll(() => t?.stop());
  beforeEach(() => scriptedLog.splice(0));

  // Edge 9
  it('is not cut at START_OF_INPUT: END_OF_INPUT at the end of speech, and the utterance does not count the prompt time', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    // Streaming starts right after the welcome response; the caller speaks (1 s) once the 3 s welcome has played.
    const leadMs = 3300;
    const burst = speechBurst(1000, 0);
    const pcm = new Int16Array((leadMs * 8000) / 1000 + burst.length);
    pcm.set(burst, (leadMs * 8000) / 1000);
    const r = ok(await caller.sendAudio({ data: encodeFromPcm16(pcm, 'mulaw'), format: MULAW_8K }, { pace: true, trailingSilenceMs: 1500 }));
    expect(kinds(r.responses)).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    expect(r.startOfInputAtMs!).toBeGreaterThanOrEqual(leadMs - 200);
    const gap = r.endOfInputAtMs! - r.startOfInputAtMs!;
    expect(gap).toBeGreaterThanOrEqual(800); // 1 s of speech (less the start debounce) and the end silence
    expect(gap).toBeLessThan(2500);
    const input = callsOf(caller.conversationId, 'input')[0]?.input;
    expect(input?.kind).toBe('speech');
    if (input?.kind !== 'speech') return;
    expect(input.durationMs).toBeGreaterThanOrEqual(1000);
    expect(input.durationMs).toBeLessThan(1000 + 300 + 300 + 200); // speech, pre-roll, end silence, slack
    await caller.endSession();
  });

  // Edge 9
  it('speech that begins while the welcome plays is heard from the welcome\'s end and is not cut there', async () => {
    const caller = t.caller({ agentId: AGENT });
    const sessionSentAt = performance.now();
    ok(await caller.startSession());
    // The caller talks over the last second of the welcome (not heard: no barge-in) and 1.5 s beyond it.
    const leadMs = 2000;
    const burst = speechBurst(2500, 0);
    const pcm = new Int16Array((leadMs * 8000) / 1000 + burst.length);
    pcm.set(burst, (leadMs * 8000) / 1000);
    const data = encodeFromPcm16(pcm, 'mulaw');
    const audioFrom = performance.now(); // the turn's clock starts (synchronously) just after this
    const r = ok(await caller.sendAudio({ data, format: MULAW_8K }, { pace: true, trailingSilenceMs: 1500 }));
    expect(kinds(r.responses)).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    // Not before the welcome has played: heard, the speech would start the input ~2.2 s after SESSION_START.
    // Measured from SESSION_START, as the welcome is (a slow answer to it moves the audio turn's clock later),
    // less what a busy machine takes off the deaf window (the gateway places the welcome's end in the caller
    // audio by the arrival of its first frame, which load delays).
    expect(audioFrom + r.startOfInputAtMs! - sessionSentAt).toBeGreaterThanOrEqual(2600);
    const gap = r.endOfInputAtMs! - r.startOfInputAtMs!;
    expect(gap).toBeGreaterThanOrEqual(1000); // ~1.5 s of speech heard, then the end silence; max speech 2.5 s from its start
    expect(gap).toBeLessThan(2900);
    const input = callsOf(caller.conversationId, 'input')[0]?.input;
    expect(input?.kind).toBe('speech');
    if (input?.kind !== 'speech') return;
    expect(input.durationMs).toBeGreaterThanOrEqual(1500);
    expect(input.durationMs).toBeLessThan(3000); // the 3 s of prompt time are not in it
    await caller.endSession();
  });
});
