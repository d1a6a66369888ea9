import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSize, prettyLine, RotatingFile } from './log-output';
import { createGatewayLogging, LogLevelControl } from './logger';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'byova-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));


describe('parseSize', () => {
  it('reads the Python gateway\'s sizes and plain byte counts', () => {
    expect([parseSize('10MB'), parseSize('5 mb'), parseSize('512KB'), parseSize('1GiB'), parseSize(2048), parseSize('100')]).toEqual([
      10 * 1024 * 1024, 5 * 1024 * 1024, 512 * 1024, 1024 ** 3, 2048, 100,
    ]);
  });

  it('refuses what is not a size', () => {
    expect([parseSize('huge'), parseSize('10 parsecs'), parseSize(0), parseSize(-5), parseSize('1.5.2MB'), parseSize(null)]).toEqual([
      undefined, undefined, undefined, undefined, undefined, undefined,
    ]);
  });
});

describe('RotatingFile', () => {
  it('rotates before a line would pass the size, keeps backup_count files, never splits a line', () => {
    const file = join(dir, 'sub', 'gw.log');
    const f = new RotatingFile(file, 100, 2);
    for (let i = 0; i < 12; i++) f.write(`line ${String(i).padStart(2, '0')} ${'x'.repeat(20)}\n`); // 30 bytes each
    f.close();
    // 3 lines per file (90 bytes); 12 lines = 4 files, of which the oldest is deleted.
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.slice(0, 7))).toEqual(['line 09', 'line 10', 'line 11']);
    expect(readFileSync(`${file}.1`, 'utf8')).toMatch(/^line 06.*\nline 07.*\nline 08.*\n$/);
    expect(readFileSync(`${file}.2`, 'utf8')).toMatch(/^line 03/);
    expect(existsSync(`${file}.3`)).toBe(false);
  });

  it('with backup_count 0 starts the file over', () => {
    const file = join(dir, 'gw.log');
    const f = new RotatingFile(file, 50, 0);
    for (let i = 0; i < 4; i++) f.write(`${i}${'y'.repeat(28)}\n`);
    f.close();
    expect(readFileSync(file, 'utf8')).toMatch(/^3y+\n$/);
    expect(existsSync(`${file}.1`)).toBe(false);
  });

  it('refuses at once a path it cannot create', () => {
    writeFileSync(join(dir, 'plain-file'), '');
    expect(() => new RotatingFile(join(dir, 'plain-file', 'gw.log'), 100, 1)).toThrow(/ENOTDIR|EEXIST/);
  });
});

describe('prettyLine', () => {
  it('one line per event: time, level, context, message, then the fields', () => {
    const json = JSON.stringify({ level: 40, time: '2026-11-29T14:02:03.123Z', service: 'byova-gateway', context: 'Engine', conversationId: 'c 1', n: 3, msg: 'slow\nturn' });
    expect(prettyLine(json)).toBe('14:02:03.123 WARN  [Engine] slow\\nturn  conversationId="c 1" n=3\n');
  });

  it('an error shows as its type and message, without the stack', () => {
    const json = JSON.stringify({ level: 50, time: '2026-11-29T14:02:03.123Z', err: { type: 'TypeError', message: 'boom', stack: 'TypeError: boom\n    at x' }, msg: 'failed' });
    expect(prettyLine(json)).toBe('14:02:03.123 ERROR failed  err="TypeError: boom"\n');
  });
});

describe('createGatewayLogging', () => {
  const sink = (isTTY: boolean) => {
    const lines: string[] = [];
    return { lines, stdout: { isTTY, write: (s: string) => lines.push(s) } };
  };

  it('JSON when stdout is not a terminal, readable lines on a terminal, either when asked', () => {
    const pipe = sink(false);
    createGatewayLogging({ level: 'info' }, { baseDir: dir, stdout: pipe.stdout }).logger.info({ k: 1 }, 'hello');
    expect(JSON.parse(pipe.lines[0])).toMatchObject({ level: 30, msg: 'hello', k: 1 });
    const tty = sink(true);
    createGatewayLogging({ level: 'info' }, { baseDir: dir, stdout: tty.stdout }).logger.info({ k: 1 }, 'hello');
    expect(tty.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  hello  k=1\n$/);
    const forced = sink(true);
    createGatewayLogging({ level: 'info', format: 'json' }, { baseDir: dir, stdout: forced.stdout }).logger.info('x');
    expect(forced.lines[0].startsWith('{')).toBe(true);
  });

  it('writes the same events to logging.gateway.file, as JSON, relative to the base folder', () => {
    const out = sink(true);
    const logging = createGatewayLogging({ level: 'info', file: 'logs/gw.log' }, { baseDir: dir, stdout: out.stdout });
    logging.logger.info({ conversationId: 'c1' }, 'to both');
    logging.close();
    expect(logging.file).toBe(join(dir, 'logs', 'gw.log'));
    expect(JSON.parse(readFileSync(join(dir, 'logs', 'gw.log'), 'utf8'))).toMatchObject({ msg: 'to both', conversationId: 'c1' });
  });
});

describe('LogLevelControl', () => {
  it('changes every logger of the process, children made before included, and says so', () => {
    const out: string[] = [];
    const { logger } = createGatewayLogging({ level: 'info', format: 'json' }, { baseDir: dir, stdout: { write: (s: string) => out.push(s) } });
    const child = logger.child({ context: 'Engine' });
    const levels = new LogLevelControl(logger, 'INFO');
    child.debug('hidden');
    expect(levels.toggleDebug('SIGUSR2')).toEqual({ previous: 'info', level: 'debug' });
    child.debug('shown');
    expect(levels.toggleDebug('SIGUSR2')).toEqual({ previous: 'debug', level: 'info' });
    child.debug('hidden again');
    expect(levels.set('WARNING', 'api')).toEqual({ previous: 'info', level: 'warn' });
    expect(() => levels.set('loud', 'api')).toThrow(/unknown log level "loud"/);
    const msgs = out.map((l) => JSON.parse(l) as { msg: string; by?: string });
    expect(msgs.map((m) => m.msg)).toEqual(['log level info -> debug', 'shown', 'log level debug -> info', 'log level info -> warn']);
    expect(msgs[0].by).toBe('SIGUSR2');
  });
});
