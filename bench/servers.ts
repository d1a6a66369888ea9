// Server children and their /proc readings (measured from outside, so the servers do no extra work).
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from '@app/simulator';
import type { LoopLag } from './child-stats';
import { epochNow } from './chunk-stamps';
import { childScript } from './compiled';

export type ServerKind = 'gateway' | 'bare';

export const REPO = resolve(__dirname, '..');
const SCRIPTS: Record<ServerKind, string> = { gateway: 'gateway-server', bare: 'bare-server' };
const CLK_TCK = 100; // USER_HZ on Linux: /proc/<pid>/stat times are in 1/100 s

export interface ServerChild {
  kind: ServerKind;
  pid: number;
  target: string;
  startupMs: number;
  /** The gateway's monitoring HTTP host:port, when it serves one. */
  httpAddress?: string;
  resetLoopLag(): void;
  /** The child's event-loop lag since the last reset (null if it does not answer within 5 s). */
  loopLag(): Promise<LoopLag | null>;
  /** Chunk mode: per CHUNK sent since the last call, its emit stamp and when it was serialized and flushed (epoch ms). */
  chunkTimes(): Promise<{ stamps: number[]; serialized: number[]; flushed: number[]; gcs: number[] } | null>;
  /** Chunk mode: the child's epoch clock minus ours (midpoint of the best of `n` round trips), and that round trip. */
  clockOffset(n?: number): Promise<{ offsetMs: number; rttMs: number } | null>;
  /** The child's active libuv resources (process.getActiveResourcesInfo) and process.memoryUsage(), null if it does not answer within 5 s. */
  activeHandles(): Promise<{ count: number; memory: NodeJS.MemoryUsage } | null>;
  profileStart(): void;
  /** Writes the CPU profile since profileStart, and the source maps to map it. */
  profileStop(file: string, maps: string): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Starts a server child and resolves once it listens; `chunks`: streamed answers (bench/chunks.ts); `lex`: the
 * gateway on the Lex connector (bench/lex.ts), with `extra.args` after the mode and `extra.env` for that child only.
 */
export async function startServer(
  kind: ServerKind,
  endSilenceMs: number,
  mode?: 'chunks' | 'lex',
  extra: { args?: string[]; env?: Record<string, string>; preloads?: string[] } = {},
): Promise<ServerChild> {
  const port = await freePort();
  const t0 = Date.now();
  const run = childScript(SCRIPTS[kind]);
  const child: ChildProcess = fork(run.script, [String(port), String(endSilenceMs), ...(mode ? [mode, ...(extra.args ?? [])] : [])], {
    cwd: REPO,
    env: { ...process.env, ...extra.env },
    // BENCH_SERVER_NODE_ARGS: extra node flags for diagnosis, e.g. "--trace-gc".
    execArgv: [...run.execArgv, ...(extra.preloads ?? []).flatMap((f) => ['-r', run.preload(f)]), ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.on('error', () => undefined); // a dead child shows up as failed RPCs and a missing steady window
  let httpAddress: string | undefined;
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${kind} server did not start within 30 s`)), 30_000);
    child.once('message', (m: { httpAddress?: string }) => {
      httpAddress = m?.httpAddress;
      clearTimeout(timer);
      res();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${kind} server exited during start-up (code ${code})`));
    });
  }).catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
  return {
    kind,
    pid: child.pid!,
    target: `127.0.0.1:${port}`,
    startupMs: Date.now() - t0,
    httpAddress,
    resetLoopLag() {
      if (child.connected) child.send({ type: 'lag-reset' });
    },
    loopLag: () => ask<LoopLag | null>(child, { type: 'lag' }, 'lag', (m) => (m.lag as LoopLag) ?? null, null),
    chunkTimes: () =>
      ask(child, { type: 'chunk-times' }, 'chunk-times-reply', (m) => ({ stamps: m.stamps as number[], serialized: m.serialized as number[], flushed: m.flushed as number[], gcs: m.gcs as number[] }), null, 10_000),
    async clockOffset(n = 20) {
      let best: { offsetMs: number; rttMs: number } | null = null;
      for (let i = 0; i < n; i++) {
        const sent = epochNow();
        const at = await ask<number | null>(child, { type: 'clock' }, 'clock-reply', (m) => m.at as number, null);
        const back = epochNow();
        if (at === null) return best;
        if (!best || back - sent < best.rttMs) best = { offsetMs: at - (sent + back) / 2, rttMs: back - sent };
      }
      return best;
    },
    activeHandles: () => ask(child, { type: 'handles' }, 'handles', (m) => ({ count: m.count as number, memory: m.memory as NodeJS.MemoryUsage }), null),
    profileStart() {
      if (child.connected) child.send({ type: 'profile-start' });
    },
    profileStop: (file, maps) => ask(child, { type: 'profile-stop', file, maps }, 'profiled', (m) => Boolean(m.ok), false, 30_000),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Sends a request to the child and waits for its reply of type `reply` (or `fallback` after the timeout). */
function ask<T>(child: ChildProcess, msg: object, reply: string, pick: (m: Record<string, unknown>) => T, fallback: T, timeoutMs = 5000): Promise<T> {
  return new Promise((res) => {
    const timer = setTimeout(() => {
      child.off('message', on);
      res(fallback);
    }, timeoutMs);
    const on = (m: Record<string, unknown>) => {
      if (m?.type !== reply) return;
      clearTimeout(timer);
      child.off('message', on);
      res(pick(m));
    };
    child.on('message', on);
    if (child.connected) child.send(msg);
  });
}

export interface ProcSample {
  /** utime + stime, ms (10 ms resolution). */
  cpuMs: number;
  rssKB: number;
}

/** undefined once the process is gone. */
export function readProc(pid: number): ProcSample | undefined {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return { cpuMs: (ticks * 1000) / CLK_TCK, rssKB: m ? Number(m[1]) : 0 };
}

/** CPU of a process's main thread alone (its JavaScript and its scavenges), without V8's GC helper threads and libuv's pool. */
export function readMainThreadCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Whole-machine CPU counters (all cores), to see how close the box is to saturation. */
export function readMachine(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3] - cpu[4], total };
}
