import { OutputEvent_EventType as E, outputEvent, prompt, VoiceVAResponse, voiceVAResponse, VoiceVAResponse_ResponseType as R } from '@app/proto';
import { TurnRecorder } from './turn-recorder';

const WAV = new Uint8Array([...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WAVE'), 1, 2, 3]);
const raw = (n: number) => new Uint8Array(n).fill(1);
const ev = (eventType: E, name = '') => outputEvent({ eventType, name });
const chunk = (audio: Uint8Array) => voiceVAResponse({ responseType: R.CHUNK, prompts: [prompt({ audioContent: audio })] });
const final = (audio?: Uint8Array, events = [] as ReturnType<typeof ev>[]) =>
  voiceVAResponse({ prompts: audio ? [prompt({ text: 't', audioContent: audio })] : [], outputEvents: events });

function run(responses: VoiceVAResponse[], label = 'audio', code = 0) {
  const rec = new TurnRecorder(label);
  for (const r of responses) rec.onResponse(r);
  return rec.finish({ code, details: '' });
}

describe('TurnRecorder protocol checks', () => {
  it('accepts a compliant WAV-mode audio turn', () => {
    const r = run([final(undefined, [ev(E.START_OF_INPUT)]), final(undefined, [ev(E.END_OF_INPUT)]), final(WAV)]);
    expect(r.violations).toEqual([]);
    expect(r.startOfInputAtMs).toBeDefined();
    expect(r.endOfInputAtMs).toBeDefined();
    expect(r.finalAtMs).toBeDefined();
    expect(r.prompts).toHaveLength(1);
  });

  it('accepts a compliant CHUNK-mode turn, END_OF_INPUT typed CHUNK included', () => {
    const eoi = voiceVAResponse({ responseType: R.CHUNK, outputEvents: [ev(E.END_OF_INPUT)] });
    const r = run([final(undefined, [ev(E.START_OF_INPUT)]), eoi, chunk(raw(100)), chunk(raw(65536)), final()]);
    expect(r.violations).toEqual([]);
    expect(r.prompts[0].audio.length).toBe(65636);
  });

  it.each([
    ['two FINALs', [final(WAV), final(WAV)], ['more than one FINAL in a turn']],
    ['CHUNK after FINAL', [final(WAV), chunk(raw(200))], ['response #2 (CHUNK) after FINAL']],
    ['event after FINAL', [final(WAV), final(undefined, [ev(E.END_OF_INPUT)])], ['response #2 (event) after FINAL', 'END_OF_INPUT without START_OF_INPUT']],
    ['chunk too small', [chunk(raw(99)), final()], ['CHUNK #1 carries 99 B of audio (allowed 100..65536)']],
    ['chunk too large', [chunk(raw(65537)), final()], ['CHUNK #1 carries 65537 B of audio (allowed 100..65536)']],
    ['chunk with WAV header', [chunk(new Uint8Array([...WAV, ...raw(100)])), final()], ['CHUNK #1 audio has a WAV header']],
    ['FINAL with audio after chunks', [chunk(raw(200)), final(WAV)], ['FINAL carries audio in CHUNK mode']],
    ['chunks never closed', [chunk(raw(200))], ['CHUNK responses not closed by a FINAL']],
    ['raw audio in WAV mode', [final(raw(200))], ['FINAL prompt audio is not a WAV file (no RIFF header)']],
    ['duplicate START_OF_INPUT', [final(undefined, [ev(E.START_OF_INPUT)]), final(undefined, [ev(E.START_OF_INPUT)])], ['START_OF_INPUT sent twice']],
    [
      'barge-in on transfer',
      [voiceVAResponse({ prompts: [prompt({ audioContent: WAV, isBargeInEnabled: true })], outputEvents: [ev(E.TRANSFER_TO_AGENT)] })],
      ['barge-in prompt on TRANSFER_TO_AGENT'],
    ],
  ])('flags %s', (_name, responses, expected) => {
    const r = run(responses as VoiceVAResponse[]);
    expect(r.violations).toEqual(expected);
    expect(r.timeline.filter((e) => e.kind === 'violation').map((e) => e.detail)).toEqual(expected);
  });

  it('flags prompts in answer to SESSION_END', () => {
    expect(run([final(WAV)], 'SESSION_END').violations).toEqual(['prompt sent in answer to SESSION_END']);
    expect(run([final()], 'SESSION_END').violations).toEqual([]);
  });

  it('does not flag unclosed chunks when the RPC failed', () => {
    expect(run([chunk(raw(200))], 'audio', 13).violations).toEqual([]);
  });

  describe('a turn that owes an answer and completes without a FINAL', () => {
    const soi = () => final(undefined, [ev(E.START_OF_INPUT)]);
    const eoi = () => final(undefined, [ev(E.END_OF_INPUT)]);
    const partial = voiceVAResponse({ responseType: R.PARTIAL, prompts: [prompt({ text: 'p', audioContent: WAV })] });

    it.each([
      ['SESSION_START with no response', [], 'SESSION_START'],
      ['SESSION_START answered by a PARTIAL only', [partial], 'SESSION_START'],
      ['DTMF digits with no response', [], 'dtmf'],
      ['caller audio after END_OF_INPUT', [soi(), eoi()], 'audio'],
      ['any turn after END_OF_INPUT', [soi(), eoi()], 'raw'],
    ])('flags %s', (_name, responses, label) => {
      expect(run(responses as VoiceVAResponse[], label).violations).toEqual(['RPC completed without a FINAL answer']);
    });

    it('reports unclosed CHUNKs once, not also as a missing FINAL', () => {
      expect(run([chunk(raw(200))], 'SESSION_START').violations).toEqual(['CHUNK responses not closed by a FINAL']);
    });

    it.each([
      ['START_OF_DTMF (completed without a prompt)', [], 'START_OF_DTMF'],
      ['SESSION_END (the caller is gone)', [], 'SESSION_END'],
      ['caller audio that never ended (no END_OF_INPUT)', [soi()], 'audio'],
      ['silent caller audio', [], 'audio'],
    ])('does not flag %s', (_name, responses, label) => {
      expect(run(responses as VoiceVAResponse[], label).violations).toEqual([]);
    });

    it('does not flag a failed RPC', () => {
      expect(run([], 'SESSION_START', 13).violations).toEqual([]);
      expect(run([soi(), eoi()], 'audio', 1).violations).toEqual([]);
    });

    it('does not count an endpointing signal typed FINAL as the answer', () => {
      expect(run([soi(), eoi(), final(WAV)], 'audio').violations).toEqual([]);
      expect(run([soi(), eoi()], 'audio').violations).toEqual(['RPC completed without a FINAL answer']);
    });
  });

  describe('reply mode, fixed per call', () => {
    const finish = (responses: VoiceVAResponse[], callMode?: 'WAV' | 'CHUNK') => {
      const rec = new TurnRecorder('dtmf');
      for (const r of responses) rec.onResponse(r);
      return rec.finish({ code: 0, details: '' }, callMode);
    };

    it('reports the mode a turn showed, none without audio', () => {
      expect(finish([final(WAV)]).replyMode).toBe('WAV');
      expect(finish([chunk(raw(200)), final()]).replyMode).toBe('CHUNK');
      expect(finish([final()]).replyMode).toBeUndefined();
    });

    it.each([
      ['CHUNK audio in a WAV call', [chunk(raw(200)), final()], 'WAV', ['CHUNK audio in a call that replied in WAV mode']],
      ['WAV audio in a CHUNK call', [final(WAV)], 'CHUNK', ['WAV audio in a call that replied in CHUNK mode']],
      ['WAV then CHUNK audio in one turn', [voiceVAResponse({ responseType: R.PARTIAL, prompts: [prompt({ audioContent: WAV })] }), chunk(raw(200)), final()], undefined, ['WAV and CHUNK audio in one turn']],
    ])('flags %s', (_name, responses, callMode, expected) => {
      expect(finish(responses as VoiceVAResponse[], callMode as 'WAV' | 'CHUNK' | undefined).violations).toEqual(expected);
    });

    it('accepts an audio-less answer in either mode', () => {
      expect(finish([final()], 'CHUNK').violations).toEqual([]);
      expect(finish([final(undefined, [ev(E.SESSION_END)])], 'WAV').violations).toEqual([]);
    });
  });

  it('takes the first output event of a response as the terminal one', () => {
    const r = run([final(WAV, [ev(E.SESSION_END, 'bye'), ev(E.TRANSFER_TO_AGENT)])]);
    expect(r.terminal).toEqual({ type: 'SESSION_END', name: 'bye' });
    expect(run([final(WAV, [ev(E.CUSTOM_EVENT), ev(E.SESSION_END)])]).terminal).toBeUndefined();
  });
});
