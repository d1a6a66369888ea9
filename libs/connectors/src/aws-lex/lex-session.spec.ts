import {
  applyDtmfDeletion,
  decodeLexField,
  decodeLexText,
  dtmfDeletionCharacter,
  encodeLexField,
  eventAttributes,
  lexSessionId,
  nextInputFromAttributes,
  scopedAttribute,
} from './lex-session';

describe('lexSessionId', () => {
  const OK = /^[0-9a-zA-Z._:-]{2,100}$/;

  it('keeps ids Lex accepts as they are', () => {
    expect(lexSessionId('3f2a-11ee.b:9_x')).toBe('3f2a-11ee.b:9_x');
  });

  it.each(['a', '', 'conv id/with spaces+slash', 'é'.repeat(40), 'x'.repeat(101), 'a'.repeat(500)])('makes %j safe', (id) => {
    expect(lexSessionId(id)).toMatch(OK);
  });

  it('never maps two conversations to one session', () => {
    expect(lexSessionId('a b')).not.toBe(lexSessionId('a/b'));
    expect(lexSessionId('x'.repeat(150) + '1')).not.toBe(lexSessionId('x'.repeat(150) + '2'));
  });
});

describe('Lex field codec', () => {
  it('round-trips JSON through gzip and base64', () => {
    const v = { sessionAttributes: { a: '1' }, messages: [{ content: 'hé' }] };
    expect(decodeLexField(encodeLexField(v))).toEqual(v);
    expect(decodeLexField(undefined)).toBeUndefined();
  });

  it('reads the transcript as plain text, or as a JSON string', () => {
    const { gzipSync } = require('node:zlib');
    const pack = (s: string) => gzipSync(Buffer.from(s)).toString('base64');
    expect(decodeLexText(pack('book a room'))).toBe('book a room');
    expect(decodeLexText(pack('"book a room"'))).toBe('book a room');
    expect(decodeLexText(undefined)).toBeUndefined();
  });
});

describe('scoped Lex attributes', () => {
  const attrs = {
    'x-amz-lex:audio:start-timeout-ms:*:*': '4000',
    'x-amz-lex:audio:start-timeout-ms:Book:*': '5000',
    'x-amz-lex:audio:start-timeout-ms:Book:Date': '6000',
    'x-amz-lex:audio:start-timeout-ms:*:Date': '7000',
  };

  it('picks the most specific match', () => {
    expect(scopedAttribute(attrs, 'audio:start-timeout-ms', 'Book', 'Date')).toBe('6000');
    expect(scopedAttribute(attrs, 'audio:start-timeout-ms', 'Book', 'Time')).toBe('5000');
    expect(scopedAttribute(attrs, 'audio:start-timeout-ms', 'Pay', 'Date')).toBe('7000');
    expect(scopedAttribute(attrs, 'audio:start-timeout-ms', 'Pay', 'Amount')).toBe('4000');
    expect(scopedAttribute(attrs, 'audio:start-timeout-ms')).toBe('4000');
    expect(scopedAttribute({ 'x-amz-lex:allow-interrupt': 'false' }, 'allow-interrupt', 'A', 'B')).toBe('false');
    expect(scopedAttribute(undefined, 'allow-interrupt')).toBeUndefined();
  });

  it('turns voice and DTMF attributes into the next input settings', () => {
    const next = nextInputFromAttributes(
      {
        'x-amz-lex:audio:start-timeout-ms:*:*': '3000',
        'x-amz-lex:audio:max-length-ms:Pay:Card': '12000',
        'x-amz-lex:audio:end-timeout-ms:Pay:Card': '400',
        'x-amz-lex:audio:end-timeout-ms:*:*': '900',
        'x-amz-lex:allow-interrupt:*:*': 'false',
        'x-amz-lex:dtmf:max-length:Pay:Card': '16',
        'x-amz-lex:dtmf:end-character:*:*': '*',
        'x-amz-lex:dtmf:end-timeout-ms:Pay:*': '4000',
        'x-amz-lex:dtmf:deletion-character:*:*': '#',
      },
      'Pay',
      'Card',
    );
    expect(next).toEqual({
      speech: { noInputTimeoutMs: 3000, endSilenceMs: 400, maxSpeechMs: 12000 },
      dtmf: { length: 16, terminator: '*', interDigitTimeoutMs: 4000 },
      bargeIn: false,
    });
  });

  it('ignores unusable values and gives nothing without attributes', () => {
    expect(nextInputFromAttributes({ 'x-amz-lex:audio:end-timeout-ms:*:*': '0', 'x-amz-lex:audio:start-timeout-ms:*:*': 'soon', 'x-amz-lex:dtmf:end-character:*:*': '##', 'x-amz-lex:allow-interrupt:*:*': 'maybe' })).toBeUndefined();
    expect(nextInputFromAttributes(undefined)).toBeUndefined();
  });
});

describe('eventAttributes', () => {
  it('keeps strings, serialises the rest, drops nulls', () => {
    expect(eventAttributes({ ani: '+3312345', account: 42, vip: true, extra: { a: 1 }, none: null })).toEqual({ ani: '+3312345', account: '42', vip: 'true', extra: '{"a":1}' });
  });
});

describe('DTMF deletion character', () => {
  it('is only there when Lex set it, scoped like the other attributes', () => {
    expect(dtmfDeletionCharacter({})).toBeUndefined();
    expect(dtmfDeletionCharacter({ 'x-amz-lex:dtmf:deletion-character:Pay:Card': '*' }, 'Pay', 'Card')).toBe('*');
    expect(dtmfDeletionCharacter({ 'x-amz-lex:dtmf:deletion-character:Pay:Card': '*' }, 'Book', 'Date')).toBeUndefined();
    expect(dtmfDeletionCharacter({ 'x-amz-lex:dtmf:deletion-character:*:*': '**' })).toBeUndefined();
  });

  it('clears every digit entered before it; none set: digits go as pressed', () => {
    expect(applyDtmfDeletion('12*3#', '*')).toBe('3#');
    expect(applyDtmfDeletion('12*34*56', '*')).toBe('56');
    expect(applyDtmfDeletion('123*', '*')).toBe('');
    expect(applyDtmfDeletion('123#', '*')).toBe('123#');
    expect(applyDtmfDeletion('12*3#', undefined)).toBe('12*3#');
  });
});
