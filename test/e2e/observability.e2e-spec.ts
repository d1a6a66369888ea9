import { status } from '@grpc/grpc-js';
import { encodeFromPcm16 } from '@app/audio';
import { CONVERSATION_STATE_STORE, type ConversationStateStore } from '@app/engine';
import { ok, speechBurst, startTestGateway } from './harness';

describe('logs and transport limits', () => {
  it('logs JSON with the conversation id on every call line, and nothing per audio frame', async () => {
    const logs: Record<string, unknown>[] = [];
    const t = await startTestGateway({ voice_activity_detection: { end_silence_ms: 300 } }, { logs });
    try {
      const caller = t.caller();
      await caller.startSession();
      const before = logs.length;
      const audio = encodeFromPcm16(speechBurst(1000, 0), 'mulaw');
      const r = ok(await caller.sendAudio({ data: audio, format: { encoding: 'mulaw', sampleRate: 8000 } }, { pace: false, trailingSilenceMs: 2000 }));
      expect(r.framesSent).toBeGreaterThan(60);
      const perTurn = logs.length - before;
      expect(perTurn).toBeLessThan(5); // debug level, 65+ frames
      await caller.endSession();
      const callLines = logs.filter((l) => typeof l.msg === 'string' && /conversation (created|ended)/.test(l.msg as string));
      expect(callLines.map((l) => l.msg)).toEqual(['conversation created', 'conversation ended']);
      for (const l of callLines) expect(l).toMatchObject({ conversationId: caller.conversationId, agentId: 'Local Audio: Local Playback', level: 30 });
      expect(logs.find((l) => l.msg === 'conversation ended')).toMatchObject({ reason: 'caller_hangup' });
    } finally {
      await t.stop();
    }
  });

  it('an unexpected failure inside the engine costs one RPC: INTERNAL without details, logged, the gateway serves on', async () => {
    const logs: Record<string, unknown>[] = [];
    const t = await startTestGateway({}, { logs });
    try {
      // The conversation state store is the engine's I/O boundary; a store that fails (as a remote one can) is a bug path.
      const store = t.gw.app.get<ConversationStateStore>(CONVERSATION_STATE_STORE);
      const wasEnded = store.wasEnded.bind(store);
      store.wasEnded = () => Promise.reject(new Error('store unreachable at 10.0.0.7'));
      const r = await t.caller().startSession();
      expect(r.status.code).toBe(status.INTERNAL);
      expect(r.status.details).toBe('internal error'); // nothing of the cause reaches the caller
      const bug = logs.find((l) => l.msg === 'unexpected error in an RPC');
      expect(bug).toMatchObject({ level: 50, err: { message: 'store unreachable at 10.0.0.7' } });
      store.wasEnded = wasEnded;
      const caller = t.caller();
      expect((await caller.startSession()).status.code).toBe(status.OK);
      expect((await caller.sendDtmf('6')).status.code).toBe(status.OK);
    } finally {
      await t.stop();
    }
  });

  it('enforces gateway.max_receive_message_bytes with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const t = await startTestGateway({ gateway: { max_receive_message_bytes: 4096 } });
    try {
      const caller = t.caller();
      await caller.startSession();
      const turn = caller.openTurn();
      turn.write(caller.request({ audioInput: { callerAudio: new Uint8Array(8192), encoding: 2, sampleRateHertz: 8000, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } }));
      turn.halfClose();
      expect((await turn.result).status.code).toBe(status.RESOURCE_EXHAUSTED);
      expect((await caller.sendDtmf('6')).status.code).toBe(status.OK);
    } finally {
      await t.stop();
    }
  });
});
