import { status } from '@grpc/grpc-js';
import { encodeFromPcm16, parseWav } from '@app/audio';
import { OutputEvent_EventType as EV, VoiceVAInputMode, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { LOCAL_AGENT, ok, scriptedConnector, speechBurst, startTestGateway, TestGateway } from './harness';

const mulaw = (pcm: Int16Array) => ({ data: encodeFromPcm16(pcm, 'mulaw'), format: { encoding: 'mulaw' as const, sampleRate: 8000 } });
const events = (r: { outputEvents: { eventType: number }[] }) => r.outputEvents.map((e) => EV[e.eventType]);

describe('BYOVA call flow over real gRPC (local audio agent)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ voice_activity_detection: { end_silence_ms: 400 } });
  });
  afterAll(() => t.stop());

  it('lists the local agent as the default, with the Python gateway id format', async () => {
    const res = await t.caller().listAgents();
    expect(res.virtualAgents).toEqual([{ virtualAgentId: LOCAL_AGENT, virtualAgentName: 'Local Playback', isDefault: true, attributes: {} }]);
  });

  it('runs a whole call: welcome, speech with reply, DTMF transfer, and leaves nothing behind', async () => {
    const caller = t.caller({ agentId: '' }); // Cisco's client names no agent
    const welcome = await caller.startSession();
    expect(welcome.status.code).toBe(status.OK);
    expect(welcome.violations).toEqual([]);
    expect(welcome.responses).toHaveLength(1);
    const w = welcome.responses[0];
    expect(w.responseType).toBe(RT.FINAL);
    expect(w.prompts[0].text).toMatch(/welcome/i);
    const wav = parseWav(w.prompts[0].audioContent);
    expect([wav.sampleFormat, wav.sampleRate, wav.channels]).toEqual(['mulaw', 8000, 1]);
    expect(wav.data.length).toBeGreaterThan(8000); // over a second of prompt
    expect(w.inputMode).toBe(VoiceVAInputMode.INPUT_VOICE_DTMF);
    expect(w.inputHandlingConfig?.dtmfConfig).toEqual({ dtmfInputLength: 1, interDigitTimeoutMsec: 300, termchar: 16 });
    expect(t.gw.engine.conversationCount).toBe(1);

    const speech = await caller.sendAudio(mulaw(speechBurst(600, 0)), { pace: true, trailingSilenceMs: 3000 });
    expect(speech.status.code).toBe(status.OK);
    expect(speech.violations).toEqual([]);
    expect(speech.responses.map((r) => [RT[r.responseType], ...events(r)])).toEqual([
      ['PARTIAL', 'START_OF_INPUT'],
      ['PARTIAL', 'END_OF_INPUT'],
      ['FINAL'],
    ]);
    expect(speech.responses[2].prompts[0].text).toMatch(/press 5/i);
    // The caller stopped streaming at END_OF_INPUT: 600 ms speech + 400 ms end silence (50 frames), not 3.6 s (180).
    // Loose: a late END_OF_INPUT lets the paced caller send more, in a burst after a stall.
    expect(speech.framesSent).toBeLessThan(130);
    expect(speech.endOfInputAtMs! - speech.startOfInputAtMs!).toBeGreaterThanOrEqual(400);

    const dtmf = await caller.sendDtmf('5');
    expect(dtmf.startOfDtmf.status.code).toBe(status.OK);
    expect(dtmf.startOfDtmf.responses).toEqual([]);
    expect(dtmf.status.code).toBe(status.OK);
    expect(dtmf.responses).toHaveLength(1);
    const transfer = dtmf.responses[0];
    expect(events(transfer)).toEqual(['TRANSFER_TO_AGENT']);
    expect(transfer.outputEvents[0].name).toBe('transfer_requested');
    expect(transfer.prompts[0].isBargeInEnabled).toBe(false);
    expect(dtmf.terminal?.type).toBe('TRANSFER_TO_AGENT');
    expect(t.gw.engine.conversationCount).toBe(0);

    // WxCC may still hang up afterwards: an unknown conversation's SESSION_END is simply OK.
    const bye = await caller.endSession();
    expect([bye.status.code, bye.responses.length]).toEqual([status.OK, 0]);
  });

  it('ends the call on DTMF 6 with SESSION_END and asks for no further input', async () => {
    const caller = t.caller();
    await caller.startSession();
    const r = ok(await caller.sendDtmf('6'));
    const final = r.responses[0];
    expect(events(final)).toEqual(['SESSION_END']);
    expect(final.outputEvents[0].name).toBe('session_ended');
    expect(final.inputMode).toBe(VoiceVAInputMode.INPUT_VOICE_MODE_UNSPECIFIED);
    expect(final.inputHandlingConfig).toBeUndefined();
    expect(t.gw.engine.conversationCount).toBe(0);
  });

  it('answers other digits with the default prompt and keeps the call', async () => {
    const caller = t.caller();
    await caller.startSession();
    const r = ok(await caller.sendDtmf('12#'));
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0].prompts[0].text).toMatch(/press 5/i);
    expect(t.gw.engine.conversationCount).toBe(1);
    const end = await caller.endSession();
    expect([end.status.code, end.responses.length]).toEqual([status.OK, 0]);
    expect(t.gw.engine.conversationCount).toBe(0);
  });

  it('answers a NO_INPUT event from WxCC with the no-input prompt', async () => {
    const caller = t.caller();
    await caller.startSession();
    const r = ok(await caller.sendEvent('NO_INPUT'));
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0].prompts[0].text).toMatch(/did not hear/i);
    await caller.endSession();
  });

  it('completes an RPC the client half-closes with nothing due', async () => {
    const caller = t.caller();
    await caller.startSession();
    const silence = await caller.sendSilence(300, { pace: false });
    expect([silence.status.code, silence.responses.length]).toEqual([status.OK, 0]);
    await caller.endSession();
  });

  it('finishes the utterance when the client half-closes mid-speech, instead of dropping it', async () => {
    const caller = t.caller();
    await caller.startSession();
    const r = ok(await caller.sendAudio(mulaw(speechBurst(500, 0)), { pace: false, trailingSilenceMs: 0 }));
    expect(r.responses.map((x) => events(x)[0] ?? RT[x.responseType])).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    await caller.endSession();
  });

  it('completes the RPC itself after the answer even when the client never half-closes', async () => {
    const caller = t.caller();
    await caller.startSession();
    const turn = caller.openTurn();
    turn.write(caller.request({ dtmfInput: { dtmfEvents: [2] } }));
    const r = await turn.result; // no halfClose(): the server must end it
    expect(r.status.code).toBe(status.OK);
    expect(r.responses.filter((x) => x.responseType === RT.FINAL)).toHaveLength(1);
    await caller.endSession();
  });
});

