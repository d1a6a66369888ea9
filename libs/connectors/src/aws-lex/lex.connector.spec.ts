import { speechRequest } from './lex.connector';

describe('speechRequest', () => {
  const pcm = Int16Array.from([1, -2, 0x1234, -32768]);
  const le = [1, 0, 0xfe, 0xff, 0x34, 0x12, 0x00, 0x80];

  it('sends 8 kHz callers as 8 kHz LPCM, bytes untouched', () => {
    const r = speechRequest(pcm, 8000);
    expect(r.contentType).toBe('audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false');
    expect([...r.body]).toEqual(le);
  });

  it('sends 16 kHz callers as 16 kHz L16', () => {
    const r = speechRequest(pcm, 16000);
    expect(r.contentType).toBe('audio/l16; rate=16000; channels=1');
    expect([...r.body]).toEqual(le);
  });

  it('resamples other rates to 16 kHz', () => {
    const r = speechRequest(new Int16Array(1200), 24000);
    expect(r.contentType).toBe('audio/l16; rate=16000; channels=1');
    expect(r.body.length).toBe(1600);
  });
});
