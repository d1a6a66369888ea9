import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { killAll, removeTempConfigs, spawnGateway, stackLines, tempConfig } from '../support/child-gateway';
import { freePort, localConnector } from './harness';

// The log settings act in the real process: the file is written and rotated, SIGUSR2 toggles debug, the monitoring
// API sets the level (admin only), and stdout has one readable line per event with format: pretty.

const STARTUP_MS = 45_000;
const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const MAX_BYTES = 4096;

let gw: ReturnType<typeof spawnGateway>;
let logFile: string;
let http: string;

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (gw.hasExited || Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms\n${gw.stdout}\n${gw.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const call = (method: 'GET' | 'POST', token: string, body?: unknown) =>
  fetch(`${http}/api/log-level`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

const fileLines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean);

beforeAll(async () => {
  const config = tempConfig({
    gateway: { host: '127.0.0.1', port: await freePort(), shutdown_grace_seconds: 2 },
    voice_activity_detection: { engine: 'energy' },
    connectors: { local: localConnector() },
    monitoring: {
      host: '127.0.0.1',
      auth: { enabled: true, api_tokens: [{ name: 'ops', role: 'admin', env: 'LOGTEST_ADMIN' }, { name: 'viewer', role: 'viewer', env: 'LOGTEST_VIEWER' }] },
    },
    logging: { gateway: { level: 'info', format: 'pretty', file: 'logs/gateway.log', max_size: `${MAX_BYTES}`, backup_count: 2 } },
  });
  logFile = join(dirname(config), 'logs', 'gateway.log');
  // Relative paths resolve against the working directory: the child runs in the repository, so name the file absolutely.
  const absolute = tempConfig(readFileSync(config, 'utf8').replace('file: logs/gateway.log', `file: ${logFile}`));
  gw = spawnGateway({ GATEWAY_CONFIG: absolute, LOGTEST_ADMIN: ADMIN, LOGTEST_VIEWER: VIEWER });
  await until('start-up line', () => /BYOVA gateway listening/.test(gw.stdout), STARTUP_MS);
  http = `http://${/monitoring on http:\/\/(127\.0\.0\.1:\d+)/.exec(gw.stdout)![1]}`;
}, STARTUP_MS + 5000);

afterAll(() => {
  killAll();
  removeTempConfigs();
});

describe('logging settings in the running gateway', () => {
  it('format: pretty gives one readable line per event on stdout, no JSON', () => {
    const lines = gw.stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(l).toMatch(/^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /);
    expect(gw.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  BYOVA gateway listening: gRPC on 127\.0\.0\.1:\d+ .*"Local Audio: Local Playback"/m);
  });

  it('logging.gateway.file receives the same events as JSON lines, rotated at max_size with backup_count files kept', () => {
    expect(existsSync(logFile)).toBe(true);
    // Start-up alone (Nest's route lines) passes 4 KiB: the file has rotated.
    expect(existsSync(`${logFile}.1`)).toBe(true);
    expect(existsSync(`${logFile}.3`)).toBe(false);
    const all = [`${logFile}.2`, `${logFile}.1`, logFile].filter(existsSync);
    for (const f of all) {
      expect(statSync(f).size).toBeLessThanOrEqual(MAX_BYTES);
      for (const l of fileLines(f)) expect(() => JSON.parse(l)).not.toThrow();
    }
    const msgs = all.flatMap(fileLines).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs.filter((m) => m.startsWith('BYOVA gateway listening: gRPC on 127.0.0.1:'))).toHaveLength(1);
  });

  it('SIGUSR2 turns debug on, and a second one back to the configured level; each change is logged', async () => {
    gw.proc.kill('SIGUSR2');
    await until('debug on', () => /log level info -> debug/.test(gw.stdout));
    expect((await (await call('GET', VIEWER)).json()) as object).toEqual({ level: 'debug', configured: 'info' });
    gw.proc.kill('SIGUSR2');
    await until('debug off', () => /log level debug -> info/.test(gw.stdout));
    expect(gw.hasExited).toBe(false);
  });

  it('POST /api/log-level sets the level for admins only, refuses unknown levels with 400, and is logged to the file', async () => {
    const asViewer = await call('POST', VIEWER, { level: 'debug' });
    expect(asViewer.status).toBe(403);
    const bad = await call('POST', ADMIN, { level: 'loud' });
    expect(bad.status).toBe(400);
    expect((await bad.json()) as object).toMatchObject({ statusCode: 400, message: expect.stringMatching(/level must be one of/) });
    const ok = await call('POST', ADMIN, { level: 'WARNING' });
    expect(ok.status).toBe(200);
    expect((await ok.json()) as object).toEqual({ previous: 'info', level: 'warn', configured: 'info' });
    expect((await call('GET', VIEWER)).status).toBe(200);
    await until('change in the file', () => fileLines(logFile).some((l) => l.includes('log level info -> warn') && l.includes('monitoring API')));
    // At warn, info lines stop: a request that logs at info (none expected) and the level back.
    const back = await call('POST', ADMIN, { level: 'info' });
    expect((await back.json()) as object).toEqual({ previous: 'warn', level: 'info', configured: 'info' });
  });

  it('stops cleanly, without stacks anywhere', async () => {
    expect((await gw.stop('SIGTERM')).code).toBe(0);
    expect(stackLines(gw.stdout + gw.stderr)).toEqual([]);
  });
});
