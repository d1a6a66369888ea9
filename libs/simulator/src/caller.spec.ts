import { DTMFDigits, EventInput_EventType, OutputEvent_EventType, VoiceInput_VoiceEncoding, voiceVAResponse, outputEvent } from '@app/proto';
import { encodeFromPcm16 } from '@app/audio';
import { ByovaCaller, dtmfDigits, voiceInput } from './caller';
import { chunkResponse, FakeByovaServer, wavPrompt } from './testing/fake-byova-server';

const tone = (ms: number, rate = 8000) => {
  const pcm = new Int16Array((rate * ms) / 1000);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return pcm;
};
const MULAW_8K = { encoding: 'mulaw', sampleRate: 8000 } as const;

describe('ByovaCaller', () => {
  let server: FakeByovaServer;
  let caller: ByovaCaller;

  beforeEach(async () => {
    server = await new FakeByovaServer().start();
    caller = new ByovaCaller({ target: server.target, agentId: 'bot', customerOrgId: 'org-1', metadata: { authorization: 'Bearer t' } });
  });
  afterEach(async () => {
    caller.close();
    await server.stop();
  });

  it('lists agents', async () => {
    const res = await caller.listAgents();
    expect(res.virtualAgents.map((a) => a.virtualAgentId)).toEqual(['bot', 'other']);
    expect(res.virtualAgents[0].isDefault).toBe(true);
  });

  it('starts a session with one half-closed RPC and records the welcome', async () => {
    const r = await caller.startSession();
    expect(r.status.code).toBe(0);
    expect(server.rpcs).toHaveLength(1);
    const [{ req }] = server.rpcs[0].requests;
    expect(server.rpcs[0].requests).toHaveLength(1);
    expect(req.eventInput?.eventType).toBe(EventInput_EventType.SESSION_START);
    expect(req).toMatchObject({ conversationId: caller.conversationId, virtualAgentId: 'bot', customerOrgId: 'org-1' });
    expect(server.rpcs[0].halfClosedAtMs).toBeDefined();
    expect(server.rpcs[0].metadata.get('authorization')).toEqual(['Bearer t']);
    expect(r.prompts).toHaveLength(1);
    expect(r.prompts[0].text).toBe('Welcome');
    expect(Buffer.from(r.prompts[0].audio.subarray(0, 4)).toString()).toBe('RIFF');
    expect(r.finalAtMs).toBeGreaterThanOrEqual(0);
    expect(r.timeline.map((e) => e.kind)).toEqual(['sent', 'half-close', 'FINAL', 'status']);
    expect(r.violations).toEqual([]);
  });

  it('sends 160 B mu-law frames, declaring the format on the first only', async () => {
    server.eoiAfterFrames = 1000; // never: all frames go out
    const data = encodeFromPcm16(tone(125), 'mulaw'); // 1000 B = 6 full frames + 40 B
    const r = await caller.sendAudio({ data, format: MULAW_8K }, { pace: false, trailingSilenceMs: 0 });
    expect(r.status.code).toBe(0);
    const frames = server.rpcs[0].requests.map((x) => x.req.audioInput!);
    expect(frames).toHaveLength(7);
    expect(r.framesSent).toBe(7);
    expect(frames.every((f) => f.callerAudio.length === 160)).toBe(true);
    expect(frames[0]).toMatchObject({ encoding: VoiceInput_VoiceEncoding.MULAW_FORMAT, sampleRateHertz: 8000 });
    for (const f of frames.slice(1)) expect(f).toMatchObject({ encoding: 0, sampleRateHertz: 0 });
    expect(Buffer.from(frames[0].callerAudio)).toEqual(Buffer.from(data.subarray(0, 160)));
    expect(frames[6].callerAudio.subarray(40).every((b) => b === 0xff)).toBe(true); // padded with mu-law silence
    expect(r.prompts[0].text).toBe('heard 7 frames');
    expect(r.startOfInputAtMs).toBeDefined();
    expect(r.endOfInputAtMs).toBeUndefined();
    expect(r.violations).toEqual([]);
  });

  it('declares every frame on request and sizes linear16 16 kHz frames at 640 B', async () => {
    server.eoiAfterFrames = 1000;
    const data = encodeFromPcm16(tone(60, 16000), 'linear16');
    const r = await caller.sendAudio({ data, format: { encoding: 'linear16', sampleRate: 16000 } }, { pace: false, trailingSilenceMs: 40, declareFormat: 'every' });
    const frames = server.rpcs[0].requests.map((x) => x.req.audioInput!);
    expect(r.framesSent).toBe(5);
    for (const f of frames) expect(f).toMatchObject({ encoding: VoiceInput_VoiceEncoding.LINEAR16_FORMAT, sampleRateHertz: 16000 });
    expect(frames.map((f) => f.callerAudio.length)).toEqual([640, 640, 640, 640, 640]);
  });

  it('paces frames at ~20 ms and stops sending at END_OF_INPUT, then half-closes', async () => {
    server.eoiAfterFrames = 10;
    const data = encodeFromPcm16(tone(200), 'mulaw'); // 10 frames, then up to 2 s of silence
    const sentFrom = performance.now(); // same clock as the fake server's atMs
    const r = await caller.sendAudio({ data, format: MULAW_8K }, { trailingSilenceMs: 2000 });
    expect(r.status.code).toBe(0);
    const rpc = server.rpcs[0];
    const times = rpc.requests.map((x) => x.atMs);
    // Frame i is due 20*i ms after the start; a late frame makes the next ones catch up, so measure from the
    // start (a busy machine only delays frames, never makes the 10th arrive before 180 ms).
    const early = times.slice(0, 10).filter((t, i) => t - sentFrom < i * 20 - 1);
    expect(early).toEqual([]);
    expect(times[9] - times[0]).toBeLessThan(400);
    // Stopped right after END_OF_INPUT rather than sending 2 s of silence.
    expect(r.framesSent).toBeGreaterThanOrEqual(10);
    expect(r.framesSent).toBeLessThanOrEqual(12);
    expect(rpc.requests).toHaveLength(r.framesSent);
    expect(r.durationMs).toBeLessThan(800);
    expect(r.endOfInputAtMs).toBeGreaterThan(r.startOfInputAtMs!);
    expect(rpc.halfClosedAtMs! - times[times.length - 1]).toBeLessThan(300); // right after, not at the end of the 2 s of silence
    const kinds = r.timeline.map((e) => e.kind);
    expect(kinds.indexOf('END_OF_INPUT')).toBeLessThan(kinds.indexOf('half-close'));
    expect(kinds).toContain('stopped-sending');
    expect(r.finalAtMs).toBeGreaterThan(r.endOfInputAtMs!);
    expect(r.violations).toEqual([]);
  });

  it('keeps streaming after END_OF_INPUT when stopOnEndOfInput is false', async () => {
    server.eoiAfterFrames = 2;
    const r = await caller.sendAudio({ data: encodeFromPcm16(tone(40), 'mulaw'), format: MULAW_8K }, { pace: false, trailingSilenceMs: 100, stopOnEndOfInput: false });
    expect(r.framesSent).toBe(7);
    expect(r.endOfInputAtMs).toBeDefined();
  });

  it('sends a silence-only turn', async () => {
    server.eoiAfterFrames = 1000;
    const r = await caller.sendSilence(100, { pace: false });
    expect(r.framesSent).toBe(5);
    expect(server.rpcs[0].requests.every((x) => x.req.audioInput!.callerAudio.every((b) => b === 0xff))).toBe(true);
  });

  it('maps DTMF digits', () => {
    expect(dtmfDigits('1234567890')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(dtmfDigits('ABCD*#')).toEqual([11, 12, 13, 14, 15, 16]);
    expect(dtmfDigits('a')).toEqual([DTMFDigits.DTMF_DIGIT_A]);
    expect(() => dtmfDigits('12x')).toThrow(/invalid character "x" at position 2/);
    expect(() => dtmfDigits('')).toThrow(/no digits/);
  });

  it('sends DTMF as two RPCs: START_OF_DTMF, then the digits', async () => {
    const r = await caller.sendDtmf('90*#A');
    expect(server.rpcs).toHaveLength(2);
    expect(server.rpcs[0].requests.map((x) => x.req.eventInput?.eventType)).toEqual([EventInput_EventType.START_OF_DTMF]);
    expect(server.rpcs[0].halfClosedAtMs).toBeDefined();
    expect(server.rpcs[1].requests[0].req.dtmfInput?.dtmfEvents).toEqual([9, 10, 15, 16, 11]);
    expect(r.startOfDtmf.status.code).toBe(0);
    expect(r.startOfDtmf.label).toBe('START_OF_DTMF');
    expect(r.status.code).toBe(0);
    expect(r.prompts[0].text).toBe('you pressed 9,10,15,16,11');
  });

  it('rejects invalid DTMF before sending anything', async () => {
    await expect(caller.sendDtmf('1-2')).rejects.toThrow(/invalid character "-"/);
    expect(server.rpcs).toHaveLength(0);
  });

  it('detects two FINALs in one turn', async () => {
    server.onSessionStart = () => [voiceVAResponse({ prompts: [wavPrompt('one')] }), voiceVAResponse({ prompts: [wavPrompt('two')] })];
    const r = await caller.startSession();
    expect(r.status.code).toBe(0);
    expect(r.violations).toEqual(['more than one FINAL in a turn']);
    expect(r.prompts.map((p) => p.text)).toEqual(['one', 'two']);
  });

  it('flags a turn that owes an answer but completes OK without a FINAL', async () => {
    server.onSessionStart = () => [];
    const welcome = await caller.startSession();
    expect(welcome.status.code).toBe(0);
    expect(welcome.violations).toEqual(['RPC completed without a FINAL answer']);

    server.eoiAfterFrames = 2;
    server.onAudio = () => [];
    const speech = await caller.sendAudio({ data: new Uint8Array(480).fill(0x10), format: MULAW_8K }, { pace: false, trailingSilenceMs: 0 });
    expect(speech.status.code).toBe(0);
    expect(speech.endOfInputAtMs).toBeDefined();
    expect(speech.violations).toEqual(['RPC completed without a FINAL answer']);
  });

  it('does not ask for a FINAL on START_OF_DTMF or SESSION_END', async () => {
    const dtmf = await caller.sendDtmf('1');
    expect([dtmf.startOfDtmf.status.code, dtmf.startOfDtmf.responses]).toEqual([0, []]);
    expect(dtmf.startOfDtmf.violations).toEqual([]);
    const end = await caller.endSession();
    expect([end.status.code, end.responses]).toEqual([0, []]);
    expect(end.violations).toEqual([]);
  });

  it('flags a call whose reply mode changes from one turn to the next', async () => {
    const welcome = await caller.startSession();
    expect([welcome.replyMode, welcome.violations]).toEqual(['WAV', []]);
    server.onDtmf = () => [chunkResponse(800, 'chunked'), voiceVAResponse({})];
    const dtmf = await caller.sendDtmf('1');
    expect(dtmf.replyMode).toBe('CHUNK');
    expect(dtmf.violations).toEqual(['CHUNK audio in a call that replied in WAV mode']);
    // Another call may reply in CHUNK mode.
    const other = new ByovaCaller({ target: server.target });
    try {
      expect((await other.sendDtmf('1')).violations).toEqual([]);
    } finally {
      other.close();
    }
  });

  it('concatenates CHUNK audio into one prompt and flags tiny chunks', async () => {
    server.onSessionStart = () => [chunkResponse(800, 'Hello'), chunkResponse(400, 'there'), voiceVAResponse({})];
    const ok = await caller.startSession();
    expect(ok.violations).toEqual([]);
    expect(ok.prompts).toHaveLength(1);
    expect(ok.prompts[0]).toMatchObject({ text: 'Hello there', responseType: 'CHUNK' });
    expect(ok.prompts[0].audio.length).toBe(1200);
    expect(ok.timeline.filter((e) => e.kind === 'CHUNK')).toHaveLength(2);

    server.onSessionStart = () => [chunkResponse(50), voiceVAResponse({ prompts: [wavPrompt('x')] })];
    const bad = await caller.startSession();
    expect(bad.violations).toEqual(['CHUNK #1 carries 50 B of audio (allowed 100..65536)', 'FINAL carries audio in CHUNK mode']);
  });

  it('reports a server-side transfer as terminal', async () => {
    const r = await caller.sendEvent('CUSTOM_EVENT', 'transfer');
    expect(server.rpcs[0].requests[0].req.eventInput).toMatchObject({ eventType: EventInput_EventType.CUSTOM_EVENT, name: 'transfer' });
    expect(r.terminal).toEqual({ type: 'TRANSFER_TO_AGENT', name: 'agent' });
    expect(r.timeline.map((e) => e.kind)).toContain('TRANSFER_TO_AGENT');
  });

  it('carries event parameters (Struct) to the server', async () => {
    const r = await caller.sendEvent('CUSTOM_EVENT', 'x', { reason: 'test' });
    expect(r.status.code).toBe(0);
    expect(server.rpcs[0].requests[0].req.eventInput?.parameters).toEqual({ reason: 'test' });
  });

  it('ends the session with SESSION_END', async () => {
    const end = await caller.endSession();
    expect(end.violations).toEqual([]);
    expect(server.rpcs[0].requests[0].req.eventInput?.eventType).toBe(EventInput_EventType.SESSION_END);
  });

  it('resolves non-OK statuses instead of rejecting', async () => {
    const failing = new ByovaCaller({ target: server.target, agentId: 'fail' });
    try {
      const r = await failing.startSession();
      expect(r.status).toEqual({ code: 5, details: 'no such agent' });
    } finally {
      failing.close();
    }
  });

  it('resolves network failures with UNAVAILABLE', async () => {
    const dead = new ByovaCaller({ target: '127.0.0.1:1' });
    try {
      const r = await dead.startSession();
      expect(r.status.code).toBe(14);
      expect(r.timeline[r.timeline.length - 1].kind).toBe('status');
    } finally {
      dead.close();
    }
  });

  describe('openTurn', () => {
    it('can cancel mid-RPC', async () => {
      const turn = caller.openTurn();
      turn.onResponse((r) => {
        if (r.outputEvents[0]?.eventType === OutputEvent_EventType.START_OF_INPUT) turn.cancel();
      });
      turn.write(caller.request({ audioInput: voiceInput(new Uint8Array(160), MULAW_8K) }));
      const r = await turn.result;
      expect(r.status.code).toBe(1); // CANCELLED
      expect(r.timeline.map((e) => e.kind)).toEqual(['sent-first-frame', 'START_OF_INPUT', 'cancel', 'status']);
      // The server hears of it a moment later: wait for it (bounded) rather than a fixed pause.
      for (const end = Date.now() + 3000; !server.rpcs[0].cancelled && Date.now() < end; ) await new Promise((res) => setTimeout(res, 5));
      expect(server.rpcs[0].cancelled).toBe(true);
    });

    it('hits the deadline when the client never half-closes', async () => {
      const slow = new ByovaCaller({ target: server.target, deadlineMs: 200 });
      try {
        const r = await slow.sendAudio({ data: new Uint8Array(320), format: MULAW_8K }, { pace: false, trailingSilenceMs: 0, halfCloseAfterSend: false });
        expect(r.status.code).toBe(4); // DEADLINE_EXCEEDED
        expect(r.framesSent).toBe(2);
        expect(server.rpcs[0].halfClosedAtMs).toBeUndefined();
      } finally {
        slow.close();
      }
    });

    it('sends raw garbage bytes', async () => {
      const turn = caller.openTurn();
      turn.write(new Uint8Array([0x0a, 0x50, 0x01]));
      turn.halfClose();
      const r = await turn.result;
      expect(r.status.code).toBe(13); // INTERNAL: the server cannot decode it
      expect(r.timeline[0]).toMatchObject({ kind: 'sent', detail: 'raw 3 B' });
    });

    it('ignores writes after half-close', async () => {
      const turn = caller.openTurn();
      turn.write(caller.request({ eventInput: { eventType: EventInput_EventType.SESSION_END, name: '', parameters: undefined } }));
      turn.halfClose();
      expect(turn.write(caller.request({}))).toBe(false);
      const r = await turn.result;
      expect(r.status.code).toBe(0);
      expect(r.timeline.map((e) => e.kind)).toContain('write-ignored');
      expect(server.rpcs[0].requests).toHaveLength(1);
    });
  });

  it('records endpointing signals typed FINAL without counting them as the answer', async () => {
    server.eoiAfterFrames = 2;
    server.onAudio = () => [
      voiceVAResponse({ prompts: [wavPrompt('answer')], outputEvents: [outputEvent({ eventType: OutputEvent_EventType.CUSTOM_EVENT, name: 'x' })] }),
    ];
    const r = await caller.sendAudio({ data: new Uint8Array(480).fill(0x10), format: MULAW_8K }, { pace: false, trailingSilenceMs: 0 });
    expect(r.responses).toHaveLength(3);
    expect(r.timeline.filter((e) => e.kind === 'FINAL')).toHaveLength(1);
    expect(r.violations).toEqual([]);
  });
});
