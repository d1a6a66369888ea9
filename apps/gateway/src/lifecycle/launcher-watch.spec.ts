import { isLauncher, launcherChain } from './launcher-watch';

describe('isLauncher', () => {
  it('recognises what npm, npx and nest start wrap the gateway in', () => {
    expect(isLauncher(['/bin/sh', '-c', 'node --enable-source-maps dist/apps/gateway/src/main'])).toBe(true);
    expect(isLauncher(['sh', '-c', 'nest start gateway'])).toBe(true);
    expect(isLauncher(['/usr/bin/bash', '-ec', 'node main.js'])).toBe(true);
    expect(isLauncher(['node', '/usr/bin/npm', 'start'])).toBe(true);
    expect(isLauncher(['npm', 'run', 'start:prod'])).toBe(true);
    expect(isLauncher(['node', '/repo/node_modules/.bin/nest', 'start', 'gateway'])).toBe(true);
  });

  it('leaves other parents alone: an interactive shell, an init, a test runner', () => {
    expect(isLauncher(['-bash'])).toBe(false);
    expect(isLauncher(['/bin/bash'])).toBe(false);
    expect(isLauncher(['/sbin/tini', '--', 'node', 'main.js'])).toBe(false);
    expect(isLauncher(['node', '/repo/node_modules/.bin/jest'])).toBe(false);
    expect(isLauncher([])).toBe(false);
  });
});

describe('launcherChain', () => {
  const procs: Record<number, { argv: string[]; parent: number }> = {
    40: { argv: ['node', '/repo/node_modules/.bin/nest', 'start', 'gateway'], parent: 30 },
    41: { argv: ['/bin/sh', '-c', 'node dist/apps/gateway/src/main'], parent: 40 },
    30: { argv: ['/bin/sh', '-c', 'nest start gateway'], parent: 20 },
    20: { argv: ['node', '/usr/bin/npx', 'nest', 'start', 'gateway'], parent: 10 },
    10: { argv: ['-bash'], parent: 1 },
  };
  const argv = (pid: number) => procs[pid]?.argv ?? [];
  const parent = (pid: number) => procs[pid]?.parent ?? 0;

  it('walks up through every launcher and stops at the first other process', () => {
    expect(launcherChain(argv, parent, 41)).toEqual([41, 40, 30, 20]);
  });

  it('is empty when the parent is not a launcher', () => {
    expect(launcherChain(argv, parent, 10)).toEqual([]);
  });
});
