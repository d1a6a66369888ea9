import { AudioFormat, durationMs as formatDurationMs } from './format';
import { ALAW_DECODE, MULAW_DECODE } from './g711';
import { encodeFromPcm16 } from './pcm';
import { resamplePcm16 } from './resample';

export class WavFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WavFormatError';
  }
}

export interface WavAudio {
  /** fmt chunk tag as written (0xFFFE for WAVE_FORMAT_EXTENSIBLE; see sampleFormat for the resolved type). */
  formatTag: number;
  channels: number;
  sampleRate: number;
  /** Container width per sample (8/16/24/32/64); PCM with e.g. 12 or 20 bits is rounded up to its container. */
  bitsPerSample: number;
  sampleFormat: 'pcm' | 'float' | 'mulaw' | 'alaw';
  /** Raw data chunk: a view into the parsed buffer, not a copy. */
  data: Uint8Array;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

// Names for the formats people most often feed us by mistake, for the error message.
const FORMAT_NAMES: Record<number, string> = {
  0x0000: 'unknown',
  0x0002: 'Microsoft ADPCM',
  0x0011: 'IMA ADPCM',
  0x0022: 'TrueSpeech',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0050: 'MPEG',
  0x0055: 'MPEG',
  0x0064: 'G.726 ADPCM',
  0x0161: 'Windows Media Audio',
  0x1610: 'AAC',
  0x674f: 'Ogg Vorbis',
  0xf1ac: 'FLAC',
};

// Bytes 2..15 of KSDATAFORMAT_SUBTYPE_* GUIDs (xxxxxxxx-0000-0010-8000-00AA00389B71) as stored
// little-endian; bytes 0..1 carry the plain format tag.
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

function hex(n: number, width = 2): string {
  return '0x' + n.toString(16).padStart(width, '0');
}

function formatName(tag: number): string {
  const name = FORMAT_NAMES[tag];
  return name ? `${hex(tag)} (${name})` : hex(tag);
}

function fourCC(buf: Uint8Array, at: number): string {
  return String.fromCharCode(buf[at], buf[at + 1], buf[at + 2], buf[at + 3]);
}

function looksLikeFourCC(buf: Uint8Array, at: number): boolean {
  if (at + 4 > buf.length) return false;
  for (let i = at; i < at + 4; i++) if (buf[i] < 0x20 || buf[i] > 0x7e) return false;
  return true;
}

function guidString(b: Uint8Array): string {
  const h = (from: number, to: number) => Array.from(b.subarray(from, to), (x) => x.toString(16).padStart(2, '0')).join('');
  const le = (from: number, to: number) => h(from, to).match(/../g)!.reverse().join('');
  return `{${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${h(8, 10)}-${h(10, 16)}}`;
}

interface Fmt {
  formatTag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  sampleFormat: WavAudio['sampleFormat'];
}

function parseFmt(buf: Uint8Array, at: number, size: number): Fmt {
  if (size < 16 || at + 16 > buf.length) throw new WavFormatError('truncated fmt chunk');
  const dv = new DataView(buf.buffer, buf.byteOffset + at, Math.min(size, buf.length - at));
  const formatTag = dv.getUint16(0, true);
  const channels = dv.getUint16(2, true);
  const sampleRate = dv.getUint32(4, true);
  // Byte rate (8) and block align (12) are derived, and often wrong in the wild: ignored.
  const declaredBits = dv.getUint16(14, true);

  let effectiveTag = formatTag;
  let bitsPerSample = declaredBits;
  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    if (dv.byteLength < 40) throw new WavFormatError('truncated WAVE_FORMAT_EXTENSIBLE fmt chunk');
    const guid = buf.subarray(at + 24, at + 40);
    if (!GUID_TAIL.every((b, i) => guid[i + 2] === b)) {
      throw new WavFormatError(`unsupported WAVE_FORMAT_EXTENSIBLE sub-format GUID ${guidString(guid)}`);
    }
    effectiveTag = guid[0] | (guid[1] << 8);
    // wBitsPerSample is the container width here; valid bits (<= container) sit left-justified.
  }

