import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * Lex V2 carries JSON (and the transcript) in HTTP headers as gzip then base64. The SDK passes these
 * strings through untouched in both directions, so callers (and this fake) do the encoding themselves.
 */
export function encodeLexHeader(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return gzipSync(Buffer.from(text, 'utf8')).toString('base64');
}

/** Inverse of encodeLexHeader; `json: false` for the transcript, which is a plain string. */
export function decodeLexHeader<T = unknown>(value: string, json = true): T {
  const text = gunzipSync(Buffer.from(value, 'base64')).toString('utf8');
  return (json ? JSON.parse(text) : text) as T;
}

export const LEX_REPLY_SAMPLE_RATE = 16000;

/** 16-bit little-endian mono PCM sine tone: what the fake returns as Lex's synthesized reply. */
export function pcmTone(ms: number, opts: { sampleRate?: number; hz?: number; amplitude?: number } = {}): Buffer {
  const sampleRate = opts.sampleRate ?? LEX_REPLY_SAMPLE_RATE;
  const hz = opts.hz ?? 440;
  const amp = Math.round(32767 * (opts.amplitude ?? 0.3));
  const n = Math.round((sampleRate * ms) / 1000);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) out.writeInt16LE(Math.round(amp * Math.sin((2 * Math.PI * hz * i) / sampleRate)), i * 2);
  return out;
}

/** Silence of `ms` in 16-bit PCM at `sampleRate`. */
export function pcmSilence(ms: number, sampleRate = LEX_REPLY_SAMPLE_RATE): Buffer {
  return Buffer.alloc(Math.round((sampleRate * ms) / 1000) * 2);
}

/** RMS of 16-bit LE PCM in dBFS (-Infinity for empty or all-zero audio). */
export function pcmLevelDbfs(pcm: Buffer): number {
  const n = Math.floor(pcm.length / 2);
  if (n === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s = pcm[2 * i] | (pcm[2 * i + 1] << 24 >> 16); // int16 LE without per-sample bounds checks
    sum += s * s;
  }
  const rms = Math.sqrt(sum / n);
  return rms === 0 ? -Infinity : 20 * Math.log10(rms / 32768);
}
