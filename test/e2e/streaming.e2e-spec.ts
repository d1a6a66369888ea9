import { status } from '@grpc/grpc-js';
import { encodeFromPcm16, parseWav } from '@app/audio';
import { EventInput_EventType, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import type { ByovaCaller, TurnResult } from '@app/simulator';
import { chunkedLog } from '../fixtures/chunked-reply-connector';
import { endpointingLog } from '../fixtures/self-endpointing-connector';
import { chunkedConnector, selfEndpointingConnector, speechBurst, startTestGateway, type TestGateway } from './harness';

// Streaming agent sessions end to end, through the two streaming test plugins (test/fixtures): pieces relayed as
// they come, collected in WAV mode, agent endpointing, and barge-in on a reply still being produced.

const MULAW = { encoding: 'mulaw' as const, sampleRate: 8000 };
const CHUNKED = 'Chunked: stream';
const LISTENER = 'Self-endpointing: listener';

/** SESSION_START in a turn whose clock (performance.now() at open) is returned, to compare with the agent's. */
async function timedStart(caller: ByovaCaller): Promise<{ r: TurnResult; t0: number }> {
  const turn = caller.openTurn('SESSION_START');
  turn.write(caller.request({ eventInput: { eventType: EventInput_EventType.SESSION_START, name: '', parameters: undefined } }));
  turn.halfClose();
  return { r: await turn.result, t0: turn.recorder.t0 };
}

const chunkTimes = (r: TurnResult) => r.timeline.filter((e) => e.kind === 'CHUNK').map((e) => e.atMs);
const silenceThenSpeech = (silenceMs: number, speechMs: number) =>
  encodeFromPcm16(Int16Array.from([...new Int16Array((silenceMs * 8000) / 1000), ...speechBurst(speechMs, 0)]), 'mulaw');

describe('streaming agent: reply streamed in pieces (CHUNK mode)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ connectors: { chunked: chunkedConnector({ chunks: 5, chunk_ms: 40, delay_ms: 60 }, { reply_mode: 'chunk' }) } });
  });
  afterAll(() => t?.stop());
  beforeEach(() => chunkedLog.splice(0));

  it('sends each piece on as a CHUNK as soon as the agent emits it, then one audio-less FINAL', async () => {
    const caller = t.caller({ agentId: CHUNKED });
    const { r, t0 } = await timedStart(caller);
    expect([r.status.code, r.violations]).toEqual([status.OK, []]);
    expect(r.responses.map((x) => RT[x.responseType])).toEqual(['CHUNK', 'CHUNK', 'CHUNK', 'CHUNK', 'CHUNK', 'FINAL']);
    expect(r.responses.slice(0, 5).map((x) => x.prompts[0].audioContent.length)).toEqual(Array(5).fill(320));
    expect(r.prompts[0].text).toBe('chunked welcome');
    const emitted = chunkedLog[0].replies[0].chunks.map((c) => c.emittedAt - t0);
    const received = chunkTimes(r);
    // Streamed, not collected: the first piece reaches the caller before the last is even produced.
    expect(received[0]).toBeLessThan(emitted[4]);
    // Each piece on its own: collected, the first would wait for the last (240 ms later). Loose: shared CI cores.
    for (let i = 0; i < 5; i++) expect(received[i] - emitted[i]).toBeLessThan(200);
    await caller.endSession();
    expect(chunkedLog[0].ended?.reason).toBe('caller_hangup');
  });

  it('streams the answer to an input the same way', async () => {
    const caller = t.caller({ agentId: CHUNKED });
    await caller.startSession();
    const r = await caller.sendDtmf('5');
    expect(r.violations).toEqual([]);
    expect(r.prompts.map((p) => [p.text, p.audio.length])).toEqual([['you pressed 5', 5 * 320]]);
    expect(chunkedLog[0].replies.map((x) => [x.answers, x.completed])).toEqual([
      ['start', true],
      ['dtmf', true],
    ]);
    await caller.endSession();
  });

  it('stops the agent when the caller barges in on a streamed reply', async () => {
    const long = await startTestGateway({
      voice_activity_detection: { end_silence_ms: 300 },
      connectors: { chunked: chunkedConnector({ welcome_chunks: 1, chunks: 50, chunk_ms: 40, delay_ms: 100 }, { reply_mode: 'chunk', barge_in: true }) },
    });
    try {
      const caller = long.caller({ agentId: CHUNKED });
      await caller.startSession();
      // With barge-in on, WxCC keeps streaming caller audio after END_OF_INPUT while the reply plays.
      const audio = encodeFromPcm16(Int16Array.from([...speechBurst(500, 1000), ...speechBurst(500, 500)]), 'mulaw');
      const r = await caller.sendAudio({ data: audio, format: MULAW }, { pace: true, stopOnEndOfInput: false, trailingSilenceMs: 0 });
      expect(r.status.code).toBe(status.OK);
      const [, reply] = chunkedLog[0].replies;
      expect(chunkedLog[0].bargeIns).toHaveLength(1);
      expect(reply).toMatchObject({ answers: 'speech', stoppedBy: 'barge_in', completed: false });
      expect(reply.chunks.length).toBeGreaterThan(3); // it played a while...
      expect(reply.chunks.length).toBeLessThan(15); // ...and stopped at the second burst, not after 5 s
      await caller.endSession();
    } finally {
      await long.stop();
    }
  });
});

