import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const REPO = resolve(__dirname, '../..');
/** The real entry point, run the way a developer runs it (TypeScript through @swc-node/register). */
export const ENTRY = 'apps/gateway/src/main.ts';

/** Variables the gateway reads: never inherited from the test runner's environment. */
const GATEWAY_ENV = ['GATEWAY_CONFIG', 'PORT', 'MONITORING_PORT', 'LOG_LEVEL'];

const tempDirs: string[] = [];

/** Writes a config file (YAML text, or an object serialised to YAML) into a fresh temp folder; returns its path. */
export function tempConfig(content: string | object, name = 'config.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'byova-e2e-'));
  tempDirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : stringify(content));
  return file;
}

export function removeTempConfigs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  readonly proc: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  readonly exited: Promise<Exit>;
  readonly hasExited: boolean;
  /** Resolves once 127.0.0.1:port accepts connections; rejects (with the output) if the process exits first. */
  waitForPort(port: number, timeoutMs?: number): Promise<void>;
  /** Signals the process and measures how long it takes to exit. */
  stop(signal: NodeJS.Signals): Promise<Exit & { afterMs: number }>;
  /** Last resort for cleanup: SIGKILL if still running. */
  kill(): void;
}

const running = new Set<GatewayProcess>();

/** Starts the gateway entry point as a child process with the given environment (cwd: the repository). */
export function spawnGateway(env: Record<string, string>): GatewayProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !GATEWAY_ENV.includes(k)));
  // The monitoring HTTP port defaults to a free one, so children of parallel test files never clash on it.
  const childEnv = { ...base, MONITORING_PORT: '0', ...env };
  const proc = spawn(process.execPath, ['-r', '@swc-node/register', ENTRY], { cwd: REPO, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let hasExited = false;
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<Exit>((res) =>
    proc.once('close', (code, signal) => {
      hasExited = true;
      running.delete(gp);
      res({ code, signal });
    }),
  );
  const gp: GatewayProcess = {
    proc,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    get hasExited() {
      return hasExited;
    },
    async waitForPort(port, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        if (hasExited) throw new Error(`gateway exited before listening:\n${stderr}\n${stdout}`);
        if (await canConnect(port)) return;
        if (Date.now() > end) throw new Error(`gateway not listening on ${port} after ${timeoutMs} ms:\n${stderr}\n${stdout}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal) {
      const t0 = Date.now();
      proc.kill(signal);
      const e = await exited;
      return { ...e, afterMs: Date.now() - t0 };
    },
    kill() {
      if (!hasExited) proc.kill('SIGKILL');
    },
  };
  running.add(gp);
  return gp;
}

/** SIGKILLs every child this module started that is still running (afterAll safety net). */
export function killAll(): void {
  for (const g of running) g.kill();
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/** Runs the entry point to its exit (start-up failures); returns exit and output. */
export async function runGatewayToExit(env: Record<string, string>, timeoutMs = 15_000): Promise<Exit & { stdout: string; stderr: string }> {
  const g = spawnGateway(env);
  const timer = setTimeout(() => g.kill(), timeoutMs);
  const e = await g.exited;
  clearTimeout(timer);
  return { ...e, stdout: g.stdout, stderr: g.stderr };
}

/** Lines of a stack trace, in plain text or inside JSON log strings. */
export function stackLines(output: string): string[] {
  return output.split(/\n|\\n/).filter((l) => /^\s+at \S/.test(l));
}
