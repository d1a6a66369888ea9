import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { BYOVA_PACKAGE } from './descriptor';
import { VoiceVARequest } from './gen/voicevirtualagent';
import { checkWire, MAX_MESSAGE_DEPTH, RejectedRequest, strictDeserializer } from './strict-decode';

const REQ = `${BYOVA_PACKAGE}.VoiceVARequest`;
const decode = strictDeserializer(REQ, (b) => VoiceVARequest.decode(b));

function request(r: Partial<VoiceVARequest>): Uint8Array {
  return VoiceVARequest.encode({ conversationId: '', customerOrgId: '', virtualAgentId: '', allowPartialResponses: false, vendorSpecificConfig: '', additionalInfo: {}, ...r }).finish();
}
const bytes = (...b: number[]) => Uint8Array.from(b);
/** field 1 (conversation_id) with raw content bytes. */
const convId = (...content: number[]) => bytes(10, content.length, ...content);

/** An EventInput whose Struct parameters nest `levels` JSON objects deep. */
function nestedStruct(levels: number): Uint8Array {
  let params: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < levels; i++) params = { n: params };
  return request({ conversationId: 'c', eventInput: { eventType: 5, name: 'deep', parameters: params } });
}

describe('strict request decoding', () => {
  it('decodes well-formed requests exactly as the generated decoder does (audio, DTMF, Struct, maps, non-ASCII)', () => {
    const samples = [
      request({ conversationId: 'c-1', audioInput: { callerAudio: new Uint8Array(320).fill(0xff), encoding: 2, sampleRateHertz: 8000, audioTimestamp: { seconds: 1, nanos: 5 } as never, languageCode: 'en-US', isSingleUtterance: false } }),
      request({ conversationId: 'c-2', dtmfInput: { dtmfEvents: [1, 2, 16] } }),
      request({ conversationId: 'ça-va-€-😀', additionalInfo: { clé: 'välue' }, eventInput: { eventType: 5, name: 'x', parameters: { a: [1, 'b', null, true, { c: 'd' }] } } }),
      new Uint8Array(0),
    ];
    for (const s of samples) expect(decode(Buffer.from(s))).toEqual(VoiceVARequest.decode(s));
  });

  it('refuses invalid UTF-8 that the generated decoder silently replaces (two ids would collide)', () => {
    for (const bad of [[0x61, 0xff], [0x61, 0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]) {
      const b = convId(...bad);
      expect(VoiceVARequest.decode(b).conversationId).toContain('\ufffd'); // what happens without the check
      expect([bad, decode(Buffer.from(b))]).toEqual([bad, RejectedRequest.of.invalid_utf8]);
    }
    // inside a map entry and inside the Struct of an event too
    expect(checkWire(bytes(0x4a, 4, 10, 2, 0x61, 0xff), REQ)).toBe('invalid_utf8');
    const ev = request({ eventInput: { eventType: 5, name: 'x', parameters: { k: 'v' } } });
    const i = ev.lastIndexOf(0x76); // 'v'
    const broken = Uint8Array.from(ev);
    broken[i] = 0xff;
    expect(checkWire(broken, REQ)).toBe('invalid_utf8');
  });

  it('refuses what a standard parser rejects and the generated decoder accepts: field 0, stray or mismatched group tags, truncation', () => {
    const cases: Array<[string, Uint8Array]> = [
      ['field 0 (a zero tag)', bytes(...convId(0x61), 0, 0)],
      ['field 0, length-delimited', bytes(2, 1, 0x61)],
      ['an end-group tag outside a group', bytes(...convId(0x61), 0x5c)], // field 11, wire 4
      ['a group closed by another field number', bytes(0x5b, 0x08, 0x01, 0x64)], // start 11 ... end 12
      ['a group never closed', bytes(0x5b, 0x08, 0x01)],
      ['a length past the end', bytes(10, 5, 0x61)],
      ['a truncated varint', bytes(0x20, 0x80)],
      ['wire type 7', bytes(0x0f)],
    ];
    for (const [what, b] of cases) expect([what, decode(Buffer.from(b))]).toEqual([what, RejectedRequest.of.malformed]);
    // a well-formed unknown group is skipped, as a standard parser does
    expect(decode(Buffer.from(bytes(0x5b, 0x08, 0x01, 0x5c, ...convId(0x61))))).toMatchObject({ conversationId: 'a' });
  });

  it('refuses deeply nested Struct parameters with too_deep (the generated decoder throws, which grpc-js reports as INTERNAL)', () => {
    expect(decode(Buffer.from(nestedStruct(15)))).toMatchObject({ eventInput: { name: 'deep' } });
    const deep = nestedStruct(40);
    expect(() => VoiceVARequest.decode(deep)).toThrow(/recursion/);
    expect(decode(Buffer.from(deep))).toBe(RejectedRequest.of.too_deep);
    expect(MAX_MESSAGE_DEPTH).toBeLessThan(100);
  });

  it('refuses a malformed packed repeated field (DTMF digits cut inside a varint)', () => {
    const w = new BinaryWriter();
    w.uint32(0x3a).fork().uint32(0x0a).bytes(bytes(1, 2, 0x80)).join(); // dtmf_input { dtmf_events: [1, 2, <truncated>] }
    expect(checkWire(w.finish(), REQ)).toBe('malformed');
  });
});
