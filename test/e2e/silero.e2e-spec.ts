import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeToPcm16, parseWav } from '@app/audio';
import { SPEECH_ENDPOINTER_FACTORY } from '@app/endpointing';
import { OutputEvent_EventType as EV, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { HealthService } from '../../apps/gateway/src/health/health.service';
import type { BatchScorer } from '../../libs/endpointing/src/silero/batch-scorer';
import type { SileroEndpointerFactory } from '../../libs/endpointing/src/silero/silero-endpointer';
import { ok, REPO, startTestGateway, TestGateway } from './harness';

const FIXTURES = join(REPO, 'libs/endpointing/src/silero/test-data');
const kinds = (rs: { responseType: number; outputEvents: { eventType: number }[] }[]) =>
  rs.map((r) => (r.outputEvents[0] ? EV[r.outputEvents[0].eventType] : RT[r.responseType]));

describe('the gateway with the neural endpointer', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ voice_activity_detection: { engine: 'silero', end_silence_ms: 500 } });
  });
  afterAll(() => t.stop());

  it('reports that it runs Silero, not a fallback', () => {
    expect(t.gw.app.get(HealthService).vad()).toEqual({ kind: 'silero' });
  });

  it('finishes an utterance the client half-closes on before inference has caught up', async () => {
    const wav = parseWav(readFileSync(join(FIXTURES, 'speech-8k.wav')));
    const caller = t.caller();
    await caller.startSession();
    // Unpaced, cut 250 ms into the speech and half-closed straight away: the windows that start the
    // utterance are still in the model when the half-close arrives.
    const r = ok(await caller.sendAudio({ data: wav.data.subarray(0, 8 * 1250), format: { encoding: 'mulaw', sampleRate: 8000 } }, { pace: false, trailingSilenceMs: 0 }));
    expect(r.violations).toEqual([]);
    expect(kinds(r.responses)).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    await caller.endSession();
  });

  it('does not start input on line noise', async () => {
    const wav = parseWav(readFileSync(join(FIXTURES, 'noise-8k.wav')));
    const caller = t.caller();
    await caller.startSession();
    const r = ok(await caller.sendAudio({ data: wav.data, format: { encoding: 'mulaw', sampleRate: 8000 } }, { pace: false, trailingSilenceMs: 0 }));
    expect(kinds(r.responses)).not.toContain('START_OF_INPUT');
    await caller.endSession();
  });
});

describe('the neural endpointer at shutdown', () => {
  it('stops inference once the gateway is closed, so the process can exit with no run in flight', async () => {
    const t = await startTestGateway({ voice_activity_detection: { engine: 'silero' } });
    const factory = t.gw.app.get<SileroEndpointerFactory>(SPEECH_ENDPOINTER_FACTORY);
    expect(factory.kind).toBe('silero');
    const scorer = factory.scorer as BatchScorer;
    const wav = parseWav(readFileSync(join(FIXTURES, 'speech-8k.wav')));
    const pcm = decodeToPcm16(wav.data, 'mulaw');
    const feed = () => {
      const ep = factory.create(8000, () => undefined);
      // Unpaced: windows queue up, so some are waiting or being scored when the gateway closes.
      for (let o = 0; o < pcm.length; o += 160) ep.push(pcm.subarray(o, o + 160));
      return ep;
    };
    const during = feed();
    await t.stop();
    const settled = await Promise.race([during.flush!().then(() => 'settled'), new Promise((r) => setTimeout(() => r('stuck'), 2000))]);
    expect(settled).toBe('settled');
    const runsAtStop = scorer.stats.runs;
    const after = feed(); // a stream still feeding after shutdown: its windows are judged without the model
    await after.flush!();
    expect(after.backlog).toBe(0);
    expect(scorer.stats.runs).toBe(runsAtStop);
    during.close();
    after.close();
  });
});
