import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, removeTempConfigs, REPO, stackLines, tempConfig } from '../support/child-gateway';
import { freePort, localConnector } from './harness';

// The README's ways of running the gateway, each stopped by a signal sent to the launcher alone (as a process
// manager or `kill <pid>` does): the gateway must drain and exit, leaving neither the port nor a process behind.
// `nest start` compiles first, so each case takes a while; they run one after the other (they share dist/).

const START_MS = 150_000;
const STOP_MS = 20_000;
const NEST = join(REPO, 'node_modules', '.bin', 'nest');

/** Pids of live processes whose environment carries the marker (the launcher's whole tree inherits it). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'latin1');
      if (!environ.split('\0').includes(`BYOVA_LAUNCHER_TEST=${marker}`)) continue;
      // A zombie waiting for its parent's wait() holds no port and runs nothing.
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') found.push(Number(name));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, output: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} not within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Run {
  launcher: ChildProcess;
  marker: string;
  port: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: Run[] = [];

async function launch(command: string, args: string[]): Promise<Run> {
  const port = await freePort();
  const marker = randomUUID();
  const config = tempConfig({
    gateway: { host: '127.0.0.1', port, shutdown_grace_seconds: 3 },
    voice_activity_detection: { engine: 'energy' },
    connectors: { local: localConnector() },
  });
  const env: NodeJS.ProcessEnv = { ...process.env, GATEWAY_CONFIG: config, MONITORING_PORT: '0', LOG_LEVEL: 'info', BYOVA_LAUNCHER_TEST: marker };
  delete env.PORT;
  // Its own process group: the test signals the launcher only, and can clean up the whole tree if something is left.
  const launcher = spawn(command, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  launcher.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  launcher.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => launcher.once('exit', (code, signal) => res({ code, signal })));
  const run: Run = { launcher, marker, port, output: () => out, exited };
  runs.push(run);
  // Up: the port answers and the start-up line is out (a signal before that is deferred, tested elsewhere).
  await waitFor(`${command} ${args.join(' ')} listening on ${port}`, START_MS, async () => /BYOVA gateway listening/.test(out) && (await canConnect(port)), run.output);
  return run;
}

/** Signals the launcher, then expects it gone, the gateway drained, the port free and no process of its tree left. */
async function stopAndCheck(run: Run, signal: NodeJS.Signals): Promise<void> {
  expect(processesWith(run.marker).length).toBeGreaterThanOrEqual(2); // the launcher and the gateway under it
  process.kill(run.launcher.pid!, signal);
  await waitFor('every process of the launcher gone', STOP_MS, () => processesWith(run.marker).length === 0, () => `${run.output()}\nleft: ${processesWith(run.marker).join(', ')}`);
  expect(await canConnect(run.port)).toBe(false);
  // The gateway drained (it logged the stop) rather than dying with its launcher.
  expect(run.output()).toMatch(/"msg":"shutting down"/);
  expect(run.output()).not.toMatch(/shutdown did not return in time/);
  expect(stackLines(run.output())).toEqual([]);
}

afterAll(() => {
  for (const r of runs) {
    for (const pid of processesWith(r.marker)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  removeTempConfigs();
});

describe('signals through the launchers the README names', () => {
  it('SIGTERM to `npm start` drains the gateway and leaves nothing behind', async () => {
    const run = await launch('npm', ['start']);
    await stopAndCheck(run, 'SIGTERM');
    expect((await run.exited).code).toBe(0);
  }, START_MS + STOP_MS + 10_000);

  it('SIGINT to `npm run start:prod` (the built tree) drains it too', async () => {
    const run = await launch('npm', ['run', 'start:prod']);
    await stopAndCheck(run, 'SIGINT');
  }, START_MS + STOP_MS + 10_000);

  it('SIGTERM to `nest start gateway` run by hand (its child shell does not pass signals on) stops the gateway', async () => {
    const run = await launch(NEST, ['start', 'gateway']);
    await stopAndCheck(run, 'SIGTERM');
  }, START_MS + STOP_MS + 10_000);

  it('SIGTERM to `npx nest start gateway` stops it as well', async () => {
    const run = await launch('npx', ['nest', 'start', 'gateway']);
    await stopAndCheck(run, 'SIGTERM');
  }, START_MS + STOP_MS + 10_000);
});
