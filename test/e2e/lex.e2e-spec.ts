import { encodeFromPcm16, MULAW_8K, parseWav } from '@app/audio';
import { ConnectorRegistry } from '@app/connector-sdk';
import { OutputEvent_EventType as EV } from '@app/proto';
import type { TurnResult } from '@app/simulator';
import { FakeLexServer, TINY_BOT } from '../support/fake-lex';
import { eventually, ok, speechBurst, startTestGateway, type TestGateway } from './harness';

// The real SDK signs requests: any credentials do for the fake, given through the default chain.
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
delete process.env.AWS_PROFILE;

const AGENT = 'lex: Banking';
const LPCM_8K = 'audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false';

function lexConnector(lex: FakeLexServer, config: Record<string, unknown> = {}) {
  return {
    type: 'aws_lex_connector',
    config: { region_name: 'us-east-1', apology_audio_file: 'audio/error.wav', endpoint_url: lex.url, models_endpoint_url: lex.url, request_timeout_ms: 1000, turn_budget_ms: 4000, ...config },
    defaults: { speech: { no_input_timeout_ms: 0 } },
  };
}

const text = (r: TurnResult) => r.responses.flatMap((x) => x.prompts.map((p) => p.text)).join(' ');
const events = (r: TurnResult) => r.responses.flatMap((x) => x.outputEvents.map((e) => [EV[e.eventType], e.name]));
const terminal = (r: TurnResult) => r.responses.flatMap((x) => x.outputEvents).find((e) => e.eventType === EV.SESSION_END || e.eventType === EV.TRANSFER_TO_AGENT);
const utterance = () => ({ data: encodeFromPcm16(speechBurst(600, 0), 'mulaw'), format: MULAW_8K });

