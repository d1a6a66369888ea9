// Windowed-sinc (Kaiser) resampler for an exact rational ratio up/down = toRate/fromRate.
// Output sample n sits at input time n*down/up. Used on prompts at start-up and on agents' replies (Lex's
// 16 kHz audio to an 8 kHz call) once per turn, never per frame.

/** Cutoff as a fraction of the lower Nyquist: passband to ~0.85, stopband from ~1.0. */
const CUTOFF = 0.925;
/**
 * Sinc zero crossings each side, measured at the lower rate; sets the transition width and the cost. 20 keeps a
 * telephone band whole (48k -> 8k: 3.4 kHz down 0.3 dB, 4.2 kHz down ~80 dB).
 */
const ZERO_CROSSINGS = 20;
/** Kaiser beta 8 gives roughly 80 dB stopband rejection. */
const KAISER_BETA = 8;
/**
 * Decimation by exactly 2 (Lex's 16 kHz replies to 8 kHz calls, once per turn on the main thread) uses a halfband
 * filter instead: cutoff at the new Nyquist, so every even tap but the centre is zero. Taps out to +-35 input
 * samples with Kaiser beta 6.76: flat to 3.5 kHz (0.002 dB), at least 70 dB down from 4.5 kHz, 19 products per
 * output where the general design needs 44. What lands between 3.5 and 4 kHz after folding is outside the
 * telephone band.
 */
