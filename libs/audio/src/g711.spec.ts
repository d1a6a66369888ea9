import { readFileSync } from 'fs';
import { join } from 'path';
import { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear } from './g711';

// Vectors made by SoX (libs/audio/test-data/make-vectors.sh), an independent implementation.
const load = (name: string) => new Uint8Array(readFileSync(join(__dirname, '..', 'test-data', name)));
const int16le = (b: Uint8Array) => Array.from({ length: b.length / 2 }, (_, i) => ((b[2 * i] | (b[2 * i + 1] << 8)) << 16) >> 16);

const soxMulawDecode = int16le(load('mulaw-decode.s16'));
const soxAlawDecode = int16le(load('alaw-decode.s16'));
const soxMulawEncode = load('mulaw-encode.u8'); // index = input + 32768
const soxAlawEncode = load('alaw-encode.u8');

// SoX's encoder = G.191 applied to a slightly different input (proof in g711.ts / make-vectors.sh):
// it rounds instead of truncating to 14/13 bits (saturating at the top), and its mu-law
// takes |v| rather than ~v for negative 14-bit v, i.e. behaves like G.191 on v - 1.
function soxMulawAsItuInput(x: number): number {
  const v = Math.min((x + 2) >> 2, 8191);
  return Math.max(v >= 0 ? 4 * v : 4 * (v - 1), -32768);
}
function soxAlawAsItuInput(x: number): number {
  return Math.min(x + 4, 32767);
}

const inputs = Array.from({ length: 65536 }, (_, i) => i - 32768);

describe('G.711', () => {
  it('vector files have the expected sizes', () => {
    expect(soxMulawDecode).toHaveLength(256);
    expect(soxAlawDecode).toHaveLength(256);
    expect(soxMulawEncode).toHaveLength(65536);
    expect(soxAlawEncode).toHaveLength(65536);
  });

  it('decodes all 256 mu-law codes like SoX', () => {
    expect(Array.from({ length: 256 }, (_, c) => mulawToLinear(c))).toEqual(soxMulawDecode);
  });

  it('decodes all 256 A-law codes like SoX', () => {
    expect(Array.from({ length: 256 }, (_, c) => alawToLinear(c))).toEqual(soxAlawDecode);
  });

  it('encodes all 65536 inputs to mu-law matching SoX under the documented input mapping', () => {
    const bad = inputs.filter((x) => linearToMulaw(soxMulawAsItuInput(x)) !== soxMulawEncode[x + 32768]);
    expect(bad).toEqual([]);
  });

  it('encodes all 65536 inputs to A-law matching SoX under the documented input mapping', () => {
    const bad = inputs.filter((x) => linearToAlaw(soxAlawAsItuInput(x)) !== soxAlawEncode[x + 32768]);
    expect(bad).toEqual([]);
  });

  // Where we and SoX disagree on the raw input it must only be a tie-break at a decision
  // threshold: neighbouring codes whose levels bracket x, and moving x by at most two
  // 14/13-bit LSBs makes our encoder pick SoX's code.
  it.each([
    ['mu-law', linearToMulaw, mulawToLinear, soxMulawEncode, 4, 510],
    ['A-law', linearToAlaw, alawToLinear, soxAlawEncode, 8, 1020],
  ] as const)('%s differs from raw SoX only at decision thresholds', (_n, enc, dec, sox, lsb, expectedCount) => {
    const levels = Array.from({ length: 256 }, (_, c) => dec(c));
    const problems: string[] = [];
    let count = 0;
    for (const x of inputs) {
      const ours = enc(x);
      const theirs = sox[x + 32768];
      if (ours === theirs) continue;
      count++;
      const [a, b] = [dec(ours), dec(theirs)].sort((p, q) => p - q);
      const adjacent = !levels.some((v) => v > a && v < b);
      const bracketed = a === b || (a <= x && x <= b); // a === b: mu-law's +0 / -0 codes
      let reachable = false;
      for (let d = -2 * lsb; d <= 2 * lsb; d++) reachable ||= enc(x + d) === theirs;
      if (!adjacent || !bracketed || !reachable) problems.push(`${x}: ours ${ours} sox ${theirs}`);
    }
    expect(problems).toEqual([]);
    expect(count).toBe(expectedCount);
  });

  it('matches G.191 at the sign and range edges', () => {
    // G.191 folds negatives with ~x: -1..-4 are "negative zero" in mu-law.
    expect([0, 3, -1, -4, -5, 32767, -32768].map(linearToMulaw)).toEqual([0xff, 0xff, 0x7f, 0x7f, 0x7e, 0x80, 0x00]);
    expect([0, 15, 16, -1, -16, -17, 32767, -32768].map(linearToAlaw)).toEqual([0xd5, 0xd5, 0xd4, 0x55, 0x55, 0x54, 0xaa, 0x2a]);
    expect([0xff, 0x7f, 0x80, 0x00].map(mulawToLinear)).toEqual([0, 0, 32124, -32124]);
    expect([0xd5, 0x55, 0xaa, 0x2a].map(alawToLinear)).toEqual([8, -8, 32256, -32256]);
  });

  it('re-encodes every decoded code to itself (mu-law negative zero aside)', () => {
    for (let c = 0; c < 256; c++) {
      expect(linearToAlaw(alawToLinear(c))).toBe(c);
      expect(linearToMulaw(mulawToLinear(c))).toBe(c === 0x7f ? 0xff : c);
    }
  });

  it('is monotonic: decode(encode(x)) never decreases', () => {
    let prevMu = -Infinity;
    let prevA = -Infinity;
    const drops: number[] = [];
    for (const x of inputs) {
      const mu = mulawToLinear(linearToMulaw(x));
      const a = alawToLinear(linearToAlaw(x));
      if (mu < prevMu || a < prevA) drops.push(x);
      prevMu = mu;
      prevA = a;
    }
    expect(drops).toEqual([]);
  });

  it('saturates out-of-range input and masks codes', () => {
    expect(linearToMulaw(40000)).toBe(linearToMulaw(32767));
    expect(linearToMulaw(-1e9)).toBe(linearToMulaw(-32768));
    expect(linearToAlaw(Infinity)).toBe(0xaa);
    expect(linearToAlaw(NaN)).toBe(linearToAlaw(0));
    expect(mulawToLinear(0x100)).toBe(mulawToLinear(0));
  });
});