describe('AWS Lex V2 connector against a protocol-level fake Lex (real SDK, real gateway)', () => {
  let lex: FakeLexServer;
  let t: TestGateway;
  const logs: Record<string, unknown>[] = [];
  beforeAll(async () => {
    lex = await FakeLexServer.start({});
    // An explicit bot list: no discovery call at all.
    t = await startTestGateway({ connectors: { lex: lexConnector(lex, { bots: [{ bot_id: 'BANKBOT001', alias_id: 'LIVEALIAS1', agent_name: 'Banking' }] }) } }, { logs });
  });
  afterAll(async () => {
    await t?.stop();
    await lex?.stop();
  });
  beforeEach(() => {
    lex.onTurn(undefined);
  });

  it('lists the configured bot under the Python-compatible id, without discovery', async () => {
    expect((await t.caller().listAgents()).virtualAgents.map((a) => a.virtualAgentId)).toEqual([AGENT]);
    expect([lex.calls('ListBots').length, lex.calls('ListBotAliases').length]).toEqual([0, 0]);
  });

  it('welcome: Lex greeting text and Lex audio, asked as PCM', async () => {
    const caller = t.caller({ agentId: AGENT });
    const w = ok(await caller.startSession());
    expect(text(w)).toBe(TINY_BOT.greeting);
    // Lex's 16 kHz PCM (the fake's tone: 60 ms a word) converted once to the call's 8 kHz mu-law
    const wav = parseWav(w.responses[0].prompts[0].audioContent);
    expect([wav.sampleFormat, wav.sampleRate]).toEqual(['mulaw', 8000]);
    expect(Math.abs(wav.data.length - TINY_BOT.greeting.split(' ').length * 60 * 8)).toBeLessThanOrEqual(16);
    const req = lex.calls('RecognizeUtterance').at(-1)!;
    expect([req.text, req.responseContentType, req.botId, req.aliasId]).toEqual(['hello', 'audio/pcm', 'BANKBOT001', 'LIVEALIAS1']);
    await caller.endSession();
  });

  it('speech as 8 kHz LPCM, slot elicited, DTMF with * and # as text, fulfilled → closing prompt then SESSION_END, DeleteSession', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    lex.hear('book an appointment');
    const r = ok(await caller.sendAudio(utterance(), { pace: false, trailingSilenceMs: 1500 }));
    expect(text(r)).toBe(TINY_BOT.askDate);
    const speechReq = lex.calls('RecognizeUtterance').at(-1)!;
    expect(speechReq.contentType).toBe(LPCM_8K);
    expect(speechReq.sampleRate).toBe(8000);
    // about 0.6 s of speech (plus pre-roll and end silence) at 8 kHz, 2 bytes a sample
    expect(speechReq.audio!.length).toBeGreaterThan(8000);
    const sessionId = speechReq.sessionId;

    const d = ok(await caller.sendDtmf('1*2#'));
    expect(lex.calls('RecognizeUtterance').at(-1)!.text).toBe('1*2#');
    expect(text(d)).toBe(TINY_BOT.booked('1*2#'));
    expect(terminal(d)).toMatchObject({ eventType: EV.SESSION_END, name: 'lex_intent_fulfilled' });
    expect(terminal(d)!.metadata).toMatchObject({ bot_name: 'Banking', intent_name: 'BookAppointment', intent_state: 'Fulfilled', slots: { Date: '1*2#' } });
    expect(d.responses.flatMap((x) => x.prompts).every((p) => !p.isBargeInEnabled)).toBe(true);
    await eventually(() => lex.calls('DeleteSession').some((c) => c.sessionId === sessionId));
  });

  it('Lex requests reuse kept-alive connections (no new TCP/TLS handshake per turn), one request at a time on each', async () => {
    const before = lex.calls('RecognizeUtterance').length;
    const callers = [t.caller({ agentId: AGENT }), t.caller({ agentId: AGENT }), t.caller({ agentId: AGENT })];
    // Three welcomes at once: at most three connections (each carries one request at a time, so replies never
    // queue behind another call's in one connection's flow-control window).
    lex.delay('RecognizeUtterance', 200);
    try {
      await Promise.all(callers.map(async (c) => ok(await c.startSession())));
    } finally {
      lex.delay('RecognizeUtterance', 0);
    }
    // Then one turn after the other: all on one of those connections.
    for (const c of callers) ok(await c.sendDtmf('12#'));
    const mine = lex.calls('RecognizeUtterance').slice(before);
    expect(mine).toHaveLength(6);
    const welcomes = new Set(mine.slice(0, 3).map((r) => r.connection));
    const turns = new Set(mine.slice(3).map((r) => r.connection));
    expect(turns.size).toBe(1);
    expect(welcomes.size).toBe(3);
    expect(welcomes.has([...turns][0])).toBe(true);
    await Promise.all(callers.map((c) => c.endSession()));
  });

  it('a 16 kHz caller\'s speech goes as L16 at 16 kHz, not resampled', async () => {
    const L16: import('@app/audio').AudioFormat = { encoding: 'linear16', sampleRate: 16000 };
    const caller = t.caller({ agentId: AGENT, format: L16 });
    ok(await caller.startSession());
    lex.hear('book an appointment');
    const pcm = speechBurst(600, 0, 16000);
    const r = ok(await caller.sendAudio({ data: new Uint8Array(pcm.buffer), format: L16 }, { pace: false, trailingSilenceMs: 1500 }));
    expect(text(r)).toBe(TINY_BOT.askDate);
    const req = lex.calls('RecognizeUtterance').at(-1)!;
    expect([req.contentType, req.sampleRate]).toEqual(['audio/l16; rate=16000; channels=1', 16000]);
    expect(req.audio!.length).toBeGreaterThan(16000);
    await caller.endSession();
  });

  it('transfer intent → TRANSFER_TO_AGENT with bot, intent, state, slots and attributes; custom-event attributes reach Lex', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    ok(await caller.sendEvent('CUSTOM_EVENT', 'context', { ani: '+441234', account_id: 'A-77' }));
    lex.hear('agent please');
    const r = ok(await caller.sendAudio(utterance(), { pace: false, trailingSilenceMs: 1500 }));
    expect(lex.calls('RecognizeUtterance').at(-1)!.sessionState?.sessionAttributes).toMatchObject({ ani: '+441234', account_id: 'A-77' });
    expect(text(r)).toBe(TINY_BOT.transfer);
    const e = terminal(r)!;
    expect([EV[e.eventType], e.name]).toEqual(['TRANSFER_TO_AGENT', 'lex_transfer_intent']);
    expect(e.metadata).toMatchObject({ bot_name: 'Banking', intent_name: 'TransferToAgent', intent_state: 'Fulfilled', session_attributes: { ani: '+441234', account_id: 'A-77' } });
    expect(e.metadata).not.toHaveProperty('transcript');
  });

  it('Failed intent transfers', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    lex.hear('this will fail');
    const r = ok(await caller.sendAudio(utterance(), { pace: false, trailingSilenceMs: 1500 }));
    expect(terminal(r)).toMatchObject({ eventType: EV.TRANSFER_TO_AGENT, name: 'lex_intent_failed' });
  });

  it('Lex voice/DTMF session attributes become the next input settings', async () => {
    lex.onTurn((turn) =>
      turn.input === 'hello'
        ? {
            messages: ['Enter your card number.'],
            sessionState: {
              dialogAction: { type: 'ElicitSlot', slotToElicit: 'Card' },
              intent: { name: 'Pay', state: 'InProgress', slots: {} },
              sessionAttributes: { 'x-amz-lex:dtmf:max-length:Pay:Card': '16', 'x-amz-lex:dtmf:end-character:*:*': '#', 'x-amz-lex:audio:start-timeout-ms:*:*': '4000', 'x-amz-lex:allow-interrupt:*:*': 'false' },
            },
          }
        : undefined,
    );
    const caller = t.caller({ agentId: AGENT });
    const w = ok(await caller.startSession()).responses[0];
    expect(w.inputHandlingConfig?.dtmfConfig?.dtmfInputLength).toBe(16);
    expect(w.inputHandlingConfig?.speechTimers?.noInputTimeoutMsec).toBe(4000);
    expect(w.prompts[0].isBargeInEnabled).toBe(false);
    await caller.endSession();
  });

  it('Lex\'s audio end timeout is the end silence of the next turn: END_OF_INPUT comes sooner', async () => {
    // The utterance Lex receives runs to where the gateway decided END_OF_INPUT: its length shows the end silence.
    const turn = async (paced: boolean) => {
      const caller = t.caller({ agentId: AGENT });
      ok(await caller.startSession());
      lex.hear('book an appointment');
      const r = ok(await caller.sendAudio(utterance(), { pace: paced, trailingSilenceMs: 1500 }));
      expect(text(r)).toBe(TINY_BOT.askDate);
      await caller.endSession();
      return { r, bytes: lex.calls('RecognizeUtterance').filter((c) => c.audio).at(-1)!.audio!.length };
    };
    const configured = await turn(false); // end_silence_ms: 1000
    lex.onTurn((x) =>
      x.input === 'hello'
        ? {
            messages: [TINY_BOT.greeting],
            sessionState: { dialogAction: { type: 'ElicitIntent' }, intent: { name: 'Greeting', state: 'InProgress', slots: {} }, sessionAttributes: { 'x-amz-lex:audio:end-timeout-ms:*:*': '200' } },
          }
        : undefined,
    );
    const short = await turn(false);
    // 800 ms less silence at 8 kHz, 2 bytes a sample: 12800 bytes fewer; asked for half of that.
    expect(configured.bytes - short.bytes).toBeGreaterThan(6400);
    // In real time too: the configured end silence alone would take 1000 ms after the 600 ms of speech.
    const paced = await turn(true);
    expect(paced.r.endOfInputAtMs! - paced.r.startOfInputAtMs!).toBeLessThan(1400);
  });

  it('Lex\'s DTMF deletion character clears the digits entered before it (only when Lex set one)', async () => {
    lex.onTurn((x) =>
      x.input === 'hello'
        ? {
            messages: [TINY_BOT.greeting],
            sessionState: { dialogAction: { type: 'ElicitIntent' }, intent: { name: 'Greeting', state: 'InProgress', slots: {} }, sessionAttributes: { 'x-amz-lex:dtmf:deletion-character:*:*': '*' } },
          }
        : undefined,
    );
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    ok(await caller.sendDtmf('12*3#'));
    expect(lex.calls('RecognizeUtterance').at(-1)!.text).toBe('3#');
    await caller.endSession();
  });

  it('no input replays Lex\'s last prompt, then transfers once exhausted', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    const calls = lex.calls('RecognizeUtterance').length;
    for (let i = 0; i < 2; i++) expect(text(ok(await caller.sendEvent('NO_INPUT')))).toBe(TINY_BOT.greeting);
    const r = ok(await caller.sendEvent('NO_INPUT'));
    expect(terminal(r)).toMatchObject({ eventType: EV.TRANSFER_TO_AGENT, name: 'no_input_exhausted' });
    expect(lex.calls('RecognizeUtterance').length).toBe(calls);
  });

  it('Lex heard nothing and said nothing: the caller hears the last prompt again, never silence', async () => {
    lex.onTurn((turn) =>
      turn.input === '7'
        ? { messages: [], inputTranscript: '', audio: 'none', sessionState: { dialogAction: { type: 'ElicitIntent' }, intent: { name: 'FallbackIntent', state: 'InProgress', slots: {} } } }
        : undefined,
    );
    const caller = t.caller({ agentId: AGENT });
    const w = ok(await caller.startSession());
    const r = ok(await caller.sendDtmf('7'));
    expect(text(r)).toBe(TINY_BOT.greeting);
    expect(r.responses[0].prompts[0].audioContent).toEqual(w.responses[0].prompts[0].audioContent);
    await caller.endSession();
  });

  it('turns where Lex heard nothing count toward max_no_input with NO_INPUT events; a heard turn starts over', async () => {
    lex.onTurn((turn) =>
      turn.input === '7'
        ? { messages: [TINY_BOT.noInput], inputTranscript: '', sessionState: { dialogAction: { type: 'ElicitIntent' }, intent: { name: 'FallbackIntent', state: 'InProgress', slots: {} } } }
        : undefined,
    );
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    ok(await caller.sendEvent('NO_INPUT'));
    ok(await caller.sendEvent('NO_INPUT'));
    // Lex heard '8' (not understood): the count starts over.
    expect(text(ok(await caller.sendDtmf('8')))).toBe(TINY_BOT.notUnderstood);
    ok(await caller.sendEvent('NO_INPUT'));
    const replayed = ok(await caller.sendDtmf('7'));
    expect(text(replayed)).toBe(TINY_BOT.noInput);
    expect(terminal(replayed)).toBeUndefined();
    const r = ok(await caller.sendDtmf('7'));
    expect(terminal(r)).toMatchObject({ eventType: EV.TRANSFER_TO_AGENT, name: 'no_input_exhausted' });
  });

  it('throttling is retried inside the turn', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    const before = lex.calls('RecognizeUtterance').length;
    lex.failNext('RecognizeUtterance', 'throttle', 2);
    const r = ok(await caller.sendDtmf('5'));
    expect(text(r)).toBe(TINY_BOT.notUnderstood);
    expect(events(r)).toEqual([]);
    expect(lex.calls('RecognizeUtterance').length - before).toBe(3);
    await caller.endSession();
  });

  it.each([
    ['a reset stream', 'reset'],
    ['a dropped connection', 'disconnect'],
    ['a 502', 'bad-gateway'],
    ['a hung request (attempt timeout)', 'hang'],
  ] as const)('%s is retried', async (_name, kind) => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    const before = lex.calls('RecognizeUtterance').length;
    lex.failNext('RecognizeUtterance', kind, 1);
    const r = ok(await caller.sendDtmf('5'));
    expect(text(r)).toBe(TINY_BOT.notUnderstood);
    expect(events(r)).toEqual([]);
    expect(lex.calls('RecognizeUtterance').length - before).toBe(2);
    await caller.endSession();
  });

  it('a 4xx is not retried', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    const before = lex.calls('RecognizeUtterance').length;
    lex.failNext('RecognizeUtterance', 'validation', 1);
    const r = ok(await caller.sendDtmf('5'));
    expect(events(r)).toEqual([['CUSTOM_EVENT', 'error_occurred']]);
    expect(lex.calls('RecognizeUtterance').length - before).toBe(1);
    await caller.endSession();
  });

  it('a slow Lex answer for one call does not delay another call', async () => {
    lex.onTurn(async (turn) => {
      if (turn.input === '9') await new Promise((r) => setTimeout(r, 800)); // inside request_timeout_ms (1 s)
      return undefined;
    });
    const slow = t.caller({ agentId: AGENT });
    const quick = t.caller({ agentId: AGENT });
    ok(await slow.startSession());
    ok(await quick.startSession());
    const asked = lex.calls('RecognizeUtterance').length;
    let slowAnswered = false;
    const slowTurn = slow.sendDtmf('9').finally(() => (slowAnswered = true));
    await eventually(() => lex.calls('RecognizeUtterance').length > asked, 3000); // the slow call is at Lex
    ok(await quick.sendDtmf('5'));
    expect(slowAnswered).toBe(false); // answered while the slow call still waited on Lex
    ok(await slowTurn);
    await Promise.all([slow.endSession(), quick.endSession()]);
  });

  it('writes no transcript, slot value or session attribute value to the logs at info level', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    ok(await caller.sendEvent('CUSTOM_EVENT', 'context', { account_id: 'SECRET-ACCOUNT-991' }));
    lex.hear('book an appointment');
    ok(await caller.sendAudio(utterance(), { pace: false, trailingSilenceMs: 1500 }));
    ok(await caller.sendDtmf('4111'));
    // Conversation ids are random UUIDs, which now and then hold the digits themselves: they are not what is checked.
    const info = JSON.stringify(logs.filter((l) => (l.level as number) >= 30)).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>');
    expect(info.length).toBeGreaterThan(100);
    for (const secret of ['book an appointment', 'SECRET-ACCOUNT-991', '4111', TINY_BOT.askDate]) expect(info).not.toContain(secret);
  });

  it('Lex down: the apology first, then a transfer (lex_unavailable), never silence', async () => {
    const caller = t.caller({ agentId: AGENT });
    ok(await caller.startSession());
    lex.failNext('RecognizeUtterance', 'internal', 100);
    try {
      const first = ok(await caller.sendDtmf('5'));
      expect(events(first)).toEqual([['CUSTOM_EVENT', 'error_occurred']]);
      expect(text(first)).toMatch(/sorry/i);
      expect(first.responses[0].prompts[0].audioContent.length).toBeGreaterThan(1000); // never silence
      const second = ok(await caller.sendDtmf('5'));
      expect(terminal(second)).toMatchObject({ eventType: EV.TRANSFER_TO_AGENT, name: 'lex_unavailable' });
    } finally {
      lex.failNext('RecognizeUtterance', 'internal', 0);
    }
  });
});

