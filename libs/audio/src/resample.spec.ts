import { Pcm16StreamResampler, resamplePcm16 } from './resample';

const RATES = [8000, 16000, 22050, 24000, 32000, 44100, 48000];

function tone(freq: number, rate: number, seconds: number, amp = 10000): Int16Array {
  return Int16Array.from({ length: Math.round(rate * seconds) }, (_, n) => Math.round(amp * Math.sin((2 * Math.PI * freq * n) / rate)));
}

// Middle half only: the zero-padded edges are a start-up transient, not steady state.
function middle(x: Int16Array): Int16Array {
  return x.subarray(Math.floor(x.length / 4), Math.floor((3 * x.length) / 4));
}

function rms(x: Int16Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

/** Amplitude of the `freq` component (Hann-windowed DFT bin), robust to other tones. */
function amplitudeAt(x: Int16Array, freq: number, rate: number): number {
  let re = 0;
  let im = 0;
  let wsum = 0;
  for (let n = 0; n < x.length; n++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (x.length - 1));
    const ph = (2 * Math.PI * freq * n) / rate;
    re += w * x[n] * Math.cos(ph);
    im += w * x[n] * Math.sin(ph);
    wsum += w;
  }
  return (2 * Math.hypot(re, im)) / wsum;
}

const db = (ratio: number) => 20 * Math.log10(ratio);

const pairs = RATES.flatMap((from) => RATES.filter((to) => to !== from).map((to) => [from, to] as const));

describe('resamplePcm16', () => {
  it.each(pairs)('%i -> %i: 440 Hz passes within 1 dB, length scales with the ratio', (from, to) => {
    const src = tone(440, from, 0.3);
    const out = resamplePcm16(src, from, to);
    expect(Math.abs(out.length - (src.length * to) / from)).toBeLessThan(1);
    expect(out.length).toBe(Math.ceil((src.length * to) / from));
    const gain = db(amplitudeAt(middle(out), 440, to) / 10000);
    expect(Math.abs(gain)).toBeLessThan(1);
  });

  it.each([
    [48000, 8000, 6000],
    [16000, 8000, 6000],
    [44100, 8000, 6000],
    [16000, 8000, 4500], // just above the target Nyquist
    [48000, 16000, 9000],
  ])('%i -> %i: a %i Hz tone above the target Nyquist is attenuated by >= 40 dB', (from, to, freq) => {
    const out = resamplePcm16(tone(freq, from, 0.3), from, to);
    // Anything left is aliasing wherever it lands, so measure all of it.
    expect(db(rms(middle(out)) / (10000 / Math.SQRT2))).toBeLessThan(-40);
  });

  it('16k -> 8k (Lex replies): flat to 3.4 kHz, at least 65 dB down from 4.5 kHz', () => {
    for (const freq of [300, 1000, 3400]) {
      const out = resamplePcm16(tone(freq, 16000, 0.5), 16000, 8000);
      expect(Math.abs(db(amplitudeAt(middle(out), freq, 8000) / 10000))).toBeLessThan(0.05);
    }
    for (const freq of [4500, 5200, 6100, 7900]) {
      const out = resamplePcm16(tone(freq, 16000, 0.5), 16000, 8000);
      expect(db(rms(middle(out)) / (10000 / Math.SQRT2))).toBeLessThan(-65);
    }
  });

  it('keeps the 3 kHz telephone band when going to 8 kHz', () => {
    const out = resamplePcm16(tone(3000, 48000, 0.3), 48000, 8000);
    expect(Math.abs(db(amplitudeAt(middle(out), 3000, 8000) / 10000))).toBeLessThan(1);
  });

  it('8k -> 48k upsampling suppresses the 7 kHz image of a 1 kHz tone by >= 40 dB', () => {
    const out = middle(resamplePcm16(tone(1000, 8000, 0.3), 8000, 48000));
    expect(Math.abs(db(amplitudeAt(out, 1000, 48000) / 10000))).toBeLessThan(1);
    expect(db(amplitudeAt(out, 7000, 48000) / 10000)).toBeLessThan(-40);
    expect(db(amplitudeAt(out, 9000, 48000) / 10000)).toBeLessThan(-40);
  });

  it('has unity DC gain and a smooth 440 Hz output (no phase ripple)', () => {
    const dc = middle(resamplePcm16(new Int16Array(4410).fill(1000), 44100, 8000));
    expect(Math.max(...dc)).toBeLessThanOrEqual(1001);
    expect(Math.min(...dc)).toBeGreaterThanOrEqual(999);
    // Output must track the ideal band-limited tone sample by sample (same time origin).
    const out = resamplePcm16(tone(440, 44100, 0.2), 44100, 8000);
    const ideal = tone(440, 8000, 0.2);
    let worst = 0;
    for (let n = out.length / 4; n < (3 * out.length) / 4; n++) worst = Math.max(worst, Math.abs(out[n] - ideal[n]));
    expect(worst).toBeLessThan(20); // ~ -54 dB re 10000
  });

  it('handles ratios too odd for a phase table (8000 -> 8001)', () => {
    const src = tone(440, 8000, 0.25);
    const out = resamplePcm16(src, 8000, 8001);
    expect(out.length).toBe(Math.ceil((src.length * 8001) / 8000));
    const ideal = tone(440, 8001, 0.25);
    let worst = 0;
    for (let n = 500; n < out.length - 500; n++) worst = Math.max(worst, Math.abs(out[n] - ideal[n]));
    expect(worst).toBeLessThan(20);
  });

  it('copies when the rates match, handles empty and tiny input', () => {
    const src = tone(440, 8000, 0.01);
    const same = resamplePcm16(src, 8000, 8000);
    expect(same).toEqual(src);
    expect(same).not.toBe(src);
    expect(resamplePcm16(new Int16Array(0), 8000, 16000)).toHaveLength(0);
    expect(resamplePcm16(Int16Array.of(1000), 48000, 8000)).toHaveLength(1);
    expect(resamplePcm16(Int16Array.of(1000), 8000, 48000)).toHaveLength(6);
  });

  it('saturates instead of wrapping on full-scale input', () => {
    const square = Int16Array.from({ length: 800 }, (_, n) => (Math.floor(n / 20) % 2 ? -32768 : 32767));
    const out = resamplePcm16(square, 8000, 16000);
    // Gibbs overshoot must clip, never wrap to the opposite sign mid-plateau.
    for (let n = 100; n < out.length - 100; n++) {
      const plateau = Math.floor(n / 40) % 2 ? -1 : 1;
      if (n % 40 > 8 && n % 40 < 32) expect(Math.sign(out[n])).toBe(plateau);
    }
  });

  it('rejects invalid rates', () => {
    expect(() => resamplePcm16(new Int16Array(4), 0, 8000)).toThrow(RangeError);
    expect(() => resamplePcm16(new Int16Array(4), 8000, 8000.5)).toThrow(RangeError);
    expect(() => resamplePcm16(new Int16Array(4), NaN, 8000)).toThrow(RangeError);
  });
});

