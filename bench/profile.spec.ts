import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregateProfile, diffProfiles } from './profile';

const REPO = '/repo';

/** A .cpuprofile whose samples are `ms` of self time per function, 1 ms apart (idle included, never counted). */
function writeProfile(dir: string, ms: Record<string, number>): void {
  const fns = Object.keys(ms);
  const frame = (name: string) => {
    const [fn, url] = name.split('@');
    return { functionName: fn, url: url ?? '', lineNumber: 0, columnNumber: 0 };
  };
  const nodes = [
    { id: 1, callFrame: frame('(root)'), children: [2, ...fns.map((_, i) => i + 3)] },
    { id: 2, callFrame: frame('(idle)') },
    ...fns.map((f, i) => ({ id: i + 3, callFrame: frame(f) })),
  ];
  const samples = [2, 2, ...fns.flatMap((f, i) => Array.from({ length: ms[f] }, () => i + 3)), 2];
  writeFileSync(join(dir, 'a.cpuprofile'), JSON.stringify({ nodes, samples, timeDeltas: samples.map(() => 1000) }));
}

describe('profile diff (monitoring on against off)', () => {
  let root: string;
  let on: string;
  let off: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'profdiff-'));
    on = mkdtempSync(join(root, 'on-'));
    off = mkdtempSync(join(root, 'off-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('totals busy time by function and area, idle left out', () => {
    writeProfile(on, { 'next@file:///repo/node_modules/rxjs/s.js': 30, 'onEvent@file:///repo/apps/gateway/src/log.js': 10 });
    const p = aggregateProfile(on, REPO)!;
    expect(p.total).toBe(40);
    expect(p.area.get('rxjs')).toBe(30);
    expect(p.area.get('apps/gateway')).toBe(10);
    expect(p.inclusive.get('onEvent  apps/gateway/src/log.js:1')).toBe(10);
    expect(aggregateProfile(mkdtempSync(join(root, 'empty-')), REPO)).toBeUndefined();
  });

  it('lists what the first side spent more on, largest first, and nothing it spent less on', () => {
    writeProfile(on, { 'next@file:///repo/node_modules/rxjs/s.js': 32, 'onEvent@file:///repo/apps/gateway/src/log.js': 10, 'decode@file:///repo/libs/proto/src/d.js': 5 });
    writeProfile(off, { 'next@file:///repo/node_modules/rxjs/s.js': 30, 'decode@file:///repo/libs/proto/src/d.js': 9 });
    const text = diffProfiles(on, off, REPO, 10);
    expect(text).toContain('Busy time sampled: on 47 ms, off 39 ms (20.5%)');
    const fnLines = text.split('functions with more self time on than off:')[1].trim().split('\n').slice(1);
    expect(fnLines).toEqual([expect.stringMatching(/^ +\+10 ms +10 +0  onEvent  apps\/gateway\/src\/log\.js:1$/), expect.stringMatching(/^ +\+2 ms +32 +30  next  node_modules\/rxjs\/s\.js:1$/)]);
    expect(text).not.toContain('decode');
    expect(diffProfiles(on, mkdtempSync(join(root, 'none-')), REPO)).toMatch(/^no \.cpuprofile in /);
  });
});
