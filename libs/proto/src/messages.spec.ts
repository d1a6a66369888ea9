import { EventInput, OutputEvent, VoiceVAResponse } from './index';
import { outputEvent, prompt, voiceVAResponse } from './messages';

describe('generated codecs and message factories', () => {
  it('round-trips google.protobuf.Struct metadata of any shape (ts-proto#778 would overflow or drop values)', () => {
    const m = { eventType: 2, name: 'x', metadata: { a: 1, b: 'two', c: { d: [1, 'x', null, true] } } };
    expect(OutputEvent.decode(OutputEvent.encode(m).finish())).toEqual(m);
    const e = EventInput.decode(EventInput.encode({ eventType: 5, name: '', parameters: { k: 'v' } }).finish());
    expect(e.parameters).toEqual({ k: 'v' });
  });

  it('builds complete responses that encode and decode to themselves', () => {
    const r = voiceVAResponse({ prompts: [prompt({ text: 'hi' })], outputEvents: [outputEvent({ eventType: 1 })] });
    expect(VoiceVAResponse.decode(VoiceVAResponse.encode(r).finish())).toEqual(r);
  });
});
