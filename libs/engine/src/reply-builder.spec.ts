import { AgentDefaults } from '@app/config';
import { OutputEvent_EventType as EV, VoiceVAInputMode, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { parseWav } from '@app/audio';
import { defaultInput } from './next-input';
import { buildReplyResponses, errorReply, CHUNK_MAX_BYTES, CHUNK_MIN_BYTES, splitChunks } from './reply-builder';

const input = defaultInput(new AgentDefaults());
const MULAW = { encoding: 'mulaw' as const, sampleRate: 8000 };
const audio = (n: number, format = MULAW) => ({ format, data: new Uint8Array(n).fill(7) });

describe('splitChunks', () => {
  it('keeps every chunk within WxCC bounds, evenly sized, covering all bytes in order', () => {
    for (const n of [100, 101, 65_536, 65_537, 131_073, 500_000]) {
      const data = new Uint8Array(n).map((_, i) => i & 0xff);
      const chunks = splitChunks(data, MULAW);
      expect(chunks.length).toBe(Math.ceil(n / CHUNK_MAX_BYTES));
      for (const c of chunks) {
        expect(c.length).toBeGreaterThanOrEqual(CHUNK_MIN_BYTES);
        expect(c.length).toBeLessThanOrEqual(CHUNK_MAX_BYTES);
      }
      expect(Buffer.concat(chunks)).toEqual(Buffer.from(data));
    }
  });

  it('pads audio shorter than 100 bytes with the encoding\'s silence', () => {
    expect(Array.from(splitChunks(new Uint8Array([1, 2]), MULAW)[0].subarray(0, 4))).toEqual([1, 2, 0xff, 0xff]);
    expect(splitChunks(new Uint8Array([1, 2]), { encoding: 'alaw', sampleRate: 8000 })[0][50]).toBe(0xd5);
    expect(splitChunks(new Uint8Array(0), MULAW)).toEqual([]);
  });

  it('never splits a 16-bit sample', () => {
    const chunks = splitChunks(new Uint8Array(65_536 * 2 + 2), { encoding: 'linear16', sampleRate: 8000 });
    for (const c of chunks) expect(c.length % 2).toBe(0);
  });
});

describe('buildReplyResponses', () => {
  it('WAV mode: one FINAL, complete WAV prompts, next-input settings', () => {
    const rs = buildReplyResponses({ prompts: [{ text: 'a', audio: audio(800) }, { text: 'b' }] }, 'wav', input);
    expect(rs).toHaveLength(1);
    expect(rs[0].responseType).toBe(RT.FINAL);
    expect(parseWav(rs[0].prompts[0].audioContent).data.length).toBe(800);
    expect(rs[0].prompts.map((p) => p.isBargeInEnabled)).toEqual([true, true]);
    expect(rs[0].inputMode).toBe(VoiceVAInputMode.INPUT_VOICE_DTMF);
    expect(rs[0].outputEvents).toEqual([]);
  });

  it('CHUNK mode: CHUNKs of raw audio, then one FINAL without audio carrying the event', () => {
    const rs = buildReplyResponses({ prompts: [{ text: 'a', audio: audio(70_000) }], event: { name: 'x' } }, 'chunk', input);
    expect(rs.map((r) => RT[r.responseType])).toEqual(['CHUNK', 'CHUNK', 'FINAL']);
    expect(rs[0].prompts[0].text).toBe('a');
    expect(rs[1].prompts[0].text).toBe('');
    expect(rs[0].outputEvents).toEqual([]);
    expect(rs[2].outputEvents.map((e) => [EV[e.eventType], e.name])).toEqual([['CUSTOM_EVENT', 'x']]);
    expect(rs[2].prompts).toEqual([]);
  });

  it('a terminal reply carries exactly one terminal event, no barge-in, and the transcript', () => {
    const [r] = buildReplyResponses(
      { prompts: [{ text: 'bye', bargeIn: true }], end: { kind: 'session_end' }, event: { name: 'ignored' }, transcript: 't', summary: 's' },
      'wav',
      input,
    );
    expect(r.outputEvents).toEqual([{ eventType: EV.SESSION_END, name: 'session_ended', metadata: undefined }]);
    expect(r.prompts[0].isBargeInEnabled).toBe(false);
    expect(r.inputHandlingConfig).toBeUndefined();
    expect(r.sessionTranscript?.text).toBe('t');
    expect(r.sessionSummary?.text).toBe('s');
  });

  it('transcripts are only sent on the last response of a call', () => {
    const [r] = buildReplyResponses({ prompts: [], transcript: 't' }, 'wav', input);
    expect(r.sessionTranscript).toBeUndefined();
  });
});

describe('errorReply', () => {
  it('uses the agent\'s apology, not barge-in, with error_occurred', () => {
    const [r] = buildReplyResponses(errorReply({ prompts: [{ text: 'sorry', bargeIn: true }] }), 'wav', input);
    expect(r.prompts.map((p) => [p.text, p.isBargeInEnabled])).toEqual([['sorry', false]]);
    expect(r.outputEvents.map((e) => e.name)).toEqual(['error_occurred']);
  });
  it('falls back to a plain apology when the agent has none', () => {
    const [r] = buildReplyResponses(errorReply(undefined), 'chunk', input);
    expect(r.prompts[0].text).toMatch(/sorry/i);
  });
});
