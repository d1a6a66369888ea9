import { status } from '@grpc/grpc-js';
import { encodeFromPcm16 } from '@app/audio';
import { OutputEvent_EventType as EV, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { scriptedLog } from '../fixtures/scripted-connector';
import { eventually, ok, scriptedConnector, sleep, speechBurst, startTestGateway, TestGateway } from './harness';

const AGENT = 'Scripted: bot';
const kinds = (rs: { responseType: number; outputEvents: { eventType: number }[] }[]) =>
  rs.map((r) => (r.outputEvents[0] ? EV[r.outputEvents[0].eventType] : RT[r.responseType]));

describe('conversation lifetime: limits, timeouts, vanished callers', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      sessions: { max_sessions: 3, timeout: 0.4, cleanup_interval: 0.1, max_session_duration: 60 },
      voice_activity_detection: { end_silence_ms: 300 },
      connectors: { scripted: scriptedConnector() },
    });
  });
  afterAll(() => t.stop());
  beforeEach(() => scriptedLog.splice(0));

  it('refuses conversations beyond sessions.max_sessions with RESOURCE_EXHAUSTED', async () => {
    const callers = [1, 2, 3].map(() => t.caller({ agentId: AGENT }));
    for (const c of callers) expect((await c.startSession()).status.code).toBe(status.OK);
    const extra = await t.caller({ agentId: AGENT }).startSession();
    expect(extra.status.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(extra.status.details).toMatch(/limit 3/);
    // existing calls are unaffected
    expect((await callers[0].sendDtmf('55')).status.code).toBe(status.OK);
    for (const c of callers) await c.endSession();
    expect(t.gw.engine.conversationCount).toBe(0);
  });

  it('ends idle conversations and tells the connector why', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    expect(t.gw.engine.conversationCount).toBe(1);
    await eventually(() => t.gw.engine.conversationCount === 0, 3000);
    expect(scriptedLog.filter((c) => c.op === 'end').map((c) => c.reason)).toEqual(['idle_timeout']);
  });

  it('does not end a conversation as idle while one of its RPCs is open', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const turn = caller.openTurn();
    const silence = new Uint8Array(160).fill(0xff);
    const first = caller.request({ audioInput: { callerAudio: silence, encoding: 2, sampleRateHertz: 8000, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } });
    turn.write(first);
    for (let i = 0; i < 40; i++) {
      await sleep(20);
      turn.write(caller.request({ audioInput: { ...first.audioInput!, encoding: 0, sampleRateHertz: 0 } }));
    }
    expect(t.gw.engine.conversationCount).toBe(1); // 800 ms > idle timeout of 400 ms
    turn.halfClose();
    expect((await turn.result).status.code).toBe(status.OK);
    await caller.endSession();
  });

  it('survives callers that cancel mid-RPC or vanish, and cleans up after them', async () => {
    const callers = [1, 2, 3].map(() => t.caller({ agentId: AGENT }));
    for (const c of callers) await c.startSession();
    // cancel in the middle of speech
    const speech = encodeFromPcm16(speechBurst(2000, 0), 'mulaw');
    const a = callers[0].openTurn();
    for (let i = 0; i < 20; i++) {
      a.write(callers[0].request({ audioInput: { callerAudio: speech.subarray(i * 160, (i + 1) * 160), encoding: 2, sampleRateHertz: 8000, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } }));
    }
    await sleep(50);
    a.cancel();
    expect((await a.result).status.code).toBe(status.CANCELLED);
    // cancel while the connector is answering
    const b = callers[1].openTurn();
    b.write(callers[1].request({ dtmfInput: { dtmfEvents: [2] } }));
    b.halfClose();
    await sleep(20);
    b.cancel();
    await b.result;
    // the third simply never comes back
    // the conversation is still usable after a cancelled RPC
    expect(ok(await callers[0].sendDtmf('55')).responses[0].prompts[0].text).toBe('digits 55');
    await eventually(() => t.gw.engine.conversationCount === 0, 3000);
    const ends = scriptedLog.filter((c) => c.op === 'end');
    expect(ends).toHaveLength(3);
    expect(new Set(ends.map((e) => e.reason))).toEqual(new Set(['idle_timeout']));
  });
});

describe('conversation maximum duration', () => {
  it('ends a conversation older than sessions.max_session_duration, completing its open RPC', async () => {
    const t = await startTestGateway({
      sessions: { max_session_duration: 1, cleanup_interval: 0.1 },
      connectors: { scripted: scriptedConnector() },
    });
    try {
      scriptedLog.splice(0);
      const caller = t.caller({ agentId: AGENT });
      await caller.startSession();
      const r = await caller.sendSilence(3000, { pace: true }); // outlives the conversation
      expect(r.status.code).toBe(status.OK);
      // Completed while the caller was still streaming (the paced 3 s cannot all be sent before 3 s).
      expect(r.timeline.map((e) => e.kind)).not.toContain('sent-all');
      expect(t.gw.engine.conversationCount).toBe(0);
      expect(scriptedLog.filter((c) => c.op === 'end').map((c) => c.reason)).toEqual(['max_duration']);
    } finally {
      await t.stop();
    }
  });
});