const HALFBAND_REACH = 35;
const HALFBAND_BETA = 6.76;
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
function fillTaps(frac: number, fc: number, halfWidth: number, w: number, dst: Float64Array | Float64Array, off: number): void {
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

interface Filter {
  up: number;
  down: number;
  w: number;
  taps: number;
  /** One tap set per phase, or undefined when too large (taps computed per output). */
  table?: Float64Array;
  /** Phase 0's taps mirror around tap w-1 (its last tap is zero), so interior outputs fold pairs: half the products. */
  foldPhase0: boolean;
  /** 2 when phase 0's taps at even offsets from the centre are all zero (halfband), so the fold skips them. */
  foldStep: number;
  fc: number;
  halfWidth: number;
}

/** Designed filters by rate pair: a call's replies reuse one instead of recomputing its taps each time. */
const designed = new Map<string, Filter>();
const MAX_DESIGNED = 32;

function designFilter(fromRate: number, toRate: number): Filter {
  checkRate('fromRate', fromRate);
  checkRate('toRate', toRate);
  const key = `${fromRate}:${toRate}`;
  let f = designed.get(key);
  if (f === undefined) {
    f = design(fromRate, toRate);
    if (designed.size >= MAX_DESIGNED) designed.delete(designed.keys().next().value!);
    designed.set(key, f);
  }
  return f;
}

function design(fromRate: number, toRate: number): Filter {
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  if (up === 1 && down === 2) return halfband();
  const fc = 0.5 * CUTOFF * Math.min(1, up / down); // cycles per input sample
  const halfWidth = ZERO_CROSSINGS / (2 * fc); // in input samples
  const w = Math.ceil(halfWidth);
  const taps = 2 * w;
  // One tap set per phase when the ratio is "nice" (all listed rate pairs are).
  let table: Float64Array | undefined;
  if (up * taps <= MAX_TABLE_ENTRIES) {
    table = new Float64Array(up * taps);
    for (let p = 0; p < up; p++) fillTaps(p / up, fc, halfWidth, w, table, p * taps);
  }
  return { up, down, w, taps, table, foldPhase0: table !== undefined && mirrored(table, w), foldStep: 1, fc, halfWidth };
}

function halfband(): Filter {
  const w = HALFBAND_REACH + 1;
  const taps = 2 * w;
  const table = new Float64Array(taps); // tap k is input offset w-1-k from the output's position
  const norm = besselI0(HALFBAND_BETA);
  let sum = 0;
  for (let k = 0; k < taps; k++) {
    const x = w - 1 - k;
    let h = 0;
    if (x === 0) h = 1;
    else if (Math.abs(x) <= HALFBAND_REACH && x % 2 !== 0) {
      const arg = (Math.PI * x) / 2;
      h = (Math.sin(arg) / arg) * (besselI0(HALFBAND_BETA * Math.sqrt(1 - (x / w) ** 2)) / norm);
    }
    table[k] = h;
    sum += h;
  }
  for (let k = 0; k < taps; k++) table[k] /= sum;
  // fc and halfWidth serve only phases computed on the fly, which a one-phase table never needs.
  return { up: 1, down: 2, w, taps, table, foldPhase0: mirrored(table, w), foldStep: 2, fc: 0.25, halfWidth: w };
}

function mirrored(table: Float64Array, w: number): boolean {
  if (table[2 * w - 1] !== 0) return false;
  for (let j = 1; j < w; j++) if (table[w - 1 - j] !== table[w - 1 + j]) return false;
  return true;
}

/**
 * Output sample n from `src`, whose element 0 is input sample `origin`; input samples before 0 and from `len`
 * on count as zero.
 */
function outputSample(f: Filter, n: number, src: Int16Array, origin: number, len: number, scratch: Float64Array | undefined): number {
  const pos = n * f.down; // exact: well below 2^53 for any real signal
  const base = Math.floor(pos / f.up);
  const phase = pos - base * f.up;
  let coeffs: Float64Array | Float64Array;
  let off: number;
  if (f.table) {
    coeffs = f.table;
    off = phase * f.taps;
  } else {
    coeffs = scratch!;
    off = 0;
    fillTaps(phase / f.up, f.fc, f.halfWidth, f.w, coeffs, 0);
  }
  const first = base - f.w + 1;
  const kStart = first < 0 ? -first : 0; // zero padding outside the input
  const kEnd = first + f.taps > len ? len - first : f.taps;
  let acc = 0;
  const at = first - origin;
  if (phase === 0 && f.foldPhase0 && kStart === 0 && kEnd === f.taps) {
    // Integer decimation (16k -> 8k: Lex replies) always lands here away from the edges.
    acc = foldedSum(src, at + f.w - 1, f.w - 1, f.foldStep, coeffs);
  } else {
    for (let k = kStart; k < kEnd; k++) acc += src[at + k] * coeffs[off + k];
  }
  return toPcm16(acc);
}

/** Phase 0's mirrored taps around input `m`: centre tap `c`, pairs `m - j` and `m + j` (every `step`-th). */
function foldedSum(src: Int16Array, m: number, c: number, step: number, coeffs: Float64Array): number {
  let acc = src[m] * coeffs[c];
  for (let j = 1; j <= c; j += step) acc += (src[m - j] + src[m + j]) * coeffs[c + j];
  return acc;
}

function toPcm16(acc: number): number {
  const s = Math.round(acc);
  return s > 32767 ? 32767 : s < -32768 ? -32768 : s;
}

export function resamplePcm16(src: Int16Array, fromRate: number, toRate: number): Int16Array {
  const f = designFilter(fromRate, toRate);
  if (fromRate === toRate) return src.slice();
  const len = src.length;
  const outLen = Math.ceil((len * f.up) / f.down); // output instants inside [0, len)
  const out = new Int16Array(outLen);
  const scratch = f.table ? undefined : new Float64Array(f.taps);
  if (f.up === 1 && f.foldPhase0) {
    // Integer decimation: every output is phase 0, so the interior skips outputSample's edge and phase checks and
    // sums the same folded taps (the stream resampler's outputs stay equal to these).
    const c = f.w - 1;
    const from = Math.min(outLen, Math.ceil(c / f.down)); // first n with all taps inside the input
    const to = Math.max(from, Math.min(outLen, Math.floor((len - f.w - 1) / f.down) + 1));
    for (let n = 0; n < from; n++) out[n] = outputSample(f, n, src, 0, len, scratch);
    for (let n = from; n < to; n++) out[n] = toPcm16(foldedSum(src, n * f.down, c, f.foldStep, f.table!));
    for (let n = to; n < outLen; n++) out[n] = outputSample(f, n, src, 0, len, scratch);
    return out;
  }
  for (let n = 0; n < outLen; n++) out[n] = outputSample(f, n, src, 0, len, scratch);
  return out;
}

/**
 * resamplePcm16 over a stream that arrives in chunks: the concatenated outputs of push() and end() equal
 * resamplePcm16 of the concatenated input, sample for sample. Output lags input by the filter's half-width
 * (about 4 ms between 8 and 16 kHz), which end() releases.
 */
export class Pcm16StreamResampler {
  private readonly f: Filter;
  private readonly scratch?: Float64Array;
  /** Input samples kept, from absolute index `origin`. */
  private hist: Int16Array;
  private origin = 0;
  private histLen = 0;
  /** Input samples seen so far. */
  private seen = 0;
  /** Next output sample. */
  private n = 0;
  private out = new Int16Array(0);
  private ended = false;

  constructor(readonly fromRate: number, readonly toRate: number) {
    this.f = designFilter(fromRate, toRate);
    this.scratch = this.f.table ? undefined : new Float64Array(this.f.taps);
    this.hist = new Int16Array(4 * this.f.taps);
  }

  /** Outputs whose taps have all arrived: a view, valid until the next push() or end(). */
  push(chunk: Int16Array): Int16Array {
    if (this.ended) throw new Error('push() after end()');
    if (this.fromRate === this.toRate) return chunk; // as resamplePcm16: a copy of the input, here the input itself
    this.keep(chunk);
    this.seen += chunk.length;
    const f = this.f;
    // Output n needs inputs up to floor(n * down / up) + w.
    let last = Math.floor(((this.seen - f.w) * f.up - 1) / f.down); // highest n with base + w < seen
    if (this.seen - f.w <= 0) last = -1;
    return this.emit(last + 1, Infinity);
  }

  /** The rest of the output, as resamplePcm16 ends (inputs past the last count as zero). */
  end(): Int16Array {
    if (this.ended) return this.out.subarray(0, 0);
    this.ended = true;
    if (this.fromRate === this.toRate) return this.out.subarray(0, 0);
    return this.emit(Math.ceil((this.seen * this.f.up) / this.f.down), this.seen);
  }

  private emit(until: number, len: number): Int16Array {
    const count = Math.max(0, until - this.n);
    if (this.out.length < count) this.out = new Int16Array(Math.max(count, 2 * this.out.length));
    const lenAbs = len === Infinity ? this.seen : len;
    for (let i = 0; i < count; i++) this.out[i] = outputSample(this.f, this.n + i, this.hist, this.origin, lenAbs, this.scratch);
    this.n += count;
    this.drop();
    return this.out.subarray(0, count);
  }

  private keep(chunk: Int16Array): void {
    const need = this.histLen + chunk.length;
    if (need > this.hist.length) {
      const bigger = new Int16Array(Math.max(need, 2 * this.hist.length));
      bigger.set(this.hist.subarray(0, this.histLen));
      this.hist = bigger;
    }
    this.hist.set(chunk, this.histLen);
    this.histLen = need;
  }

  /** Forgets inputs no future output reads. */
  private drop(): void {
    const f = this.f;
    const firstNeeded = Math.floor((this.n * f.down) / f.up) - f.w + 1;
    const k = Math.min(this.histLen, firstNeeded - this.origin);
    if (k <= 0) return;
    this.hist.copyWithin(0, k, this.histLen);
    this.histLen -= k;
    this.origin += k;
  }
}
