import { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear } from './g711';
import { decodeToPcm16, encodeFromPcm16 } from './pcm';

const allCodes = Uint8Array.from({ length: 256 }, (_, i) => i);
const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(20000 * Math.sin(i / 5)));
frame[7] = -32768;
frame[8] = 32767;

describe('decodeToPcm16', () => {
  it('decodes G.711 codes with the scalar functions', () => {
    expect(Array.from(decodeToPcm16(allCodes, 'mulaw'))).toEqual(Array.from(allCodes, mulawToLinear));
    expect(Array.from(decodeToPcm16(allCodes, 'alaw'))).toEqual(Array.from(allCodes, alawToLinear));
  });

  it('reads linear16 as little-endian, ignores an odd trailing byte, honours byteOffset', () => {
    const backing = new Uint8Array([0x99, 0x34, 0x12, 0xff, 0xff, 0x00, 0x80, 0x07]);
    const src = backing.subarray(1); // odd byteOffset, 7 bytes
    expect(Array.from(decodeToPcm16(src, 'linear16'))).toEqual([0x1234, -1, -32768]);
  });

  it('writes into an exactly sized dst and returns it', () => {
    const dst = new Int16Array(256);
    expect(decodeToPcm16(allCodes, 'alaw', dst)).toBe(dst);
    expect(dst[0xd5]).toBe(8);
  });

  it('returns a view of a larger dst without touching the rest', () => {
    const dst = new Int16Array(400).fill(123);
    const out = decodeToPcm16(allCodes.subarray(0, 160), 'mulaw', dst);
    expect(out.buffer).toBe(dst.buffer);
    expect(out.byteOffset).toBe(dst.byteOffset);
    expect(out).toHaveLength(160);
    expect(out[0]).toBe(mulawToLinear(0));
    expect(dst[160]).toBe(123);
    const again = decodeToPcm16(new Uint8Array(320), 'linear16', dst);
    expect(again.buffer).toBe(dst.buffer);
    expect(again).toHaveLength(160);
  });

  it('allocates a fresh array when dst is too small', () => {
    const dst = new Int16Array(10);
    const out = decodeToPcm16(allCodes, 'mulaw', dst);
    expect(out.buffer).not.toBe(dst.buffer);
    expect(out).toHaveLength(256);
    expect(Array.from(dst)).toEqual(new Array(10).fill(0));
  });

  it('rejects unknown encodings', () => {
    expect(() => decodeToPcm16(allCodes, 'opus' as never)).toThrow(RangeError);
  });
});

describe('encodeFromPcm16', () => {
  it('encodes G.711 with the scalar functions', () => {
    expect(Array.from(encodeFromPcm16(frame, 'mulaw'))).toEqual(Array.from(frame, linearToMulaw));
    expect(Array.from(encodeFromPcm16(frame, 'alaw'))).toEqual(Array.from(frame, linearToAlaw));
  });

  it('writes linear16 little-endian and round-trips', () => {
    expect(Array.from(encodeFromPcm16(Int16Array.of(0x1234, -1, -32768), 'linear16'))).toEqual([0x34, 0x12, 0xff, 0xff, 0x00, 0x80]);
    expect(decodeToPcm16(encodeFromPcm16(frame, 'linear16'), 'linear16')).toEqual(frame);
  });

  it('round-trips every A-law code and every mu-law code but negative zero', () => {
    expect(encodeFromPcm16(decodeToPcm16(allCodes, 'alaw'), 'alaw')).toEqual(allCodes);
    const mu = encodeFromPcm16(decodeToPcm16(allCodes, 'mulaw'), 'mulaw');
    expect(Array.from(mu)).toEqual(Array.from(allCodes, (c) => (c === 0x7f ? 0xff : c)));
  });

  it('reuses dst: same object when exact, a view when larger', () => {
    const exact = new Uint8Array(160);
    expect(encodeFromPcm16(frame, 'mulaw', exact)).toBe(exact);
    const big = new Uint8Array(1000).fill(7);
    const out = encodeFromPcm16(frame, 'linear16', big);
    expect(out.buffer).toBe(big.buffer);
    expect(out.byteOffset).toBe(big.byteOffset);
    expect(out).toHaveLength(320);
    expect(big[320]).toBe(7);
    expect(decodeToPcm16(out, 'linear16')).toEqual(frame);
  });

  it('allocates when dst is too small, and handles empty input', () => {
    const small = new Uint8Array(4);
    expect(encodeFromPcm16(frame, 'alaw', small).buffer).not.toBe(small.buffer);
    expect(encodeFromPcm16(new Int16Array(0), 'mulaw')).toHaveLength(0);
  });

  it('rejects unknown encodings', () => {
    expect(() => encodeFromPcm16(frame, 'g729' as never)).toThrow(RangeError);
  });
});
