export type AudioEncoding = 'mulaw' | 'alaw' | 'linear16';

/** Always mono. */
export interface AudioFormat {
  encoding: AudioEncoding;
  sampleRate: number;
}

export const MULAW_8K: AudioFormat = Object.freeze({ encoding: 'mulaw', sampleRate: 8000 });

export function bytesPerSample(encoding: AudioEncoding): number {
  switch (encoding) {
    case 'mulaw':
    case 'alaw':
      return 1;
    case 'linear16':
      return 2;
    default:
      // Reachable from untyped JS / config values.
      throw new RangeError(`unknown audio encoding ${JSON.stringify(encoding)}`);
  }
}

/** Playback time of `byteLength` bytes; a trailing partial sample does not count. Not rounded. */
export function durationMs(byteLength: number, format: AudioFormat): number {
  if (!(byteLength >= 0)) throw new RangeError(`invalid byte length ${byteLength}`);
  if (!(format.sampleRate > 0)) throw new RangeError(`invalid sample rate ${format.sampleRate}`);
  const samples = Math.floor(byteLength / bytesPerSample(format.encoding));
  return (samples * 1000) / format.sampleRate;
}
