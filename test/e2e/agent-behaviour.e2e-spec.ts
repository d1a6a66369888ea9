import { status } from '@grpc/grpc-js';
import { OutputEvent_EventType as EV, VoiceVAInputMode, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { scriptedLog } from '../fixtures/scripted-connector';
import { ok, scriptedConnector, startTestGateway, TestGateway } from './harness';

const AGENT = 'Scripted: bot';

describe('connector plugin loaded from config, replies and failures', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ connectors: { scripted: scriptedConnector({}, { dtmf: { length: 2 }, speech: { no_input_timeout_ms: 0 } }) } });
  });
  afterAll(() => t.stop());
  beforeEach(() => scriptedLog.splice(0));

  it('lists the plugin agent with its attributes', async () => {
    const res = await t.caller().listAgents();
    expect(res.virtualAgents).toEqual([{ virtualAgentId: AGENT, virtualAgentName: 'bot', isDefault: true, attributes: { kind: 'scripted' } }]);
  });

  it('applies per-agent defaults and the agent\'s own wishes for the next input', async () => {
    const caller = t.caller({ agentId: AGENT });
    const w = ok(await caller.startSession()).responses[0];
    expect(w.inputHandlingConfig?.dtmfConfig?.dtmfInputLength).toBe(4); // reply's next.dtmf.length wins over config's 2
    const r = ok(await caller.sendDtmf('55')).responses[0];
    expect(r.inputMode).toBe(VoiceVAInputMode.INPUT_EVENT_DTMF);
    expect(r.inputSensitive).toBe(true);
    expect(r.inputHandlingConfig?.speechTimers?.noInputTimeoutMsec).toBe(4000);
    expect(r.inputHandlingConfig?.dtmfConfig?.dtmfInputLength).toBe(2); // back to the configured default
    await caller.endSession();
  });

  it('turns a connector failure into the agent\'s apology plus error_occurred, with no internal detail', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const r = await caller.sendDtmf('1');
    expect(r.status.code).toBe(status.OK);
    expect(r.responses).toHaveLength(1);
    const final = r.responses[0];
    expect(final.responseType).toBe(RT.FINAL);
    expect(final.outputEvents.map((e) => [EV[e.eventType], e.name])).toEqual([['CUSTOM_EVENT', 'error_occurred']]);
    expect(final.prompts[0].text).toBe('scripted apology');
    expect(JSON.stringify(r.responses)).not.toMatch(/secret|hunter2|exploded/);
    // the call goes on
    expect(ok(await caller.sendDtmf('55')).responses[0].prompts[0].text).toBe('digits 55');
    await caller.endSession();
  });

  it('sends one terminal event with its metadata and never lets terminal prompts be barged in', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const r = ok(await caller.sendDtmf('4')).responses;
    expect(r).toHaveLength(1);
    expect(r[0].outputEvents).toEqual([{ eventType: EV.TRANSFER_TO_AGENT, name: 'transfer_requested', metadata: { queue: 'sales', priority: 2 } }]);
    expect(r[0].prompts[0].isBargeInEnabled).toBe(false);
    expect(scriptedLog.filter((c) => c.op === 'end').map((c) => c.reason)).toEqual(['transferred']);

    const c2 = t.caller({ agentId: AGENT });
    await c2.startSession();
    const s = ok(await c2.sendDtmf('3')).responses[0];
    expect(s.outputEvents).toEqual([{ eventType: EV.SESSION_END, name: 'done', metadata: { reason: 'test' } }]);
    expect(s.prompts[0].isBargeInEnabled).toBe(false);
    expect(scriptedLog.filter((c) => c.op === 'end').map((c) => c.reason)).toEqual(['transferred', 'agent_ended']);
    expect(t.gw.engine.conversationCount).toBe(0);
  });

  it('passes custom events through and answers a null reply with only the next-input settings', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const custom = ok(await caller.sendDtmf('7')).responses[0];
    expect(custom.outputEvents).toEqual([{ eventType: EV.CUSTOM_EVENT, name: 'flow_action', metadata: { step: 'x' } }]);
    const empty = ok(await caller.sendDtmf('8')).responses;
    expect(empty).toHaveLength(1);
    expect(empty[0]).toMatchObject({ prompts: [], outputEvents: [], responseType: RT.FINAL, inputMode: VoiceVAInputMode.INPUT_VOICE_DTMF });
    await caller.endSession();
  });

  it('tells the connector the caller hung up, once, and echoes nothing', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const end = await caller.endSession();
    expect([end.status.code, end.responses.length]).toEqual([status.OK, 0]);
    expect(scriptedLog.filter((c) => c.op === 'end')).toEqual([expect.objectContaining({ reason: 'caller_hangup', conversationId: caller.conversationId })]);
  });

  it('serialises concurrent RPCs of one conversation', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const slow = ['2', '2', '2'].map(() => {
      const turn = caller.openTurn();
      turn.write(caller.request({ dtmfInput: { dtmfEvents: [2] } })); // answers after 150 ms
      turn.halfClose();
      return turn.result;
    });
    const results = await Promise.all(slow);
    expect(results.map((r) => r.status.code)).toEqual([0, 0, 0]);
    const inputs = scriptedLog.filter((c) => c.op === 'input');
    expect(inputs).toHaveLength(3);
    for (let i = 1; i < inputs.length; i++) expect(inputs[i].startedAt).toBeGreaterThanOrEqual(inputs[i - 1].finishedAt!);
    await caller.endSession();
  });

  it('hands custom events with their parameters to the agent', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const r = ok(await caller.sendEvent('CUSTOM_EVENT', 'survey_done', { score: 5, tags: ['a', 'b'] }));
    expect(r.responses[0].prompts[0].text).toBe('heard event');
    expect(scriptedLog.find((c) => c.op === 'input')?.input).toEqual({ kind: 'event', name: 'survey_done', parameters: { score: 5, tags: ['a', 'b'] } });
    await caller.endSession();
  });

  it('starts a conversation that missed SESSION_START silently, then answers the input', async () => {
    const caller = t.caller({ agentId: AGENT });
    const r = ok(await caller.sendDtmf('55'));
    expect(r.responses.map((x) => x.prompts[0]?.text)).toEqual(['digits 55']); // no welcome played mid-call
    expect(scriptedLog.map((c) => c.op)).toEqual(['start', 'input']);
    await caller.endSession();
  });
});

