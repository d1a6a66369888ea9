export type { AudioEncoding, AudioFormat } from './format';
export { MULAW_8K, bytesPerSample, durationMs } from './format';
export { mulawToLinear, linearToMulaw, alawToLinear, linearToAlaw } from './g711';
export { decodeToPcm16, encodeFromPcm16 } from './pcm';
export { Pcm16StreamResampler, resamplePcm16 } from './resample';
export type { WavAudio } from './wav';
export { WavFormatError, parseWav, wavToPcm16Mono, writeWav, convertWav } from './wav';
