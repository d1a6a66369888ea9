// The labelled endpointing corpus (made by make-corpus.sh, committed): loading only, no tools needed.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type AudioEncoding, parseWav, wavToPcm16Mono } from '@app/audio';

export const CORPUS_DIR = __dirname;

export interface Span {
  start_sample: number;
  /** Exclusive. */
  end_sample: number;
  start_ms: number;
  end_ms: number;
}

export type CorpusKind = 'speech' | 'pause' | 'speech+noise' | 'silence' | 'noise';

export interface CorpusLabel {
  file: string;
  kind: CorpusKind;
  encoding: AudioEncoding;
  sample_rate: 8000 | 16000;
  samples: number;
  duration_ms: number;
  /** The one utterance (pauses included), or null when the file holds no speech. */
  speech: Span | null;
  /** Silences inside the utterance that must not end it. */
  pauses: Span[];
  noise: { color: string; rms_dbfs: number; hum_dbfs: number | null } | null;
  voice: string | null;
  text: string;
}

export interface CorpusFile extends CorpusLabel {
  /** The WAV file as committed. */
  wav: Uint8Array;
  /** Its data chunk: what the caller streams in its declared encoding. */
  data: Uint8Array;
  /** Decoded to 16-bit PCM, as the gateway hands it to the endpointer. */
  pcm: Int16Array;
}

export function readLabels(): { files: CorpusLabel[]; speech_threshold: string; tools: Record<string, string> } {
  return JSON.parse(readFileSync(resolve(CORPUS_DIR, 'labels.json'), 'utf8'));
}

export function loadCorpus(): CorpusFile[] {
  return readLabels().files.map((l) => {
    const wav = new Uint8Array(readFileSync(resolve(CORPUS_DIR, l.file)));
    const parsed = parseWav(wav);
    return { ...l, wav, data: parsed.data, pcm: wavToPcm16Mono(parsed).samples };
  });
}

export const hasSpeech = (l: CorpusLabel): l is CorpusLabel & { speech: Span } => l.speech !== null;
