import { parseWav } from '@app/audio';
import { AgentDefaults } from '@app/config';
import { OutputEvent_EventType as EV, VoiceVAInputMode, type VoiceVAResponse, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { defaultInput, type ResolvedInput } from '../next-input';
import type { ReplyMode } from '../reply-builder';
import { ReplyStream } from './reply-stream';

const MULAW = { encoding: 'mulaw' as const, sampleRate: 8000 };
const base = defaultInput(new AgentDefaults()); // barge-in on, voice_dtmf
const asked: ResolvedInput = { ...base, mode: 'dtmf' };
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
const piece = (n: number, fill = 1) => ({ format: MULAW, data: bytes(n, fill) });

function stream(mode: ReplyMode, keepAudio = false) {
  const sent: VoiceVAResponse[] = [];
  const s = new ReplyStream(mode, MULAW, base, asked, keepAudio, (r) => sent.push(r));
  const types = () => sent.map((r) => RT[r.responseType]);
  const audioOf = (r: VoiceVAResponse) => r.prompts[0]?.audioContent ?? new Uint8Array(0);
  return { s, sent, types, audioOf };
}

describe('ReplyStream, CHUNK mode', () => {
  it('sends each piece of 100 bytes or more as it arrives, the text on the first chunk of the prompt only', () => {
    const { s, sent, types, audioOf } = stream('chunk');
    s.audio(piece(160, 1), 'hello', undefined);
    expect(types()).toEqual(['CHUNK']);
    s.audio(piece(200, 2), 'ignored', false);
    expect(types()).toEqual(['CHUNK', 'CHUNK']);
    expect(sent.map((r) => r.prompts[0].text)).toEqual(['hello', '']);
    // barge-in is the first piece's (the configured default here), kept for the whole prompt
    expect(sent.map((r) => r.prompts[0].isBargeInEnabled)).toEqual([true, true]);
    expect(audioOf(sent[1])).toEqual(bytes(200, 2));
  });

  it('coalesces pieces under 100 bytes until they make a chunk; the tail goes out padded before the FINAL', () => {
    const { s, sent, types, audioOf } = stream('chunk');
    s.audio(piece(40, 1), 'hi', undefined);
    s.audio(piece(40, 2), undefined, undefined);
    expect(sent).toEqual([]);
    s.audio(piece(40, 3), undefined, undefined);
    expect(types()).toEqual(['CHUNK']);
    expect(Array.from(audioOf(sent[0]))).toEqual([...bytes(40, 1), ...bytes(40, 2), ...bytes(40, 3)]);
    expect(sent[0].prompts[0].text).toBe('hi');
    s.audio(piece(30, 4), undefined, undefined);
    expect(types()).toEqual(['CHUNK']);
    s.finish({ event: { name: 'done' } });
    expect(types()).toEqual(['CHUNK', 'CHUNK', 'FINAL']);
    const tail = audioOf(sent[1]);
    expect(tail.length).toBe(100);
    expect(Array.from(tail.subarray(0, 31))).toEqual([...bytes(30, 4), 0xff]); // µ-law silence after the tail
    expect(sent[1].prompts[0].text).toBe('');
  });

  it('ends with one FINAL without audio, carrying the event and what to collect next', () => {
    const { s, sent, types } = stream('chunk');
    s.audio(piece(160), undefined, undefined);
    s.prompt({ text: 'text only' });
    s.finish({ event: { name: 'ev' }, next: { mode: 'voice' } });
    expect(types()).toEqual(['CHUNK', 'FINAL']);
    const final = sent[1];
    expect(final.prompts.map((p) => [p.text, p.audioContent.length])).toEqual([['text only', 0]]);
    expect(final.outputEvents.map((e) => [EV[e.eventType], e.name])).toEqual([['CUSTOM_EVENT', 'ev']]);
    expect(final.inputMode).toBe(VoiceVAInputMode.INPUT_VOICE);
  });

  it('a whole prompt closes the streamed one first: its tail goes out before the prompt\'s chunks', () => {
    const { s, sent, audioOf } = stream('chunk');
    s.audio(piece(50, 1), 'streamed', undefined);
    s.prompt({ text: 'whole', audio: piece(300, 2), bargeIn: false });
    expect(sent.map((r) => [r.prompts[0].text, audioOf(r)[0], r.prompts[0].isBargeInEnabled])).toEqual([
      ['streamed', 1, true],
      ['whole', 2, false],
    ]);
  });

  it('converts audio in another format to the call\'s once', () => {
    const { s, sent, audioOf } = stream('chunk');
    // 20 ms of 16 kHz 16-bit PCM is 20 ms of 8 kHz µ-law: 160 bytes
    s.audio({ format: { encoding: 'linear16', sampleRate: 16000 }, data: new Uint8Array(640) }, undefined, undefined);
    expect(audioOf(sent[0]).length).toBe(160);
    expect(audioOf(sent[0])[0]).toBe(0xff); // silence in µ-law
  });

  it('barge-in: the pending tail is not sent, the FINAL closes the turn with the configured input', () => {
    const { s, sent, types } = stream('chunk');
    s.audio(piece(160), undefined, undefined);
    s.audio(piece(60), undefined, undefined);
    const out = s.interrupt();
    expect(types()).toEqual(['CHUNK', 'FINAL']);
    expect(sent[1].prompts).toEqual([]);
    expect(out.input).toBe(base);
    expect(out.totalMs).toBe(27.5); // what was produced, 220 bytes
  });

  it('barge-in: text-only prompts still waiting for the FINAL are not sent either', () => {
    const { s, sent, types } = stream('chunk');
    s.prompt({ text: 'before' });
    s.audio(piece(160), 'spoken', undefined);
    s.prompt({ text: 'after' });
    s.interrupt();
    expect(types()).toEqual(['CHUNK', 'FINAL']);
    expect(sent[1].prompts).toEqual([]);
  });
});

describe('ReplyStream, WAV mode', () => {
  it('sends nothing before the end; the FINAL carries each prompt as one WAV file', () => {
    const { s, sent, types } = stream('wav');
    s.audio(piece(160, 1), 'one', undefined);
    s.audio(piece(40, 2), undefined, undefined);
    s.prompt({ text: 'two', audio: piece(80, 3) });
    expect(sent).toEqual([]);
    s.finish({});
    expect(types()).toEqual(['FINAL']);
    const [p1, p2] = sent[0].prompts;
    expect(p1.text).toBe('one');
    expect(Array.from(parseWav(p1.audioContent).data)).toEqual([...bytes(160, 1), ...bytes(40, 2)]);
    expect(p2.text).toBe('two');
    expect(parseWav(p2.audioContent).data.length).toBe(80);
  });
});

describe('ReplyStream, what was sent', () => {
  it('started and bargeable follow the prompt being sent', () => {
    const { s } = stream('chunk');
    expect(s.started).toBe(false);
    expect(s.bargeable).toBe(false);
    s.audio(piece(160), undefined, false);
    expect(s.started).toBe(true);
    expect(s.bargeable).toBe(false);
    s.prompt({ text: 'p' }); // no bargeIn of its own: the configured one
    expect(s.bargeable).toBe(true);
  });

  it('playing: only once audio of the reply went out', () => {
    const wav = stream('wav').s;
    wav.audio(piece(400), undefined, undefined);
    expect([wav.started, wav.playing]).toEqual([true, false]);
    const chunk = stream('chunk').s;
    chunk.prompt({ text: 'text only' });
    chunk.audio(piece(50), undefined, undefined);
    expect([chunk.started, chunk.playing]).toEqual([true, false]);
    chunk.audio(piece(50), undefined, undefined);
    expect(chunk.playing).toBe(true);
  });

  it('playback: total length, and up to the end of the last prompt that cannot be barged in', () => {
    const { s } = stream('chunk');
    s.audio(piece(800), undefined, false); // 100 ms, no barge-in
    s.prompt({ audio: piece(1600) }); // 200 ms, barge-in
    const out = s.finish({});
    expect([out.totalMs, out.noBargeInMs]).toEqual([300, 100]);
    expect(out.startedAt).toBeGreaterThan(0);
  });

  it('a terminal reply cannot be barged in anywhere', () => {
    const { s } = stream('chunk');
    s.prompt({ audio: piece(800) });
    const out = s.finish({ end: { kind: 'session_end' } });
    expect([out.totalMs, out.noBargeInMs]).toEqual([100, 100]);
  });

  it('a reply that says nothing keeps what was asked last; a next is laid over the configured input', () => {
    expect(stream('chunk').s.finish({}).input).toBe(asked);
    expect(stream('chunk').s.finish({ next: { sensitive: true } }).input).toEqual({ ...base, sensitive: true });
  });

  it('a whole reply goes out as a request/reply answer would', () => {
    const { s, types } = stream('chunk');
    const out = s.whole({ prompts: [{ audio: piece(800), bargeIn: false }], next: { mode: 'dtmf' } });
    expect(types()).toEqual(['CHUNK', 'FINAL']);
    expect(out.input.mode).toBe('dtmf');
    expect([out.totalMs, out.noBargeInMs]).toEqual([100, 100]);
  });

  it('keeps the audio in the call\'s format for the recording only when asked to', () => {
    const kept = stream('chunk', true).s;
    kept.audio(piece(160, 9), 'a', undefined);
    kept.prompt({ text: 'b' });
    const reply = kept.finish({}).reply;
    expect(reply.prompts.map((p) => [p.text, p.audio?.data.length])).toEqual([['a', 160], ['b', undefined]]);
    const notKept = stream('chunk', false).s;
    notKept.audio(piece(160), 'a', undefined);
    expect(notKept.finish({}).reply.prompts).toEqual([]);
  });
});
