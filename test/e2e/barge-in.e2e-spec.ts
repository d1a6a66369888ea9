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
      await caller.startSession(); // 1.5 s welcome, not bargeable
      const r = ok(await caller.sendAudio({ data: twoBursts(), format: MULAW }, { pace: true, trailingSilenceMs: 0 }));
      expect(r.startOfInputAtMs).toBeGreaterThanOrEqual(1900); // the first burst fell inside the prompt
      expect(r.startOfInputAtMs).toBeLessThan(2400);
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
      expect(r.startOfInputAtMs).toBeLessThan(400);
    } finally {
      await t.stop();
    }
  });

  it('starts the no-input timer when the prompts have played', async () => {
    const t = await gatewayWith({ barge_in: true, speech: { no_input_timeout_ms: 500 } });
    try {
      const caller = t.caller({ agentId: AGENT });
      await caller.startSession(); // 1.5 s welcome
      const r = ok(await caller.sendSilence(4000, { pace: true }));
      const noInput = r.timeline.find((e) => e.kind === EV[EV.NO_INPUT]);
      expect(noInput?.atMs).toBeGreaterThanOrEqual(1900);
      expect(noInput!.atMs).toBeLessThan(2600);
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