describe('agent binding and bad input', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      connectors: { local: { type: 'local_audio', config: {} }, scripted: scriptedConnector({ name: 'one' }) },
    });
  });
  afterAll(() => t.stop());

  it('binds the agent on the first RPC: empty ids use it, another id is refused', async () => {
    const caller = t.caller({ agentId: 'Scripted: one' });
    await caller.startSession();
    const sameAgentImplicit = t.caller({ agentId: '', conversationId: caller.conversationId });
    const same = ok(await sameAgentImplicit.sendDtmf('55'));
    expect(same.responses[0].prompts[0].text).toBe('digits 55'); // scripted agent, not the default local one
    const other = t.caller({ agentId: LOCAL_AGENT, conversationId: caller.conversationId });
    const refused = await other.sendEvent('NO_INPUT');
    expect(refused.status.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.status.details).toMatch(/does not match/);
    await caller.endSession();
  });

  it('rejects an unknown agent with NOT_FOUND', async () => {
    const r = await t.caller({ agentId: 'Nope: nobody' }).startSession();
    expect(r.status.code).toBe(status.NOT_FOUND);
    expect(r.status.details).toContain('Nope: nobody');
    expect(t.gw.engine.conversationCount).toBe(0);
  });

  it('rejects an empty conversation_id and a request without input with INVALID_ARGUMENT', async () => {
    const caller = t.caller();
    const noId = caller.openTurn();
    noId.write(caller.request({ conversationId: '', eventInput: { eventType: 1, name: '', parameters: undefined } }));
    noId.halfClose();
    expect((await noId.result).status).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/conversation_id/) });

    const noInput = caller.openTurn();
    noInput.write(caller.request({}));
    noInput.halfClose();
    expect((await noInput.result).status).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/no input/) });
    expect(t.gw.engine.conversationCount).toBe(0);
  });

  it('rejects an unsupported encoding or sample rate once, not per frame', async () => {
    const caller = t.caller();
    await caller.startSession();
    for (const [encoding, rate, msg] of [[7, 8000, /encoding 7/], [2, 44100, /44100/]] as const) {
      const turn = caller.openTurn();
      for (let i = 0; i < 20; i++) {
        turn.write(caller.request({ audioInput: { callerAudio: new Uint8Array(160), encoding: encoding as number, sampleRateHertz: rate, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } }));
      }
      turn.halfClose();
      const r = await turn.result;
      expect(r.responses).toEqual([]);
      expect(r.status.code).toBe(status.INVALID_ARGUMENT);
      expect(r.status.details).toMatch(msg);
    }
    await caller.endSession();
  });

  it('rejects an invalid DTMF value and survives undecodable bytes', async () => {
    const caller = t.caller();
    await caller.startSession();
    const bad = caller.openTurn();
    bad.write(caller.request({ dtmfInput: { dtmfEvents: [99 as number] } }));
    bad.halfClose();
    expect((await bad.result).status.code).toBe(status.INVALID_ARGUMENT);

    const garbage = caller.openTurn();
    garbage.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]));
    garbage.halfClose();
    const g = await garbage.result;
    expect(g.status.code).not.toBe(status.OK);
    // still serving
    expect((await caller.sendDtmf('55')).status.code).toBe(status.OK);
    await caller.endSession();
  });
});

describe('the call\'s audio format end to end', () => {
  it('sends prompts in the agent\'s call format: A-law 16 kHz raw CHUNKs, or WAV of it', async () => {
    const t = await startTestGateway({
      connectors: {
        chunked: { type: 'local_audio', config: { agent_id: 'Chunked' }, defaults: { reply_mode: 'chunk', prompt_encoding: 'alaw', prompt_sample_rate: 16000 } },
        wav: { type: 'local_audio', config: { agent_id: 'Wav' }, defaults: { prompt_encoding: 'alaw', prompt_sample_rate: 16000 } },
      },
    });
    try {
      const chunked = ok(await t.caller({ agentId: 'Local Audio: Chunked', format: { encoding: 'alaw', sampleRate: 16000 } }).startSession());
      expect(chunked.violations).toEqual([]);
      const audio = Buffer.concat(chunked.responses.filter((r) => r.responseType === RT.CHUNK).map((r) => r.prompts[0].audioContent));
      expect(audio.subarray(0, 4).toString('latin1')).not.toBe('RIFF');
      const wav = ok(await t.caller({ agentId: 'Local Audio: Wav' }).startSession()).responses[0].prompts[0].audioContent;
      const parsed = parseWav(wav);
      expect([parsed.sampleFormat, parsed.sampleRate]).toEqual(['alaw', 16000]);
      expect(Buffer.from(parsed.data)).toEqual(audio); // the same converted prompt, with and without a header
    } finally {
      await t.stop();
    }
  });
});
