import { readFileSync } from 'fs';
import { join } from 'path';
import { MULAW_8K } from './format';
import { alawToLinear, mulawToLinear } from './g711';
import { decodeToPcm16, encodeFromPcm16 } from './pcm';
import { WavAudio, WavFormatError, convertWav, parseWav, wavToPcm16Mono, writeWav } from './wav';

// Fixtures made by SoX: libs/audio/test-data/make-wav-fixtures.sh.
const fixture = (name: string) => new Uint8Array(readFileSync(join(__dirname, '..', 'test-data', 'wav', name)));
const REF = wavToPcm16Mono(parseWav(fixture('ref-s16.wav'))).samples; // 400 samples of 440 Hz

// --- tiny RIFF builder for hand-made edge cases ---
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const u16 = (v: number) => Uint8Array.of(v & 0xff, (v >> 8) & 0xff);
const u32 = (v: number) => Uint8Array.of(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};
function chunk(id: string, body: Uint8Array, opts: { pad?: boolean; size?: number } = {}): Uint8Array {
  const pad = opts.pad ?? true;
  return cat(ascii(id), u32(opts.size ?? body.length), body, pad && body.length & 1 ? Uint8Array.of(0) : new Uint8Array(0));
}
const riff = (...chunks: Uint8Array[]) => {
  const body = cat(ascii('WAVE'), ...chunks);
  return cat(ascii('RIFF'), u32(body.length), body);
};
function fmt(tag: number, channels: number, rate: number, bits: number, byteRate?: number, blockAlign?: number): Uint8Array {
  const align = blockAlign ?? (channels * bits) / 8;
  return chunk('fmt ', cat(u16(tag), u16(channels), u32(rate), u32(byteRate ?? rate * align), u16(align), u16(bits)));
}
const KS_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
function fmtExtensible(subTag: number, channels: number, rate: number, bits: number, validBits = bits, guidTail = KS_TAIL): Uint8Array {
  const align = (channels * bits) / 8;
  return chunk(
    'fmt ',
    cat(u16(0xfffe), u16(channels), u32(rate), u32(rate * align), u16(align), u16(bits), u16(22), u16(validBits), u32(0), u16(subTag), Uint8Array.from(guidTail)),
  );
}
const pcm16 = (...v: number[]) => new Uint8Array(Int16Array.from(v).buffer);

