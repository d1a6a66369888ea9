// Windowed-sinc (Kaiser) resampler for an exact rational ratio up/down = toRate/fromRate.
// Output sample n sits at input time n*down/up. Used on prompts at start-up, not per frame.

/** Cutoff as a fraction of the lower Nyquist: passband to ~0.85, stopband from ~1.0. */
const CUTOFF = 0.925;
/** Sinc zero crossings each side, measured at the lower rate; sets the transition width. */
const ZERO_CROSSINGS = 32;
/** Kaiser beta 8 gives roughly 80 dB stopband rejection. */
const KAISER_BETA = 8;
/** Largest polyphase table (entries) before falling back to per-sample tap computation. */
const MAX_TABLE_ENTRIES = 1 << 18;

const WINDOW_STEPS = 4096;
let windowLut: Float64Array | undefined;

function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; term > sum * 1e-16; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

// Kaiser window over r in [0, 1] (|offset| / half-width), linearly interpolated.
function kaiser(r: number): number {
  if (r >= 1) return 0;
  if (windowLut === undefined) {
    const lut = new Float64Array(WINDOW_STEPS + 2);
    const norm = besselI0(KAISER_BETA);
    for (let i = 0; i <= WINDOW_STEPS; i++) {
      const x = i / WINDOW_STEPS;
      lut[i] = besselI0(KAISER_BETA * Math.sqrt(1 - x * x)) / norm;
    }
    windowLut = lut;
  }
  const p = r * WINDOW_STEPS;
  const i = Math.floor(p);
  return windowLut[i] + (windowLut[i + 1] - windowLut[i]) * (p - i);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function checkRate(name: string, rate: number): void {
  if (!Number.isSafeInteger(rate) || rate <= 0) throw new RangeError(`${name} must be a positive integer, got ${rate}`);
}

/**
 * Taps for input indices base-W+1 .. base+W when the output lies `frac` (0..1) past `base`,
 * normalised to unity DC gain so no phase adds ripple.
 */
function fillTaps(frac: number, fc: number, halfWidth: number, w: number, dst: Float64Array | Float32Array, off: number): void {
  const taps = 2 * w;
  let sum = 0;
  for (let k = 0; k < taps; k++) {
    const x = frac - (k - w + 1);
    const ax = Math.abs(x);
    let h = 0;
    if (ax < halfWidth) {
      const arg = Math.PI * 2 * fc * x;
      h = (ax < 1e-12 ? 1 : Math.sin(arg) / arg) * kaiser(ax / halfWidth);
    }
    dst[off + k] = h;
    sum += h;
  }
  if (sum !== 0) for (let k = 0; k < taps; k++) dst[off + k] /= sum;
}

export function resamplePcm16(src: Int16Array, fromRate: number, toRate: number): Int16Array {
  checkRate('fromRate', fromRate);
  checkRate('toRate', toRate);
  if (fromRate === toRate) return src.slice();

  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const len = src.length;
  const outLen = Math.ceil((len * up) / down); // output instants inside [0, len)
  const out = new Int16Array(outLen);
  if (len === 0) return out;

  const fc = 0.5 * CUTOFF * Math.min(1, up / down); // cycles per input sample
  const halfWidth = ZERO_CROSSINGS / (2 * fc); // in input samples
  const w = Math.ceil(halfWidth);
  const taps = 2 * w;

  // One tap set per phase when the ratio is "nice" (all listed rate pairs are).
  let table: Float32Array | undefined;
  if (up * taps <= MAX_TABLE_ENTRIES) {
    table = new Float32Array(up * taps);
    for (let p = 0; p < up; p++) fillTaps(p / up, fc, halfWidth, w, table, p * taps);
  }
  const scratch = table ? undefined : new Float64Array(taps);

  for (let n = 0; n < outLen; n++) {
    const pos = n * down; // exact: well below 2^53 for any real signal
    const base = Math.floor(pos / up);
    const phase = pos - base * up;
    let coeffs: Float32Array | Float64Array;
    let off: number;
    if (table) {
      coeffs = table;
      off = phase * taps;
    } else {
      coeffs = scratch!;
      off = 0;
      fillTaps(phase / up, fc, halfWidth, w, coeffs, 0);
    }
    const first = base - w + 1;
    const kStart = first < 0 ? -first : 0; // zero padding outside the input
    const kEnd = first + taps > len ? len - first : taps;
    let acc = 0;
    for (let k = kStart; k < kEnd; k++) acc += src[first + k] * coeffs[off + k];
    const s = Math.round(acc);
    out[n] = s > 32767 ? 32767 : s < -32768 ? -32768 : s;
  }
  return out;
}