describe('an agent that fails to start', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ connectors: { scripted: scriptedConnector({ fail_start: true }) } });
  });
  afterAll(() => t.stop());

  it('apologises on SESSION_START, retries the start on the next input, and is still ended cleanly', async () => {
    scriptedLog.splice(0);
    const caller = t.caller({ agentId: AGENT });
    const w = await caller.startSession();
    expect(w.status.code).toBe(status.OK);
    expect(w.responses.map((r) => [r.prompts[0]?.text, r.outputEvents[0]?.name])).toEqual([['scripted apology', 'error_occurred']]);
    expect(JSON.stringify(w.responses)).not.toMatch(/exploded/);
    const again = ok(await caller.sendDtmf('55'));
    expect(again.responses[0].outputEvents[0]?.name).toBe('error_occurred');
    expect(scriptedLog.filter((c) => c.op === 'start')).toHaveLength(2);
    await caller.endSession();
    expect(t.gw.engine.conversationCount).toBe(0);
  });
});

describe('CHUNK reply mode', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ connectors: { scripted: scriptedConnector({ welcome_ms: 50 }, { reply_mode: 'chunk' }) } });
  });
  afterAll(() => t.stop());

  it('streams raw audio as CHUNKs of 100 B..64 KiB, then one audio-less FINAL', async () => {
    const caller = t.caller({ agentId: AGENT });
    const welcome = ok(await caller.startSession());
    expect(welcome.violations).toEqual([]);
    expect(welcome.responses.map((r) => RT[r.responseType])).toEqual(['CHUNK', 'FINAL']);
    expect(welcome.responses[0].prompts[0].audioContent.length).toBe(400); // 50 ms at 8 kHz, no WAV header
    const long = ok(await caller.sendDtmf('9')); // 10 s = 80,000 bytes
    expect(long.violations).toEqual([]);
    const chunks = long.responses.filter((r) => r.responseType === RT.CHUNK);
    expect(chunks).toHaveLength(2);
    const sizes = chunks.map((c) => c.prompts[0].audioContent.length);
    expect(sizes.reduce((a, b) => a + b)).toBe(80_000);
    for (const s of sizes) expect(s).toBeLessThanOrEqual(65_536);
    const finals = long.responses.filter((r) => r.responseType === RT.FINAL);
    expect(finals).toHaveLength(1);
    expect(finals[0].prompts.every((p) => p.audioContent.length === 0)).toBe(true);
    expect(long.responses.at(-1)).toBe(finals[0]);
    await caller.endSession();
  });
});

describe('hang-up while another RPC of the call is open', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ connectors: { scripted: scriptedConnector() } });
  });
  afterAll(() => t.stop());

  it('ends the call at once and completes the open audio RPC', async () => {
    scriptedLog.splice(0);
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const audio = caller.openTurn();
    const frame = caller.request({ audioInput: { callerAudio: new Uint8Array(160).fill(0xff), encoding: 2, sampleRateHertz: 8000, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } });
    audio.write(frame);
    const feeding = setInterval(() => audio.write(frame), 20);
    try {
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      const end = await caller.endSession();
      expect([end.status.code, end.responses.length]).toEqual([status.OK, 0]);
      expect(Date.now() - started).toBeLessThan(2000); // not held by the open RPC (the end may wait end_ms, 5 s, for calls)
      expect((await audio.result).status.code).toBe(status.OK);
      expect(scriptedLog.filter((c) => c.op === 'end').map((c) => c.reason)).toEqual(['caller_hangup']);
      expect(t.gw.engine.conversationCount).toBe(0);
    } finally {
      clearInterval(feeding);
    }
  });
});