describe('Pcm16StreamResampler', () => {
  /** Deterministic noise-like test signal (full band, so every tap matters). */
  const noise = (n: number, seed = 7) => {
    let x = seed;
    return Int16Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) - 32768);
  };
  const run = (src: Int16Array, from: number, to: number, chunkOf: (i: number) => number) => {
    const r = new Pcm16StreamResampler(from, to);
    const parts: number[] = [];
    for (let o = 0, i = 0; o < src.length; i++) {
      const n = Math.min(chunkOf(i), src.length - o);
      parts.push(...r.push(src.subarray(o, o + n)));
      o += n;
    }
    parts.push(...r.end());
    return Int16Array.from(parts);
  };

  it.each([
    [16000, 8000],
    [8000, 16000],
    [48000, 8000],
    [8000, 44100],
    [8000, 8001],
  ])('%i -> %i chunk by chunk equals resampling the whole at once, for any chunking', (from, to) => {
    const src = noise(from / 5); // 200 ms
    const whole = resamplePcm16(src, from, to);
    expect(run(src, from, to, () => from / 50)).toEqual(whole); // 20 ms frames
    expect(run(src, from, to, (i) => 1 + ((i * 37) % 113))).toEqual(whole); // ragged, some tiny
  });

  it('passes input through when the rates match, and releases nothing more at the end', () => {
    const r = new Pcm16StreamResampler(8000, 8000);
    const chunk = noise(160);
    expect(r.push(chunk)).toEqual(chunk);
    expect(r.end()).toHaveLength(0);
  });

  it('holds back only the filter half-width, and keeps a bounded history', () => {
    const r = new Pcm16StreamResampler(16000, 8000);
    let out = 0;
    for (let i = 0; i < 500; i++) out += r.push(noise(320, i)).length; // 10 s
    expect(160 * 500 - out).toBeLessThan(40); // about 4 ms of 8 kHz output outstanding
    expect(out + r.end().length).toBe(160 * 500);
    expect((r as unknown as { hist: Int16Array }).hist.length).toBeLessThan(2000);
  });

  it('rejects push() after end()', () => {
    const r = new Pcm16StreamResampler(16000, 8000);
    r.end();
    expect(() => r.push(new Int16Array(1))).toThrow(/after end/);
  });
});