describe('streaming agent: pieces collected into one WAV prompt (WAV mode)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ connectors: { chunked: chunkedConnector({ chunks: 5, chunk_ms: 40, delay_ms: 10 }, { reply_mode: 'wav' }) } });
  });
  afterAll(() => t?.stop());

  it('answers with one FINAL whose WAV holds every piece', async () => {
    const caller = t.caller({ agentId: CHUNKED });
    const r = await caller.startSession();
    expect([r.status.code, r.violations]).toEqual([status.OK, []]);
    expect(r.responses.map((x) => RT[x.responseType])).toEqual(['FINAL']);
    expect(r.prompts[0].text).toBe('chunked welcome');
    const wav = parseWav(r.prompts[0].audio);
    expect([wav.sampleFormat, wav.sampleRate, wav.data.length]).toEqual(['mulaw', 8000, 5 * 320]);
    await caller.endSession();
  });
});

describe('streaming agent that endpoints the caller itself', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      // The gateway's own endpointer would wait 5 s of silence: an early END_OF_INPUT can only be the agent's.
      voice_activity_detection: { end_silence_ms: 5000 },
      connectors: { listener: selfEndpointingConnector({ start_ms: 40, end_silence_ms: 300, reply_chunks: 3, chunk_ms: 60, delay_ms: 20 }, { reply_mode: 'chunk' }) },
    });
  });
  afterAll(() => t?.stop());
  beforeEach(() => endpointingLog.splice(0));

  it('streams the caller audio to the agent and relays its start/end of input and streamed reply', async () => {
    const caller = t.caller({ agentId: LISTENER });
    const w = await caller.startSession();
    expect(w.prompts[0].text).toBe('say something');
    const r = await caller.sendAudio({ data: silenceThenSpeech(200, 600), format: MULAW }, { pace: true, trailingSilenceMs: 3000 });
    expect([r.status.code, r.violations]).toEqual([status.OK, []]);
    expect(r.startOfInputAtMs).toBeGreaterThanOrEqual(200);
    expect(r.endOfInputAtMs! - r.startOfInputAtMs!).toBeGreaterThanOrEqual(500); // speech less start_ms, plus end_silence_ms
    expect(r.endOfInputAtMs).toBeLessThan(4000); // the gateway's own would come after 5 s of silence, at ~5.8 s
    expect(r.responses.filter((x) => x.responseType === RT.CHUNK)).toHaveLength(3);
    expect(r.prompts.find((p) => p.responseType === 'CHUNK')).toMatchObject({ text: 'I heard you', audio: expect.any(Uint8Array) });

    const [session] = endpointingLog;
    expect(session.listens).toHaveLength(1);
    const l = session.listens[0];
    expect([l.sampleRate, l.aborted]).toEqual([8000, false]);
    expect(l.startOfInput!.audioMs).toBeGreaterThanOrEqual(200);
    expect(l.startOfInput!.audioMs).toBeLessThan(300);
    expect(l.endOfInput!.audioMs).toBeGreaterThanOrEqual(1040);
    expect(l.reply).toMatchObject({ completed: true });
    await caller.endSession();
    expect(session.ended?.reason).toBe('caller_hangup');
  });

  it('still hands DTMF to the session as an input', async () => {
    const caller = t.caller({ agentId: LISTENER });
    await caller.startSession();
    const r = await caller.sendDtmf('7');
    expect(r.prompts[0].text).toBe('you pressed 7');
    expect(endpointingLog[0].inputs).toEqual([{ kind: 'dtmf', digits: '7' }]);
    await caller.endSession();
  });

  it('lets the caller barge in on the agent\'s streamed reply', async () => {
    const long = await startTestGateway({
      voice_activity_detection: { end_silence_ms: 5000 },
      connectors: { listener: selfEndpointingConnector({ reply_chunks: 50, chunk_ms: 60, delay_ms: 100 }, { reply_mode: 'chunk', barge_in: true }) },
    });
    try {
      const caller = long.caller({ agentId: LISTENER });
      await caller.startSession();
      const audio = encodeFromPcm16(Int16Array.from([...speechBurst(400, 1000), ...speechBurst(400, 500)]), 'mulaw');
      const r = await caller.sendAudio({ data: audio, format: MULAW }, { pace: true, stopOnEndOfInput: false, trailingSilenceMs: 0 });
      expect(r.status.code).toBe(status.OK);
      const [l] = endpointingLog[0].listens;
      expect(l.bargedInAt?.audioMs).toBeGreaterThanOrEqual(1400);
      expect(l.reply).toMatchObject({ stoppedBy: 'own_start_of_input', completed: false });
      expect(l.reply!.chunks.length).toBeLessThan(15);
      expect(endpointingLog[0].bargeIns).toHaveLength(1); // the engine told the session too
      await caller.endSession();
    } finally {
      await long.stop();
    }
  });
});