describe('a slow Lex, the turn budget and the turn deadline', () => {
  it('refuses at start-up a turn budget that is not below the engine\'s turn deadline', async () => {
    const lex = await FakeLexServer.start({});
    try {
      const bots = [{ bot_id: 'BANKBOT001', alias_id: 'LIVEALIAS1', agent_name: 'Banking' }];
      await expect(startTestGateway({ connectors: { lex: { ...lexConnector(lex, { bots }), timeouts: { turn_ms: 500, end_ms: 1000 } } } })).rejects.toThrow(
        /connectors\.lex\.config\.turn_budget_ms \(4000\) must be below connectors\.lex\.timeouts\.turn_ms \(500\)/,
      );
    } finally {
      await lex.stop();
    }
  });

  it('WxCC cancelling the RPC aborts the SDK request in flight (no retry after it)', async () => {
    const lex = await FakeLexServer.start({});
    const t = await startTestGateway({
      connectors: { lex: lexConnector(lex, { bots: [{ bot_id: 'BANKBOT001', alias_id: 'LIVEALIAS1', agent_name: 'Banking' }], request_timeout_ms: 5000 }) },
    });
    try {
      const caller = t.caller({ agentId: AGENT });
      ok(await caller.startSession());
      lex.delay('RecognizeUtterance', 3000);
      ok(await caller.sendEvent('START_OF_DTMF'));
      const turn = caller.openTurn('dtmf');
      turn.write(caller.request({ dtmfInput: { dtmfEvents: [5] } }));
      turn.halfClose();
      await eventually(() => lex.calls('RecognizeUtterance').length === 2, 2000);
      turn.cancel();
      await turn.result;
      const last = lex.calls('RecognizeUtterance').at(-1)!;
      await eventually(() => last.status !== undefined, 2000);
      expect(last.status).toBe(0); // the client went away
      expect(lex.calls('RecognizeUtterance').length).toBe(2);
    } finally {
      lex.delay('RecognizeUtterance', 0);
      await t.stop();
      await lex.stop();
    }
  });
});