  let sampleFormat: WavAudio['sampleFormat'];
  switch (effectiveTag) {
    case WAVE_FORMAT_PCM:
      sampleFormat = 'pcm';
      if (bitsPerSample < 1 || bitsPerSample > 32) throw new WavFormatError(`unsupported PCM bit depth ${declaredBits}`);
      bitsPerSample = Math.ceil(bitsPerSample / 8) * 8;
      break;
    case WAVE_FORMAT_IEEE_FLOAT:
      sampleFormat = 'float';
      if (bitsPerSample !== 32 && bitsPerSample !== 64) {
        throw new WavFormatError(`unsupported IEEE float bit depth ${declaredBits}`);
      }
      break;
    case WAVE_FORMAT_MULAW:
    case WAVE_FORMAT_ALAW:
      sampleFormat = effectiveTag === WAVE_FORMAT_MULAW ? 'mulaw' : 'alaw';
      if (bitsPerSample !== 8) throw new WavFormatError(`unsupported ${sampleFormat} bit depth ${declaredBits} (expected 8)`);
      break;
    default:
      throw new WavFormatError(
        formatTag === WAVE_FORMAT_EXTENSIBLE
          ? `unsupported WAVE_FORMAT_EXTENSIBLE sub-format ${formatName(effectiveTag)}`
          : `unsupported WAV format tag ${formatName(formatTag)}`,
      );
  }
  if (channels === 0) throw new WavFormatError('WAV declares 0 channels');
  if (sampleRate === 0) throw new WavFormatError('WAV declares a sample rate of 0 Hz');
  return { formatTag, channels, sampleRate, bitsPerSample, sampleFormat };
}

/** Parses a RIFF/WAVE file. Any malformed input raises WavFormatError, nothing else. */
export function parseWav(buf: Uint8Array): WavAudio {
  if (!(buf instanceof Uint8Array)) throw new WavFormatError('not a RIFF/WAVE file (input is not a byte array)');
  if (buf.length < 12) throw new WavFormatError(buf.length === 0 ? 'not a RIFF/WAVE file (empty input)' : 'not a RIFF/WAVE file (too short)');
  const magic = fourCC(buf, 0);
  if (magic === 'RIFX') throw new WavFormatError('big-endian RIFX WAV is not supported');
  // RF64/BW64 keep 32-bit sizes at 0xFFFFFFFF; the oversized-data tolerance below covers them.
  if ((magic !== 'RIFF' && magic !== 'RF64' && magic !== 'BW64') || fourCC(buf, 8) !== 'WAVE') {
    throw new WavFormatError('not a RIFF/WAVE file');
  }

  // The RIFF size field is ignored: writers that stream often leave it wrong.
  let fmt: Fmt | undefined;
  let data: Uint8Array | undefined;
  let at = 12;
  while (at + 8 <= buf.length && !(fmt && data)) {
    const id = fourCC(buf, at);
    const size = (buf[at + 4] | (buf[at + 5] << 8) | (buf[at + 6] << 16) | (buf[at + 7] << 24)) >>> 0;
    const body = at + 8;
    if (id === 'fmt ') {
      if (fmt) throw new WavFormatError('more than one fmt chunk');
      fmt = parseFmt(buf, body, size);
    } else if (id === 'data' && !data) {
      // A size past the end (streamed or truncated file) means "whatever is there".
      data = buf.subarray(body, Math.min(body + size, buf.length));
    }
    let next = body + size;
    if (size & 1) {
      // RIFF pads odd chunks to even length, but some writers forget the pad byte.
      next += looksLikeFourCC(buf, next + 1) || !looksLikeFourCC(buf, next) ? 1 : 0;
    }
    at = next;
  }
  if (!fmt) throw new WavFormatError(data ? 'fmt chunk missing' : 'fmt chunk missing (no chunks found)');
  if (!data) throw new WavFormatError('data chunk missing');
  return { ...fmt, data };
}

/**
 * Decodes any supported sample format to 16-bit mono; channels are averaged.
 * Wider samples are rounded to 16 bits; a trailing partial frame is ignored.
 */
