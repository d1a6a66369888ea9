import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pooledSpeech, summariseLexRuns, type LexRunVerdict } from './lex';

const run = (p99: number | null): LexRunVerdict => ({ met: p99 === null ? null : p99 <= 5, speechAdded: { p50: p99 === null ? null : 1, p99 } });

describe('summariseLexRuns (--lex-repeats)', () => {
  let dir: string;
  let write: jest.SpyInstance;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lex-runs-'));
    write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    write.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  });

  it('judges on the median run, not the best one', () => {
    expect(summariseLexRuns([run(2.86), run(12.16), run(10.2), run(8.98), run(14.88)], { calls: 100 }, dir).met).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'lex-runs.json'), 'utf8')).medianP99).toBe(10.2);
    expect(summariseLexRuns([run(9), run(4), run(3)], { calls: 100 }, dir).met).toBe(true);
    expect(readFileSync(join(dir, 'lex-runs.md'), 'utf8')).toMatch(/Median of 3 runs, speech-turn added p99: 4\.00 ms; .*: MET/);
    // Two runs: the mean of both, so a good run cannot carry a bad one.
    expect(summariseLexRuns([run(3), run(8)], { calls: 100 }, dir).met).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'lex-runs.json'), 'utf8')).medianP99).toBe(5.5);
  });

  it('leaves the verdict open when any run had errors', () => {
    expect(summariseLexRuns([run(1), run(null), run(2)], { calls: 100 }, dir).met).toBeNull();
    expect(readFileSync(join(dir, 'lex-runs.md'), 'utf8')).toMatch(/NOT DETERMINED/);
  });

  it('pools every run\'s speech turns into one estimate, reported beside the median verdict', () => {
    // Gateway turns 0..99 ms in one run and 100..199 in the other; direct 0..199 over both: pooled, they match.
    const ramp = (from: number) => Array.from({ length: 100 }, (_, i) => from + i);
    const a: LexRunVerdict = { ...run(4), speech: { gateway: ramp(0), direct: ramp(0) } };
    const b: LexRunVerdict = { ...run(6), speech: { gateway: ramp(100), direct: ramp(100) } };
    const pooled = pooledSpeech([a, b])!;
    expect(pooled.gateway.n).toBe(200);
    expect(pooled.gateway.p99).toBe(pooled.direct.p99);
    expect(pooled.added.p99).toBe(0);
    // Slower gateway turns in one run show in the pool's p99.
    const slow: LexRunVerdict = { ...run(4), speech: { gateway: ramp(0).map((x, i) => (i >= 95 ? x + 500 : x)), direct: ramp(0) } };
    expect(pooledSpeech([slow, b])!.added.p99).toBeGreaterThan(0);
    summariseLexRuns([a, b], { calls: 100 }, dir);
    const json = JSON.parse(readFileSync(join(dir, 'lex-runs.json'), 'utf8'));
    expect(json.pooled.added.p99).toBe(0);
    expect(json.runs[0].speech).toBeUndefined(); // the samples themselves are not written
    expect(readFileSync(join(dir, 'lex-runs.md'), 'utf8')).toMatch(/Pooled over the 2 runs \(200 gateway and 200 direct speech turns\)/);
  });

  it('has no pooled estimate when a run had errors', () => {
    expect(pooledSpeech([{ ...run(4), speech: { gateway: [1], direct: [1] } }, run(null)])).toBeNull();
    summariseLexRuns([run(null)], { calls: 100 }, dir);
    expect(readFileSync(join(dir, 'lex-runs.md'), 'utf8')).toMatch(/Pooled estimate: none/);
  });
});
