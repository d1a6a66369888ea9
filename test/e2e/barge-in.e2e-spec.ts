import { encodeFromPcm16 } from '@app/audio';
import { OutputEvent_EventType as EV } from '@app/proto';
import { scriptedLog } from '../fixtures/scripted-connector';
import { ok, scriptedConnector, speechBurst, startTestGateway, TestGateway } from './harness';

const AGENT = 'Scripted: bot';
const MULAW = { encoding: 'mulaw' as const, sampleRate: 8000 };

/** Speech at 0-500 ms and again at 2000-2500 ms, then silence. */
function twoBursts(): Uint8Array {
  const pcm = new Int16Array(8 * 4000);
  const burst = speechBurst(500, 0);
  pcm.set(burst, 0);
  pcm.set(burst, 8 * 2000);
  return encodeFromPcm16(pcm, 'mulaw');
}

async function gatewayWith(defaults: Record<string, unknown>, config: Record<string, unknown> = {}): Promise<TestGateway> {
  return startTestGateway({ voice_activity_detection: { end_silence_ms: 300 }, connectors: { scripted: scriptedConnector({ welcome_ms: 1500, ...config }, defaults) } });
}

describe('barge-in and prompt playback timing', () => {
  it('ignores caller audio while a prompt that cannot be barged in plays', async () => {
    const t = await gatewayWith({ barge_in: false });
    try {
      const caller = t.caller({ agentId: AGENT });
      const sessionSentAt = performance.now();
      await caller.startSession(); // 1.5 s welcome, not bargeable
      const data = twoBursts();
      const audioFrom = performance.now(); // the turn's clock starts (synchronously) just after this
      const r = ok(await caller.sendAudio({ data, format: MULAW }, { pace: true, trailingSilenceMs: 0 }));
      // The first burst fell inside the prompt: no input before the welcome's end. Measured from SESSION_START, as
      // the welcome is (a stalled machine can start the audio turn late, even after the welcome), less what load
      // takes off the deaf window (placed in the caller audio by the arrival of its first frame). Heard, the first
      // burst starts the input ~0.1 s after SESSION_START.
      expect(audioFrom + r.startOfInputAtMs! - sessionSentAt).toBeGreaterThanOrEqual(1500 - 300);
      expect(r.startOfInputAtMs).toBeLessThan(2900); // the second burst (2-2.5 s) is heard
    } finally {
      await t.stop();
    }
  });

  it('starts input at once while a barge-in prompt plays', async () => {
    const t = await gatewayWith({ barge_in: true });
    try {
      const caller = t.caller({ agentId: AGENT });
      await caller.startSession();
      const r = ok(await caller.sendAudio({ data: twoBursts(), format: MULAW }, { pace: true, trailingSilenceMs: 0 }));
      expect(r.startOfInputAtMs).toBeLessThan(1500); // the first burst, not the second at 2 s
    } finally {
      await t.stop();
    }
  });

  it('starts the no-input timer when the prompts have played', async () => {
    const t = await gatewayWith({ barge_in: true, speech: { no_input_timeout_ms: 500 } });
    try {
      const caller = t.caller({ agentId: AGENT });
      const sessionSentAt = performance.now();
      await caller.startSession(); // 1.5 s welcome
      const audioFrom = performance.now(); // the turn's clock starts (synchronously) just after this
      const r = ok(await caller.sendSilence(4000, { pace: true }));
      const noInput = r.timeline.find((e) => e.kind === EV[EV.NO_INPUT]);
      // Due 2 s after the welcome started; measured from SESSION_START as above, less the same load allowance.
      // Timed from the audio instead of the prompts' end, it comes ~0.5 s after SESSION_START.
      expect(audioFrom + noInput!.atMs - sessionSentAt).toBeGreaterThanOrEqual(1500 + 500 - 300);
      expect(noInput!.atMs).toBeLessThan(3000);
    } finally {
      await t.stop();
    }
  });

  it('hands the connector utterances at the rate it asked for, converted once', async () => {
    const t = await gatewayWith({ barge_in: true }, { speech_rate: 16000 });
    try {
      scriptedLog.splice(0);
      const caller = t.caller({ agentId: AGENT });
      await caller.startSession();
      const r = ok(await caller.sendAudio({ data: encodeFromPcm16(speechBurst(500, 0), 'mulaw'), format: MULAW }, { pace: false, trailingSilenceMs: 1000 }));
      expect(r.endOfInputAtMs).toBeDefined();
      const input = scriptedLog.find((c) => c.op === 'input')!.input!;
      if (input.kind !== 'speech') throw new Error(input.kind);
      expect(input.sampleRate).toBe(16000);
      expect(Math.abs(input.audio.length / 16 - input.durationMs)).toBeLessThan(2); // 16 samples per ms
    } finally {
      await t.stop();
    }
  });
});