function expectWavError(buf: Uint8Array, message?: RegExp): void {
  let err: unknown;
  try {
    parseWav(buf);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(WavFormatError);
  if (message) expect((err as Error).message).toMatch(message);
}

describe('writeWav / parseWav round trip', () => {
  it.each([
    ['mulaw', 7, 8, 18],
    ['alaw', 6, 8, 18],
    ['linear16', 1, 16, 16],
  ] as const)('%s', (encoding, tag, bits, fmtSize) => {
    const data = Uint8Array.from({ length: 321 }, (_, i) => (i * 37) & 0xff).subarray(0, encoding === 'linear16' ? 320 : 321);
    const wav = writeWav(data, { encoding, sampleRate: 16000 });
    const dv = new DataView(wav.buffer);
    expect(String.fromCharCode(...wav.subarray(0, 4))).toBe('RIFF');
    expect(dv.getUint32(4, true)).toBe(wav.length - 8);
    expect(dv.getUint32(16, true)).toBe(fmtSize);
    expect(wav.length % 2).toBe(0);
    expect(wav.length).toBe(12 + 8 + fmtSize + 8 + data.length + (data.length & 1));
    expect(dv.getUint32(28, true)).toBe((16000 * bits) / 8); // byte rate
    const parsed = parseWav(wav);
    expect(parsed).toMatchObject({ formatTag: tag, channels: 1, sampleRate: 16000, bitsPerSample: bits, sampleFormat: encoding === 'linear16' ? 'pcm' : encoding });
    expect(parsed.data).toEqual(data);
    expect(parsed.data.buffer).toBe(wav.buffer); // a view, not a copy
  });

  it('is accepted by soxi-style readers: the header matches what SoX writes for PCM', () => {
    const ref = fixture('ref-s16.wav');
    const parsed = parseWav(ref);
    expect(writeWav(parsed.data, { encoding: 'linear16', sampleRate: 8000 })).toEqual(ref);
  });

  it('rejects bad formats', () => {
    expect(() => writeWav(new Uint8Array(2), { encoding: 'mulaw', sampleRate: 0 })).toThrow(RangeError);
    expect(() => writeWav(new Uint8Array(2), { encoding: 'mp3' as never, sampleRate: 8000 })).toThrow(RangeError);
  });
});

describe('parseWav + wavToPcm16Mono on SoX-made files', () => {
  const cases: [string, Partial<WavAudio>, number, number][] = [
    // file, header, mono scale vs REF, tolerance in 16-bit LSBs
    ['ref-s16.wav', { formatTag: 1, sampleFormat: 'pcm', bitsPerSample: 16, channels: 1 }, 1, 0],
    ['pcm-u8.wav', { formatTag: 1, sampleFormat: 'pcm', bitsPerSample: 8, channels: 1 }, 1, 128],
    ['pcm-s24.wav', { formatTag: 1, sampleFormat: 'pcm', bitsPerSample: 24, channels: 1 }, 1, 0],
    ['pcm-s32.wav', { formatTag: 1, sampleFormat: 'pcm', bitsPerSample: 32, channels: 1 }, 1, 0],
    ['float32.wav', { formatTag: 3, sampleFormat: 'float', bitsPerSample: 32, channels: 1 }, 1, 0],
    ['float64.wav', { formatTag: 3, sampleFormat: 'float', bitsPerSample: 64, channels: 1 }, 1, 0],
    ['ext-s24.wav', { formatTag: 0xfffe, sampleFormat: 'pcm', bitsPerSample: 24, channels: 1 }, 1, 0],
    ['stereo-s16.wav', { formatTag: 1, sampleFormat: 'pcm', bitsPerSample: 16, channels: 2 }, 0.25, 1],
    ['ext-3ch-s16.wav', { formatTag: 0xfffe, sampleFormat: 'pcm', bitsPerSample: 16, channels: 3 }, 2 / 3, 1],
  ];
  it.each(cases)('%s', (name, header, scale, tolerance) => {
    const wav = parseWav(fixture(name));
    expect(wav).toMatchObject({ ...header, sampleRate: 8000 });
    const { samples, sampleRate } = wavToPcm16Mono(wav);
    expect(sampleRate).toBe(8000);
    expect(samples).toHaveLength(REF.length);
    let worst = 0;
    for (let i = 0; i < REF.length; i++) worst = Math.max(worst, Math.abs(samples[i] - REF[i] * scale));
    expect(worst).toBeLessThanOrEqual(tolerance + 0.5);
  });

  it.each([
    ['mulaw.wav', 7, 'mulaw', mulawToLinear],
    ['alaw.wav', 6, 'alaw', alawToLinear],
  ] as const)('%s (G.711, with a fact chunk)', (name, tag, sampleFormat, decode) => {
    const wav = parseWav(fixture(name));
    expect(wav).toMatchObject({ formatTag: tag, sampleFormat, bitsPerSample: 8, channels: 1, sampleRate: 8000 });
    expect(wav.data).toHaveLength(REF.length);
    const { samples } = wavToPcm16Mono(wav);
    expect(Array.from(samples)).toEqual(Array.from(wav.data, decode));
    let err = 0;
    let sig = 0;
    for (let i = 0; i < REF.length; i++) ((err += (samples[i] - REF[i]) ** 2), (sig += REF[i] ** 2));
    expect(10 * Math.log10(sig / err)).toBeGreaterThan(30); // G.711 gives ~38 dB on a sine
  });
});

describe('parseWav chunk handling', () => {
  const body = pcm16(1, -2, 3, -4);

  it('skips a LIST chunk (and other unknown chunks) before data', () => {
    const list = chunk('LIST', cat(ascii('INFO'), chunk('ISFT', ascii('test\0'))));
    const wav = parseWav(riff(fmt(1, 1, 8000, 16), list, chunk('junk', new Uint8Array(7)), chunk('data', body)));
    expect(Array.from(wavToPcm16Mono(wav).samples)).toEqual([1, -2, 3, -4]);
  });

  it('honours the pad byte after odd-sized chunks', () => {
    const odd = chunk('bext', Uint8Array.of(1, 2, 3)); // 3 bytes + pad
    expect(odd).toHaveLength(12);
    const wav = parseWav(riff(fmt(1, 1, 8000, 16), odd, chunk('data', body)));
    expect(wav.data).toEqual(body);
  });

  it('copes with writers that forget the pad byte', () => {
    const odd = chunk('bext', Uint8Array.of(1, 2, 3), { pad: false });
    const wav = parseWav(riff(fmt(1, 1, 8000, 16), odd, chunk('data', body)));
    expect(wav.data).toEqual(body);
  });

  it('pads an odd data chunk and still finds it when fmt comes after data', () => {
    const mu = Uint8Array.of(0xff, 0x80, 0x00);
    const wav = parseWav(riff(chunk('data', mu), chunk('fact', u32(3)), fmt(7, 1, 8000, 8)));
    expect(wav.sampleFormat).toBe('mulaw');
    expect(wav.data).toEqual(mu);
  });

  it('truncates a data chunk whose size runs past the end of the file', () => {
    const wav = parseWav(riff(fmt(1, 1, 8000, 16), chunk('data', body, { size: 0xffffffff })));
    expect(wav.data).toEqual(body);
    const short = parseWav(riff(fmt(1, 1, 8000, 16), chunk('data', body, { size: 1000 })).subarray(0, 44 + 5));
    expect(short.data).toHaveLength(5);
    expect(Array.from(wavToPcm16Mono(short).samples)).toEqual([1, -2]); // partial sample dropped
  });

  it('ignores wrong byte-rate, block-align and RIFF size fields', () => {
    const buf = riff(fmt(1, 2, 16000, 16, 12345, 7), chunk('data', body));
    new DataView(buf.buffer).setUint32(4, 3, true);
    const wav = parseWav(buf);
    expect(wav).toMatchObject({ channels: 2, sampleRate: 16000, bitsPerSample: 16 });
    expect(Array.from(wavToPcm16Mono(wav).samples)).toEqual([0, 0]); // (1-2)/2 -> -0.5 rounds to 0; (3-4)/2 likewise
  });

  it('accepts a buffer that is a view at an odd offset (e.g. a pooled Buffer)', () => {
    const file = riff(fmt(3, 1, 8000, 32), chunk('data', new Uint8Array(Float32Array.of(0.5, -0.25, 2, NaN).buffer)));
    const backing = new Uint8Array(file.length + 3);
    backing.set(file, 1);
    const wav = parseWav(backing.subarray(1, 1 + file.length));
    expect(Array.from(wavToPcm16Mono(wav).samples)).toEqual([16384, -8192, 32767, 0]);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE float and 24-in-32-bit containers', () => {
    const f = parseWav(riff(fmtExtensible(3, 1, 8000, 32), chunk('data', new Uint8Array(Float32Array.of(-1, 0.25).buffer))));
    expect(f).toMatchObject({ formatTag: 0xfffe, sampleFormat: 'float', bitsPerSample: 32 });
    expect(Array.from(wavToPcm16Mono(f).samples)).toEqual([-32768, 8192]);
    const p = parseWav(riff(fmtExtensible(1, 1, 48000, 32, 24), chunk('data', new Uint8Array(Int32Array.of(0x12348100, -0x100).buffer))));
    expect(Array.from(wavToPcm16Mono(p).samples)).toEqual([0x1235, 0]); // 0x1234.81 rounds up
  });

  it('rounds odd PCM bit depths up to their byte container', () => {
    const wav = parseWav(riff(fmt(1, 1, 8000, 12, undefined, 2), chunk('data', pcm16(0x7ff0, -16))));
    expect(wav.bitsPerSample).toBe(16);
    expect(Array.from(wavToPcm16Mono(wav).samples)).toEqual([0x7ff0, -16]);
  });

  it('decodes 8-bit unsigned and 24-bit signed extremes', () => {
    const u8 = parseWav(riff(fmt(1, 1, 8000, 8), chunk('data', Uint8Array.of(0, 128, 255))));
    expect(Array.from(wavToPcm16Mono(u8).samples)).toEqual([-32768, 0, 32512]);
    const s24 = parseWav(riff(fmt(1, 1, 8000, 24), chunk('data', Uint8Array.of(0, 0, 0x80, 0xff, 0xff, 0x7f, 0x80, 0, 0))));
    expect(Array.from(wavToPcm16Mono(s24).samples)).toEqual([-32768, 32767, 1]);
  });
});

describe('parseWav rejects bad input with WavFormatError', () => {
  const good = riff(fmt(1, 1, 8000, 16), chunk('data', pcm16(1, 2)));

  it.each([
    ['empty', new Uint8Array(0), /not a RIFF\/WAVE file/],
    ['too short', ascii('RIFF'), /not a RIFF\/WAVE file/],
    ['garbage', Uint8Array.from({ length: 64 }, (_, i) => (i * 97) & 0xff), /not a RIFF\/WAVE file/],
    ['AIFF', cat(ascii('FORM'), u32(4), ascii('AIFF')), /not a RIFF\/WAVE file/],
    ['RIFF but not WAVE', cat(ascii('RIFF'), u32(4), ascii('AVI ')), /not a RIFF\/WAVE file/],
    ['big-endian RIFX', cat(ascii('RIFX'), u32(4), ascii('WAVE')), /RIFX/],
    ['no chunks', riff(), /fmt chunk missing/],
    ['no data chunk', riff(fmt(1, 1, 8000, 16), chunk('LIST', ascii('INFO'))), /data chunk missing/],
    ['no fmt chunk', riff(chunk('data', pcm16(1))), /fmt chunk missing/],
    ['short fmt chunk', riff(chunk('fmt ', new Uint8Array(14)), chunk('data', pcm16(1))), /truncated fmt chunk/],
    ['fmt cut by end of file', good.subarray(0, 30), /truncated fmt chunk/],
    ['MPEG', riff(fmt(0x55, 1, 8000, 0), chunk('data', pcm16(1))), /unsupported WAV format tag 0x55 \(MPEG\)/],
    ['IMA ADPCM', riff(fmt(0x11, 1, 8000, 4), chunk('data', pcm16(1))), /0x11 \(IMA ADPCM\)/],
    ['0 channels', riff(fmt(1, 0, 8000, 16), chunk('data', pcm16(1))), /0 channels/],
    ['0 Hz', riff(fmt(1, 1, 0, 16), chunk('data', pcm16(1))), /0 Hz/],
    ['0-bit PCM', riff(fmt(1, 1, 8000, 0), chunk('data', pcm16(1))), /PCM bit depth 0/],
    ['48-bit PCM', riff(fmt(1, 1, 8000, 48), chunk('data', pcm16(1))), /PCM bit depth 48/],
    ['16-bit float', riff(fmt(3, 1, 8000, 16), chunk('data', pcm16(1))), /float bit depth 16/],
    ['16-bit mu-law', riff(fmt(7, 1, 8000, 16), chunk('data', pcm16(1))), /mulaw bit depth 16/],
    ['short extensible fmt', riff(chunk('fmt ', cat(u16(0xfffe), u16(1), u32(8000), u32(16000), u16(2), u16(16))), chunk('data', pcm16(1))), /truncated WAVE_FORMAT_EXTENSIBLE/],
    ['extensible MPEG', riff(fmtExtensible(0x55, 1, 8000, 16), chunk('data', pcm16(1))), /sub-format 0x55 \(MPEG\)/],
    ['extensible foreign GUID', riff(fmtExtensible(1, 1, 8000, 16, 16, [0, 0, 0x21, 0x07, 0xd3, 0x11, 0x86, 0x44, 0xc8, 0xc1, 0xca, 0, 0, 0])), /sub-format GUID \{00000001-0721-11d3-8644-c8c1ca000000\}/],
    ['two fmt chunks', riff(fmt(1, 1, 8000, 16), fmt(1, 1, 8000, 16), chunk('data', pcm16(1))), /more than one fmt/],
  ])('%s', (_name, buf, message) => expectWavError(buf, message));

  it('rejects non-byte-array input', () => {
    expectWavError(null as never);
    expectWavError('RIFF' as never);
    expectWavError(new Int16Array(40) as never);
  });

  it('every prefix of a valid file parses or throws WavFormatError', () => {
    const file = fixture('ext-s24.wav');
    for (let n = 0; n <= file.length; n++) {
      try {
        wavToPcm16Mono(parseWav(file.subarray(0, n)));
      } catch (e) {
        if (!(e instanceof WavFormatError)) throw new Error(`prefix ${n}: ${String(e)}`);
      }
    }
  });

  it('random corruption never throws anything but WavFormatError', () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const sources = ['ref-s16.wav', 'ext-3ch-s16.wav', 'mulaw.wav', 'float64.wav'].map(fixture);
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const src = sources[i % sources.length];
      const buf = src.slice(0, 16 + Math.floor(rand() * (src.length - 16)));
      // Mostly hit the header, where the structure lives.
      for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) buf[Math.floor(rand() * Math.min(buf.length, rand() < 0.8 ? 80 : buf.length))] = Math.floor(rand() * 256);
      try {
        wavToPcm16Mono(parseWav(buf));
        parsed++;
      } catch (e) {
        if (!(e instanceof WavFormatError)) throw new Error(`case ${i}: ${String(e)}`);
      }
    }
    expect(parsed).toBeGreaterThan(100); // the fuzz must not only produce rejects
  });

  it('wavToPcm16Mono rejects impossible WavAudio values', () => {
    const base: WavAudio = { formatTag: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16, sampleFormat: 'pcm', data: new Uint8Array(4) };
    for (const bad of [{ channels: 0 }, { bitsPerSample: 12 }, { sampleFormat: 'float', bitsPerSample: 16 }, { sampleFormat: 'opus' }, { sampleRate: 0 }]) {
      expect(() => wavToPcm16Mono({ ...base, ...bad } as WavAudio)).toThrow(WavFormatError);
    }
  });
});