export function wavToPcm16Mono(wav: WavAudio): { samples: Int16Array; sampleRate: number } {
  const { channels, bitsPerSample, sampleFormat, data, sampleRate } = wav;
  const bytes = bitsPerSample / 8;
  const valid =
    Number.isInteger(channels) &&
    channels > 0 &&
    sampleRate > 0 &&
    ((sampleFormat === 'pcm' && [1, 2, 3, 4].includes(bytes)) ||
      (sampleFormat === 'float' && (bytes === 4 || bytes === 8)) ||
      ((sampleFormat === 'mulaw' || sampleFormat === 'alaw') && bytes === 1));
  if (!valid || !(data instanceof Uint8Array)) {
    throw new WavFormatError(`cannot decode ${sampleFormat} ${bitsPerSample}-bit audio with ${channels} channel(s) at ${sampleRate} Hz`);
  }

  const frameBytes = bytes * channels;
  const frames = Math.floor(data.length / frameBytes);
  const samples = new Int16Array(frames);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);

  // Every reader returns the sample on a 16-bit scale (possibly fractional).
  let read: (at: number) => number;
  switch (sampleFormat) {
    case 'pcm':
      read =
        bytes === 1
          ? (at) => (data[at] - 128) * 256 // 8-bit WAV is unsigned
          : bytes === 2
            ? (at) => dv.getInt16(at, true)
            : bytes === 3
              ? (at) => ((data[at] | (data[at + 1] << 8) | (data[at + 2] << 16)) << 8) / 65536
              : (at) => dv.getInt32(at, true) / 65536;
      break;
    case 'float':
      read = bytes === 4 ? (at) => dv.getFloat32(at, true) * 32768 : (at) => dv.getFloat64(at, true) * 32768;
      break;
    case 'mulaw':
      read = (at) => MULAW_DECODE[data[at]];
      break;
    case 'alaw':
      read = (at) => ALAW_DECODE[data[at]];
      break;
  }

  for (let f = 0, at = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, at += bytes) sum += read(at);
    const v = Math.round(sum / channels);
    // NaN (float files) becomes silence; everything else saturates.
    samples[f] = v > 32767 ? 32767 : v < -32768 ? -32768 : v === v ? v : 0;
  }
  return { samples, sampleRate };
}

/** Canonical mono WAV: RIFF, fmt (18 bytes for G.711 with cbSize 0, 16 for PCM), data (+ pad byte if odd). */
export function writeWav(data: Uint8Array, format: AudioFormat): Uint8Array {
  const { encoding, sampleRate } = format;
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 0xffffffff) {
    throw new RangeError(`invalid sample rate ${sampleRate}`);
  }
  let tag: number;
  let bits: number;
  switch (encoding) {
    case 'mulaw':
      [tag, bits] = [WAVE_FORMAT_MULAW, 8];
      break;
    case 'alaw':
      [tag, bits] = [WAVE_FORMAT_ALAW, 8];
      break;
    case 'linear16':
      [tag, bits] = [WAVE_FORMAT_PCM, 16];
      break;
    default:
      throw new RangeError(`unknown audio encoding ${JSON.stringify(encoding)}`);
  }
  const fmtSize = tag === WAVE_FORMAT_PCM ? 16 : 18;
  const header = 12 + 8 + fmtSize + 8;
  const pad = data.length & 1;
  const total = header + data.length + pad;
  if (total - 8 > 0xffffffff) throw new RangeError('audio too long for a RIFF file');

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  const blockAlign = bits / 8;
  ascii(0, 'RIFF');
  dv.setUint32(4, total - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  dv.setUint32(16, fmtSize, true);
  dv.setUint16(20, tag, true);
  dv.setUint16(22, 1, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * blockAlign, true);
  dv.setUint16(32, blockAlign, true);
  dv.setUint16(34, bits, true);
  // cbSize (0) for the 18-byte form is already zero.
  ascii(20 + fmtSize, 'data');
  dv.setUint32(24 + fmtSize, data.length, true);
  out.set(data, header);
  return out;
}

/** Any supported WAV -> mono, resampled and encoded to `target`; returns the raw payload and a WAV of it. */
export function convertWav(buf: Uint8Array, target: AudioFormat): { raw: Uint8Array; wav: Uint8Array; durationMs: number } {
  const { samples, sampleRate } = wavToPcm16Mono(parseWav(buf));
  const pcm = sampleRate === target.sampleRate ? samples : resamplePcm16(samples, sampleRate, target.sampleRate);
  const raw = encodeFromPcm16(pcm, target.encoding);
  return { raw, wav: writeWav(raw, target), durationMs: formatDurationMs(raw.length, target) };
}
