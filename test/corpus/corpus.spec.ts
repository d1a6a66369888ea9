import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseWav } from '@app/audio';
import { CORPUS_DIR, loadCorpus, readLabels } from './corpus';
import { END_SILENCE_MS, TOLERANCE_MS } from './score';

const labels = readLabels();
const corpus = loadCorpus();
const wavFiles = readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.wav')).sort();
const BYTES = { mulaw: 1, alaw: 1, linear16: 2 } as const;
/** make-corpus.sh trims TTS clips at 0.3% of full scale (sox silence, 20 ms RMS window). */
const THRESHOLD = 0.003 * 32768;
/** A-law has no zero: its silence decodes to +-8. */
const SILENT = 8;

const rmsDb = (pcm: Int16Array) => {
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return 10 * Math.log10(sum / pcm.length / (32768 * 32768));
};
const powerSum = (...db: Array<number | null>) => 10 * Math.log10(db.reduce<number>((a, d) => a + (d === null ? 0 : 10 ** (d / 10)), 0));
const at = (ms: number, rate: number) => Math.round((ms * rate) / 1000);

describe('endpointing corpus', () => {
  it('labels exactly the WAV files committed, a dozen or more, under 2 MB in all', () => {
    expect(labels.files.map((l) => l.file).sort()).toEqual(wavFiles);
    expect(wavFiles.length).toBeGreaterThanOrEqual(12);
    const bytes = wavFiles.reduce((n, f) => n + statSync(resolve(CORPUS_DIR, f)).size, 0);
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
  });

  it('covers every caller encoding at both rates, and each kind of case', () => {
    const combos = new Set(corpus.map((c) => `${c.encoding}@${c.sample_rate}`));
    for (const enc of ['mulaw', 'alaw', 'linear16']) for (const rate of [8000, 16000]) expect(combos).toContain(`${enc}@${rate}`);
    const kinds = new Set(corpus.map((c) => c.kind));
    for (const k of ['speech', 'pause', 'speech+noise', 'silence', 'noise']) expect(kinds).toContain(k);
    const pauses = corpus.flatMap((c) => c.pauses.map((p) => p.end_ms - p.start_ms));
    expect(Math.min(...pauses)).toBeGreaterThanOrEqual(300);
    expect(Math.max(...pauses)).toBeLessThanOrEqual(600);
  });

  describe.each(corpus.map((c) => [c.file, c] as const))('%s', (_name, c) => {
    it('parses with parseWav in the labelled format, duration and length', () => {
      const wav = parseWav(readFileSync(resolve(CORPUS_DIR, c.file)));
      expect(wav).toMatchObject({ channels: 1, sampleRate: c.sample_rate, sampleFormat: c.encoding === 'linear16' ? 'pcm' : c.encoding });
      expect(wav.bitsPerSample).toBe(8 * BYTES[c.encoding]);
      expect(wav.data.length).toBe(c.samples * BYTES[c.encoding]);
      expect(c.pcm.length).toBe(c.samples);
      expect(c.duration_ms).toBeCloseTo((c.samples * 1000) / c.sample_rate, 2);
      expect(c.duration_ms).toBeGreaterThanOrEqual(3000);
      expect(c.duration_ms).toBeLessThanOrEqual(6000);
    });

    it('has consistent spans: speech inside the file, pauses inside the speech, room for the end decision', () => {
      const r = c.sample_rate;
      if (c.speech === null) {
        expect(c.pauses).toEqual([]);
        return;
      }
      const spans = [c.speech, ...c.pauses];
      for (const s of spans) {
        expect(s.start_ms).toBeCloseTo((s.start_sample * 1000) / r, 2);
        expect(s.end_ms).toBeCloseTo((s.end_sample * 1000) / r, 2);
        expect(s.end_sample).toBeGreaterThan(s.start_sample);
      }
      expect(c.speech.start_ms).toBeGreaterThanOrEqual(300); // lead-in before the speech
      for (const p of c.pauses) {
        expect(p.start_sample).toBeGreaterThan(c.speech.start_sample);
        expect(p.end_sample).toBeLessThan(c.speech.end_sample);
      }
      // The latest acceptable END_OF_INPUT must fall inside the file, in its own (noise) audio.
      expect(c.duration_ms - c.speech.end_ms).toBeGreaterThanOrEqual(END_SILENCE_MS + TOLERANCE_MS.endLate);
    });

    if (c.noise === null) {
      it('clean: the labels are where the signal crosses the speech threshold; silence is digital silence', () => {
        const pcm = c.pcm;
        let first = -1;
        let last = -1;
        for (let i = 0; i < pcm.length; i++) {
          if (Math.abs(pcm[i]) < THRESHOLD) continue;
          if (first < 0) first = i;
          last = i;
        }
        const silent = (a: Int16Array) => a.every((s) => Math.abs(s) <= SILENT);
        if (c.speech === null) {
          expect(first).toBe(-1);
          expect(silent(pcm)).toBe(true);
          return;
        }
        // sox decides on a 20 ms RMS window, so its cut sits within a few ms of the first/last loud sample.
        const tol = at(5, c.sample_rate);
        expect(Math.abs(first - c.speech.start_sample)).toBeLessThanOrEqual(tol);
        expect(Math.abs(last + 1 - c.speech.end_sample)).toBeLessThanOrEqual(tol);
        expect(silent(pcm.subarray(0, c.speech.start_sample))).toBe(true);
        expect(silent(pcm.subarray(c.speech.end_sample))).toBe(true);
        for (const p of c.pauses) expect(silent(pcm.subarray(p.start_sample, p.end_sample))).toBe(true);
      });
    } else {
      it('noisy: the line noise (plus hum) is at the labelled level where nobody speaks', () => {
        const n = c.noise!;
        const r = c.sample_rate;
        const quiet = c.speech === null ? c.pcm : c.pcm.subarray(c.speech.end_sample + at(100, r));
        expect(quiet.length).toBeGreaterThan(at(1000, r));
        expect(Math.abs(rmsDb(quiet) - powerSum(n.rms_dbfs, n.hum_dbfs))).toBeLessThan(1.5);
        expect(n.rms_dbfs).toBeGreaterThanOrEqual(-45);
        expect(n.rms_dbfs).toBeLessThanOrEqual(-30);
      });
    }
  });

  // Only where the generating tools are the ones recorded in labels.json (a developer's machine may lack them);
  // CI installs them (.ci/run), so there it always runs and fails if they are missing.
  const tools = (() => {
    try {
      const espeak = execFileSync('espeak-ng', ['--version'], { encoding: 'utf8' }).split('\n')[0];
      const sox = execFileSync('sox', ['--version'], { encoding: 'utf8' }).split('\n')[0].replace(/^sox: */, '');
      return espeak === labels.tools['espeak-ng'] && sox === labels.tools.sox;
    } catch {
      return false;
    }
  })();
  // Skips only on a developer's machine without the pinned espeak-ng/sox; CI installs them (.ci/run) and runs it.
  (tools || process.env.CI ? it : it.skip)('make-corpus.sh regenerates the committed files byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corpus-'));
    try {
      copyFileSync(resolve(CORPUS_DIR, 'make-corpus.sh'), join(dir, 'make-corpus.sh'));
      execFileSync('bash', [join(dir, 'make-corpus.sh')], { stdio: 'pipe' });
      for (const f of [...wavFiles, 'labels.json']) expect({ f, same: readFileSync(join(dir, f)).equals(readFileSync(resolve(CORPUS_DIR, f))) }).toEqual({ f, same: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
