// ITU-T G.711 mu-law / A-law, bit-exact with the ITU-T G.191 reference software
// (ulaw_compress/alaw_compress/..._expand), applied to 16-bit left-justified samples:
// the low 2 (mu-law) or 3 (A-law) bits are ignored and negative samples are folded
// with one's complement (~x), so the quantiser is symmetric about -0.5.
//
// SoX 14.4 is not bit-exact with G.191 on encode (decode is identical): its raw writer
// rounds the sample to 14/13 bits (SOX_SAMPLE_TO_UNSIGNED(14, ...)) where G.191 drops the
// low bits, and its Sun-derived mu-law folds negatives with -x where G.191 uses ~x. That
// only moves inputs within two LSBs of a decision threshold to the neighbouring code
// (510 of 65536 inputs for mu-law, 1020 for A-law); g711.spec.ts checks this exactly.

/** code -> linear, 16-bit scale. */
export const MULAW_DECODE = new Int16Array(256);
export const ALAW_DECODE = new Int16Array(256);
/** (sample & 0xffff) -> code. */
export const MULAW_ENCODE = new Uint8Array(65536);
export const ALAW_ENCODE = new Uint8Array(65536);

function mulawDecodeCode(code: number): number {
  const u = ~code & 0xff; // codes are transmitted inverted
  const seg = (u >> 4) & 7;
  const mag = (((u & 0x0f) << 3) + 0x84) << seg; // 0x84 = bias 33 in 16-bit scale
  return u & 0x80 ? 0x84 - mag : mag - 0x84;
}

function alawDecodeCode(code: number): number {
  const a = code ^ 0x55; // even bits are transmitted inverted
  const seg = (a >> 4) & 7;
  const mant = a & 0x0f;
  // Reconstruct at the middle of the quantisation interval.
  const mag = seg === 0 ? (mant << 4) + 8 : ((mant << 4) + 0x108) << (seg - 1);
  return a & 0x80 ? mag : -mag;
}

function mulawEncodeSample(x: number): number {
  let mag = ((x < 0 ? ~x : x) >> 2) + 33; // 14-bit magnitude plus bias
  if (mag > 0x1fff) mag = 0x1fff;
  let seg = 0;
  for (let t = mag >> 6; t !== 0; t >>= 1) seg++;
  const code = ~((seg << 4) | ((mag >> (seg + 1)) & 0x0f)) & 0x7f;
  return x >= 0 ? code | 0x80 : code;
}

function alawEncodeSample(x: number): number {
  const mag = (x < 0 ? ~x : x) >> 4; // 12-bit magnitude without its LSB: 0..2047
  let seg = 0;
  for (let t = mag >> 4; t !== 0; t >>= 1) seg++;
  const mant = seg < 2 ? mag & 0x0f : (mag >> (seg - 1)) & 0x0f;
  const code = (seg << 4) | mant;
  return (x >= 0 ? code | 0x80 : code) ^ 0x55;
}

for (let c = 0; c < 256; c++) {
  MULAW_DECODE[c] = mulawDecodeCode(c);
  ALAW_DECODE[c] = alawDecodeCode(c);
}
for (let x = -32768; x < 32768; x++) {
  MULAW_ENCODE[x & 0xffff] = mulawEncodeSample(x);
  ALAW_ENCODE[x & 0xffff] = alawEncodeSample(x);
}

// Out-of-range input saturates; non-integers truncate toward zero.
function toInt16Index(sample: number): number {
  if (sample >= 32767) return 0x7fff;
  if (sample <= -32768) return 0x8000;
  return sample & 0xffff; // NaN -> 0
}

export function mulawToLinear(code: number): number {
  return MULAW_DECODE[code & 0xff];
}

export function linearToMulaw(sample: number): number {
  return MULAW_ENCODE[toInt16Index(sample)];
}

export function alawToLinear(code: number): number {
  return ALAW_DECODE[code & 0xff];
}

export function linearToAlaw(sample: number): number {
  return ALAW_ENCODE[toInt16Index(sample)];
}
