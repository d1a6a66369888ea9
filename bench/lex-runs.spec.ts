import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summariseLexRuns, type LexRunVerdict } from './lex';

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
  });

  it('leaves the verdict open when any run had errors', () => {
    expect(summariseLexRuns([run(1), run(null), run(2)], { calls: 100 }, dir).met).toBeNull();
    expect(readFileSync(join(dir, 'lex-runs.md'), 'utf8')).toMatch(/NOT DETERMINED/);
  });
});
