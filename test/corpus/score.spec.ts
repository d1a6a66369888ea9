import { EnergyEndpointerFactory, type SpeechEndpointerFactory } from '@app/endpointing';
import { loadCorpus } from './corpus';
import { detectCorpus, END_SILENCE_MS, scoreFile } from './score';

// The tolerances must pass a correct detector and fail broken ones; checked here with the energy gate
// driven directly (no gateway), in the clean cases it is meant for.
const corpus = loadCorpus();
const clean = corpus.filter((c) => c.noise === null || c.noise.rms_dbfs <= -45);
const energy = (endSilenceMs: number, thresholdDbfs = -40): SpeechEndpointerFactory =>
  new EnergyEndpointerFactory({ thresholdDbfs, startDebounceMs: 96, endSilenceMs });

async function scores(factory: SpeechEndpointerFactory, files = clean, endSilenceMs = END_SILENCE_MS) {
  const decisions = await detectCorpus(factory, files, { settleMs: 0 });
  return files.map((f, i) => scoreFile(f, decisions[i], endSilenceMs));
}

describe('corpus scoring', () => {
  it('passes the energy gate on clean speech, pauses, silence and quiet line noise', async () => {
    const s = await scores(energy(END_SILENCE_MS));
    expect(s.filter((x) => !x.ok).map((x) => `${x.file}: ${x.problems.join('; ')}`)).toEqual([]);
    expect(s.length).toBeGreaterThanOrEqual(12);
    for (const x of s.filter((y) => y.startErrMs !== undefined)) {
      expect(x.startErrMs).toBeGreaterThanOrEqual(0);
      expect(Math.abs(x.endErrMs!)).toBeLessThan(200);
    }
  });

  it('fails a detector whose end silence is too short: it splits at the pauses and ends early', async () => {
    const s = await scores(energy(300));
    const pauses = s.filter((x) => x.kind === 'pause');
    expect(pauses.length).toBeGreaterThanOrEqual(3);
    for (const x of pauses) expect(x).toMatchObject({ ok: false, split: true });
    expect(s.filter((x) => x.kind === 'speech').every((x) => !x.ok && !x.split)).toBe(true);
  });

  it('fails a detector that ends too late (end silence 1600 for 1000)', async () => {
    const s = await scores(energy(1600), clean.filter((c) => c.speech !== null));
    expect(s.every((x) => !x.ok && x.problems.some((p) => /after speech end/.test(p)))).toBe(true);
  });

  it('fails a detector that hears speech in everything', async () => {
    const s = await scores(energy(END_SILENCE_MS, -96), corpus.filter((c) => c.speech === null && c.noise !== null));
    expect(s.every((x) => x.falseStart && !x.ok)).toBe(true);
  });

  it('reports a start that never ends, and an end with no start', () => {
    const label = clean.find((c) => c.kind === 'speech')!;
    const at = label.speech!.start_sample + 800;
    expect(scoreFile(label, [{ event: 'start', atSample: at }]).problems).toEqual(['speech never ended']);
    expect(scoreFile(label, []).problems).toEqual(['speech never started']);
  });
});