describe('caller audio formats, no-input and max speech', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      voice_activity_detection: { end_silence_ms: 300 },
      connectors: {
        scripted: scriptedConnector({}, { speech: { no_input_timeout_ms: 600, max_speech_ms: 1000 } }),
      },
    });
  });
  afterAll(() => t.stop());
  beforeEach(() => scriptedLog.splice(0));

  const formats = [
    ['mulaw', 8000],
    ['alaw', 8000],
    ['linear16', 8000],
    ['mulaw', 16000],
    ['alaw', 16000],
    ['linear16', 16000],
  ] as const;
  it.each(formats)('detects an utterance in %s at %i Hz and hands the connector 16-bit PCM', async (encoding, sampleRate) => {
    const caller = t.caller({ agentId: AGENT, format: { encoding, sampleRate } });
    await caller.startSession();
    const pcm = speechBurst(500, 0, sampleRate);
    const r = ok(await caller.sendAudio({ data: encodeFromPcm16(pcm, encoding), format: { encoding, sampleRate } }, { pace: false, trailingSilenceMs: 1000 }));
    expect(r.violations).toEqual([]);
    expect(kinds(r.responses)).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    const input = scriptedLog.find((c) => c.op === 'input')!.input!;
    expect(input.kind).toBe('speech');
    if (input.kind !== 'speech') return;
    expect(input.sampleRate).toBe(sampleRate);
    // the utterance holds the burst (with pre-roll) and the end silence, not the whole stream
    expect(input.durationMs).toBeGreaterThanOrEqual(500);
    expect(input.durationMs).toBeLessThan(500 + 300 + 300 + 100);
    const peak = input.audio.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(peak).toBeGreaterThan(6000);
    await caller.endSession();
  });

  it('falls back to mu-law 8 kHz when no frame declares a format', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const speech = encodeFromPcm16(speechBurst(500, 800), 'mulaw');
    const turn = caller.openTurn();
    for (let off = 0; off < speech.length; off += 160) {
      turn.write(caller.request({ audioInput: { callerAudio: speech.subarray(off, off + 160), encoding: 0, sampleRateHertz: 0, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } }));
    }
    turn.halfClose();
    const r = ok(await turn.result);
    expect(kinds(r.responses)).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    const input = scriptedLog.find((c) => c.op === 'input')!.input!;
    expect(input.kind === 'speech' && input.sampleRate).toBe(8000);
    await caller.endSession();
  });

  it('refuses a format change within an RPC', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const turn = caller.openTurn();
    const frame = (encoding: number, rate: number) =>
      caller.request({ audioInput: { callerAudio: new Uint8Array(160), encoding, sampleRateHertz: rate, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } });
    turn.write(frame(2, 8000));
    turn.write(frame(0, 0));
    turn.write(frame(2, 16000));
    turn.halfClose();
    const r = await turn.result;
    expect(r.status.code).toBe(status.INVALID_ARGUMENT);
    expect(r.status.details).toMatch(/format changed/);
    await caller.endSession();
  });

  it('sends NO_INPUT when the caller stays silent past the agent\'s no-input timeout, and lets the agent answer', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const r = ok(await caller.sendSilence(3000, { pace: true }));
    expect(kinds(r.responses)).toEqual(['NO_INPUT', 'FINAL']);
    expect(r.responses[1].prompts[0].text).toBe('heard no_input');
    expect(r.durationMs).toBeLessThan(2500); // on the 600 ms clock, not at the end of the 3 s stream
    await caller.endSession();
  });

  it('ends an over-long utterance at the agent\'s max speech duration', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const pcm = speechBurst(4000, 0);
    const r = ok(await caller.sendAudio({ data: encodeFromPcm16(pcm, 'mulaw'), format: { encoding: 'mulaw', sampleRate: 8000 } }, { pace: true, trailingSilenceMs: 0 }));
    expect(kinds(r.responses)).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    // Judged on the audio, not on arrival times (a late START_OF_INPUT shortens their gap): the utterance is max
    // speech (1 s) plus the pre-roll, not the 4 s burst. Less only if the backup clock cut first, which takes
    // frames held up for over CLOCK_SLACK_MS (250 ms): the lower bound leaves room for that on a busy machine.
    const input = scriptedLog.find((c) => c.op === 'input')!.input!;
    if (input.kind !== 'speech') throw new Error(input.kind);
    expect(input.durationMs).toBeGreaterThanOrEqual(800);
    expect(input.durationMs).toBeLessThanOrEqual(1000 + 300);
    expect(r.endOfInputAtMs! - r.startOfInputAtMs!).toBeLessThan(3000);
    await caller.endSession();
  });

  it('ignores noise below the energy threshold', async () => {
    const caller = t.caller({ agentId: AGENT });
    await caller.startSession();
    const quiet = speechBurst(1500, 0, 8000, 60); // about -55 dBFS
    const r = ok(await caller.sendAudio({ data: encodeFromPcm16(quiet, 'mulaw'), format: { encoding: 'mulaw', sampleRate: 8000 } }, { pace: false, trailingSilenceMs: 0 }));
    expect(kinds(r.responses)).not.toContain('START_OF_INPUT');
    await caller.endSession();
  });
});