describe('Lex welcome intent and circuit breaker', () => {
  let lex: FakeLexServer;
  let t: TestGateway;
  const bots = [{ bot_id: 'BANKBOT001', alias_id: 'LIVEALIAS1', agent_name: 'Banking' }];
  beforeAll(async () => {
    lex = await FakeLexServer.start({});
    t = await startTestGateway({
      connectors: {
        intent: lexConnector(lex, { bots, welcome: { intent: 'BookAppointment' } }),
        breaker: lexConnector(lex, { bots, max_retries: 0, circuit_failure_threshold: 2, circuit_open_ms: 60000 }),
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await lex?.stop();
  });

  it('welcome.intent starts that intent directly', async () => {
    const caller = t.caller({ agentId: 'intent: Banking' });
    const w = ok(await caller.startSession());
    expect(text(w)).toBe(TINY_BOT.askDate);
    expect(lex.calls('RecognizeUtterance').at(-1)!.sessionState).toMatchObject({ dialogAction: { type: 'Delegate' }, intent: { name: 'BookAppointment' } });
    await caller.endSession();
  });

  it('after repeated failures a bot fails fast, without calling Lex', async () => {
    const caller = t.caller({ agentId: 'breaker: Banking' });
    ok(await caller.startSession());
    lex.failNext('RecognizeUtterance', 'internal', 2);
    expect(events(ok(await caller.sendDtmf('5')))).toEqual([['CUSTOM_EVENT', 'error_occurred']]);
    expect(terminal(ok(await caller.sendDtmf('5')))).toMatchObject({ eventType: EV.TRANSFER_TO_AGENT, name: 'lex_unavailable' });
    const before = lex.calls('RecognizeUtterance').length;
    const other = t.caller({ agentId: 'breaker: Banking' });
    const w = ok(await other.startSession());
    expect(events(w)).toEqual([['CUSTOM_EVENT', 'error_occurred']]);
    expect(lex.calls('RecognizeUtterance').length).toBe(before);
    await other.endSession();
    // Monitoring reads it through the registry: the open circuit, the other connector fine.
    const health = t.gw.app.get(ConnectorRegistry).connectorHealth();
    expect(health.breaker).toMatchObject({ degraded: true, openCircuits: ['breaker: Banking'], discovery: { healthy: true } });
    expect(health.intent).toMatchObject({ degraded: false, openCircuits: [] });
    // ... and shows it over HTTP: the status per connector, the metric, the Python field.
    const status: any = await (await fetch(`http://${t.gw.httpAddress}/api/status`)).json();
    expect(status.connectors.find((c: { id: string }) => c.id === 'breaker')).toMatchObject({ degraded: true, health: { openCircuits: ['breaker: Banking'] } });
    expect(status.connectors.find((c: { id: string }) => c.id === 'intent')).toMatchObject({ degraded: false });
    expect(status.health.grpc_status).toBe('DEGRADED');
    expect(await (await fetch(`http://${t.gw.httpAddress}/metrics`)).text()).toContain('byova_connector_degraded{connector="breaker"} 1');
  });
});
describe('Lex bot discovery', () => {
  it('follows every page of ListBots and ListBotAliases, Available only', async () => {
    const alias = (id: string, name: string, day: number) => ({ botAliasId: id, botAliasName: name, lastUpdatedDateTime: new Date(Date.UTC(2026, 0, day)) });
    const bots = ['Alpha', 'Bravo', 'Charlie', 'Delta'].map((n, i) => ({
      botId: `BOT${i}`,
      botName: n,
      botStatus: n === 'Charlie' ? ('Creating' as const) : ('Available' as const),
      aliases: [alias(`T${i}`, 'TestBotAlias', 9), alias(`L${i}`, 'live', 2), alias(`S${i}`, 'staging', 3)],
    }));
    const lex = await FakeLexServer.start({ bots, pageSize: 1 });
    const t = await startTestGateway({ connectors: { lex: lexConnector(lex) } });
    try {
      expect((await t.caller().listAgents()).virtualAgents.map((a) => a.virtualAgentId)).toEqual(['lex: Alpha', 'lex: Bravo', 'lex: Delta']);
      expect(lex.calls('ListBots').length).toBe(4);
      expect(lex.calls('ListBotAliases').filter((c) => c.path.includes('BOT0')).length).toBe(3);
      const caller = t.caller({ agentId: 'lex: Delta' });
      ok(await caller.startSession());
      expect(lex.calls('RecognizeUtterance').at(-1)!.aliasId).toBe('S3');
    } finally {
      await t.stop();
      await lex.stop();
    }
  });

  it('bots given by name are looked up (bot_name, alias_name), even the TestBotAlias when named', async () => {
    const lex = await FakeLexServer.start({});
    const t = await startTestGateway({ connectors: { lex: lexConnector(lex, { bots: [{ bot_name: 'Banking', alias_name: 'TestBotAlias', agent_name: 'Banking draft' }] }) } });
    try {
      expect((await t.caller().listAgents()).virtualAgents.map((a) => a.virtualAgentId)).toEqual(['lex: Banking draft']);
      const caller = t.caller({ agentId: 'lex: Banking draft' });
      ok(await caller.startSession());
      expect(lex.calls('RecognizeUtterance').at(-1)!.aliasId).toBe('TSTALIASID');
    } finally {
      await t.stop();
      await lex.stop();
    }
  });

  it('a bot deployed after start-up is listed and takes calls after the next refresh; a removed one leaves the list, its call in progress goes on', async () => {
    const lex = await FakeLexServer.start({});
    const t = await startTestGateway({ connectors: { lex: lexConnector(lex, { discovery_refresh_seconds: 1 }) } });
    const ids = async () => (await t.caller().listAgents()).virtualAgents.map((a) => a.virtualAgentId).sort();
    try {
      expect(await ids()).toEqual([AGENT]);
      const onBanking = t.caller({ agentId: AGENT });
      ok(await onBanking.startSession());
      const travel = { botId: 'TRAVELBOT1', botName: 'Travel', aliases: [{ botAliasId: 'TRVLALIAS1', botAliasName: 'live', lastUpdatedDateTime: new Date('2026-03-01T00:00:00Z') }] };
      lex.setBots([travel]);
      await eventually(async () => (await ids()).join() === 'lex: Travel', 4000);
      const onTravel = t.caller({ agentId: 'lex: Travel' });
      ok(await onTravel.startSession());
      expect(lex.calls('RecognizeUtterance').at(-1)!.botId).toBe('TRAVELBOT1');
      // Banking is gone for new calls, but the call that started on it still reaches its bot.
      expect((await t.caller({ agentId: AGENT }).startSession()).status.code).not.toBe(0);
      ok(await onBanking.sendDtmf('5'));
      expect(lex.calls('RecognizeUtterance').at(-1)!.botId).toBe('BANKBOT001');
    } finally {
      await t.stop();
      await lex.stop();
    }
  });

  it('a refresh picks up a newly deployed alias for new calls, without disturbing a call in progress; a failed one keeps the last list', async () => {
    const lex = await FakeLexServer.start({});
    const t = await startTestGateway({ connectors: { lex: lexConnector(lex, { discovery_refresh_seconds: 1 }) } });
    try {
      const old = t.caller({ agentId: AGENT });
      ok(await old.startSession());
      expect(lex.calls('RecognizeUtterance').at(-1)!.aliasId).toBe('LIVEALIAS1');
      lex.setBots([
        {
          botId: 'BANKBOT001',
          botName: 'Banking',
          aliases: [
            { botAliasId: 'LIVEALIAS1', botAliasName: 'live', lastUpdatedDateTime: new Date('2026-01-02T00:00:00Z') },
            { botAliasId: 'NEWALIAS01', botAliasName: 'v2', lastUpdatedDateTime: new Date('2026-06-01T00:00:00Z') },
          ],
        },
      ]);
      const before = lex.calls('ListBotAliases').length;
      // Wait for a refresh that has taken in the new alias list: one finished after a ListBotAliases answered
      // after the change (a fixed pause after the answer was not always enough for the gateway to swap lists).
      const lastRefresh = () => (t.gw.app.get(ConnectorRegistry).connectorHealth().lex.discovery as { lastRefreshAt?: string }).lastRefreshAt;
      await eventually(() => {
        const answered = lex.calls('ListBotAliases').slice(before).find((c) => c.respondedAt !== undefined);
        const at = lastRefresh();
        return answered !== undefined && at !== undefined && Date.parse(at) >= Math.floor(answered.respondedAt!);
      }, 4000);
      const fresh = t.caller({ agentId: AGENT });
      ok(await fresh.startSession());
      expect(lex.calls('RecognizeUtterance').at(-1)!.aliasId).toBe('NEWALIAS01');
      // the call started before the refresh goes on with the alias it started with
      ok(await old.sendDtmf('5'));
      expect(lex.calls('RecognizeUtterance').at(-1)!.aliasId).toBe('LIVEALIAS1');

      lex.failNext('ListBots', 'access-denied', 1000);
      const failedFrom = lex.calls('ListBots').length;
      await eventually(() => lex.calls('ListBots').length > failedFrom + 1, 4000);
      const third = t.caller({ agentId: AGENT });
      ok(await third.startSession());
      expect(lex.calls('RecognizeUtterance').at(-1)!.aliasId).toBe('NEWALIAS01');
    } finally {
      await t.stop();
      await lex.stop();
    }
  });
});