describe('convertWav', () => {
  it('16 kHz PCM -> 8 kHz mu-law', () => {
    const src16k = Int16Array.from({ length: 16000 }, (_, n) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / 16000)));
    const input = writeWav(encodeFromPcm16(src16k, 'linear16'), { encoding: 'linear16', sampleRate: 16000 });
    const { raw, wav, durationMs } = convertWav(input, MULAW_8K);
    expect(raw).toHaveLength(8000);
    expect(durationMs).toBe(1000);
    const parsed = parseWav(wav);
    expect(parsed).toMatchObject({ formatTag: 7, sampleRate: 8000, channels: 1 });
    expect(parsed.data).toEqual(raw);
    const pcm = decodeToPcm16(raw, 'mulaw');
    let peak = 0;
    for (let n = 2000; n < 6000; n++) peak = Math.max(peak, Math.abs(pcm[n]));
    expect(peak).toBeGreaterThan(7500);
    expect(peak).toBeLessThan(8500);
  });

  it('same rate: PCM -> PCM is lossless; stereo is downmixed', () => {
    const ref = fixture('ref-s16.wav');
    expect(convertWav(ref, { encoding: 'linear16', sampleRate: 8000 }).raw).toEqual(parseWav(ref).data);
    const { raw, durationMs } = convertWav(fixture('stereo-s16.wav'), { encoding: 'alaw', sampleRate: 8000 });
    expect(durationMs).toBe(50);
    expect(raw).toHaveLength(400);
  });

  it('8 kHz A-law -> 16 kHz PCM', () => {
    const out = convertWav(fixture('alaw.wav'), { encoding: 'linear16', sampleRate: 16000 });
    expect(out.raw).toHaveLength(1600);
    expect(out.durationMs).toBe(50);
    expect(parseWav(out.wav)).toMatchObject({ formatTag: 1, bitsPerSample: 16, sampleRate: 16000 });
  });

  it('propagates WavFormatError', () => {
    expect(() => convertWav(new Uint8Array(10), MULAW_8K)).toThrow(WavFormatError);
  });
});
