import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWav } from '@app/audio';
import { OutputEvent_EventType as EV, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { HealthService } from '../../apps/gateway/src/health/health.service';
import { REPO, startTestGateway, TestGateway } from './harness';

const FIXTURES = join(REPO, 'libs/engine/src/endpointing/silero/test-data');
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
    const r = await caller.sendAudio({ data: wav.data.subarray(0, 8 * 1250), format: { encoding: 'mulaw', sampleRate: 8000 } }, { pace: false, trailingSilenceMs: 0 });
    expect(r.violations).toEqual([]);
    expect(kinds(r.responses)).toEqual(['START_OF_INPUT', 'END_OF_INPUT', 'FINAL']);
    await caller.endSession();
  });

  it('does not start input on line noise', async () => {
    const wav = parseWav(readFileSync(join(FIXTURES, 'noise-8k.wav')));
    const caller = t.caller();
    await caller.startSession();
    const r = await caller.sendAudio({ data: wav.data, format: { encoding: 'mulaw', sampleRate: 8000 } }, { pace: false, trailingSilenceMs: 0 });
    expect(kinds(r.responses)).not.toContain('START_OF_INPUT');
    await caller.endSession();
  });
});
