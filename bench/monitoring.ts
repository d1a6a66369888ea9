// Monitoring section: what monitoring costs the gateway. Two gateway children run side by side under the same
// load at the same time (the standard call mix, N calls each): one with monitoring on (as shipped: the call log,
// metrics and the HTTP API observing every call, /metrics, the active-call list and the status read every few
// seconds, as Prometheus and an operator would, and five dashboard viewers connected: bench/dashboard-viewers.ts),
// one with monitoring off (no HTTP server, nothing observing the engine). Side by side, whatever else loads the shared machine loads both. Reported: each one's CPU per
// call-second, their ratio per pair, and the median ratio over the pairs. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DASHBOARD_VIEWERS, type DashboardViewers, startDashboardViewers, type ViewerCounts } from './dashboard-viewers';
import { Pacer, runLevel, standardLevel, warmUp } from './load';
import { diffProfiles, SOURCEMAPS_FILE, summariseProfile } from './profile';
import { type PollutionSummary, runPollution } from './jit-pollution';
import { readMachine, readMainThreadCpuMs, readProc, REPO, startServer, type ServerChild } from './servers';
import { dist, errorKindsOf, meanInterval, median, readLoadavg } from './stats';
import type { ClientKind } from './wire';

/** CPU per call-second with monitoring on, at most this many times that with it off. */
export const MONITORING_CPU_RATIO_TARGET = 1.05;

export interface MonitoringBenchOptions {
  calls: number;
  durationS: number;
  /** On/off pairs. */
  repeats: number;
  /** How often the monitoring API is read while monitoring is on (s); 0: not read (the bookkeeping alone, with no viewers). */
  scrapeEveryS: number;
  connections: number;
  client: ClientKind;
  endSilenceMs: number;
  /** Control pairs: both gateways with monitoring on and read alike, to show how far two equal gateways differ in this run. */
  controls?: number;
  /**
   * HTTP stand-in pairs (diagnostic): the off gateway serves the same HTTP traffic from a stand-in that does no
   * monitoring work (bench/http-standin.ts), so the pair's ratio is monitoring's own work without the cost of
   * serving HTTP in the gateway's process. Reported beside the verdict, never as it.
   */
  httpControls?: number;
  /**
   * JIT pollution runs (diagnostic, bench/jit-pollution.ts): two off gateways, one of which serves the HTTP traffic
   * for a few seconds between two measured windows; whether the gRPC path stays dearer after it. Beside the verdict.
   */
  pollution?: number;
  /**
   * CPU profiles of both gateways' steady windows in the measured pairs (`on/`, `off/`), summarised here: the on
   * side's hot spots, and where it spent more than the off side.
   */
  profileDir?: string;
}

// 30 s windows: over 10 s one major GC more or less in a gateway moved a pair's ratio by about 5%. Six pairs: two
// equal gateways differ by a few percent from pair to pair, and a median of three moved by several points from run
// to run; an even number also runs each start order equally often.
export const MONITORING_DEFAULTS = { calls: 150, durationS: 30, repeats: 6, scrapeEveryS: 5 };
export const MONITORING_QUICK = { calls: 40, durationS: 6, repeats: 1, scrapeEveryS: 2 };

interface ModeRun {
  monitoring: boolean;
  /** Monitoring off, with the HTTP stand-in serving the same traffic (an HTTP stand-in pair). */
  standin?: boolean;
  cpuMsPerCallSecond: number | null;
  /** The main thread's share of it (JavaScript and scavenges); the rest is V8's GC helper threads and libuv's pool. */
  mainMsPerCallSecond: number | null;
  cpuPctOfCore: number | null;
  machineCpuPct: number | null;
  turnP99Ms: number | null;
  errors: number;
  errorKinds: Record<string, number>;
  /** Monitoring reads during the level (on only), and how many failed. */
  reads: number;
  readErrors: number;
  /** The dashboard viewers' SSE events and page reads (on only). */
  viewers?: ViewerCounts;
}

/** What is read while monitoring is on: the scrape, the active calls, the status. */
const READ_PATHS = ['/metrics', '/api/conversations?limit=50', '/api/status'];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A ratio to three places, '-' when there is none. */
const fm = (x: number | null) => (x === null ? '-' : x.toFixed(3));
const f = (n: number | null | undefined, d = 2) => (n === null || n === undefined ? '-' : n.toFixed(d));

/** A started gateway child; `warm` runs its warm-up, `run` drives the level against it and measures it. */
async function prepare(
  o: MonitoringBenchOptions,
  monitoring: boolean,
  live: Set<ServerChild>,
  standin = false,
): Promise<{ server: ServerChild; warm: () => Promise<void>; run: (index: number, pacer: Pacer) => Promise<ModeRun> }> {
  const standinMode = standin ? (process.env.BENCH_HTTP_STANDIN === 'worker' ? 'worker' : '1') : undefined;
  const env: Record<string, string> = { BENCH_MONITORING: monitoring ? 'on' : 'off', ...(standinMode ? { BENCH_HTTP_STANDIN: standinMode } : {}) };
  const server = await startServer('gateway', o.endSilenceMs, undefined, { env });
  live.add(server);
  const http = monitoring || standin;
  if (http && !server.httpAddress) throw new Error(`the gateway did not report its ${monitoring ? 'monitoring' : 'stand-in'} address`);
  const level = (calls: number, durationS: number) => standardLevel(o, server.target, calls, durationS);
  // Warm-up: JIT and the first connections count in neither mode; the monitoring routes are read a few times
  // too (a Prometheus scraping every 15 s keeps them warm: their first, cold reads are not what it costs).
  const warm = async () => {
    await warmUp(level(8, 1));
    // Only when the window has traffic: serving HTTP leaves the JIT's feedback for Node's stream code, which the
    // gRPC path shares, dearer for good (--mon-pollution), so the bookkeeping alone is measured with none at all.
    if (http && (o.scrapeEveryS > 0 || DASHBOARD_VIEWERS > 0)) {
      for (let i = 0; i < 5; i++) {
        for (const path of READ_PATHS) await fetch(`http://${server.httpAddress}${path}`, { signal: AbortSignal.timeout(5000) }).then((r) => r.arrayBuffer(), () => undefined);
      }
    }
  };
  return { server, warm, run: (index, pacer) => measure(o, monitoring, standin, server, (calls, durationS) => ({ ...level(calls, durationS), pacer }), index) };
}

async function measure(
  o: MonitoringBenchOptions,
  monitoring: boolean,
  standin: boolean,
  server: ServerChild,
  level: (calls: number, durationS: number) => ReturnType<typeof standardLevel>,
  index: number,
): Promise<ModeRun> {
  let reads = 0;
  let readErrors = 0;
  let reader: NodeJS.Timeout | undefined;
  let viewers: DashboardViewers | undefined;
  let viewerCounts: ViewerCounts | undefined;
  try {
    const read = async () => {
      for (const path of READ_PATHS) {
        reads++;
        try {
          const res = await fetch(`http://${server.httpAddress}${path}`, { signal: AbortSignal.timeout(5000) });
          await res.arrayBuffer();
          if (!res.ok) readErrors++;
        } catch {
          readErrors++;
        }
      }
    };
    let a: { cpuMs: number; mainMs: number; t: number; machine: { busy: number; total: number } } | undefined;
    let steady: { cpuMs: number; mainMs: number; ms: number; machinePct: number } | undefined;
    const profile = o.profileDir && index < o.repeats ? resolve(o.profileDir, monitoring ? 'on' : 'off') : undefined;
    if (profile) mkdirSync(profile, { recursive: true });
    let profiled: Promise<boolean> = Promise.resolve(false);
    if (monitoring || standin) {
      if (o.scrapeEveryS > 0) reader = setInterval(() => void read(), o.scrapeEveryS * 1000);
      viewers = startDashboardViewers(server.httpAddress!);
    }
    const run = await runLevel(level(o.calls, o.durationS), {
      steadyStart() {
        const p = readProc(server.pid);
        if (p) a = { cpuMs: p.cpuMs, mainMs: readMainThreadCpuMs(server.pid) ?? NaN, t: performance.now(), machine: readMachine() };
        if (profile) server.profileStart();
      },
      steadyEnd() {
        const p = readProc(server.pid);
        const m = readMachine();
        if (profile) profiled = server.profileStop(resolve(profile, `gateway-${index}.cpuprofile`), resolve(profile, SOURCEMAPS_FILE));
        if (a && p) {
          const machinePct = ((m.busy - a.machine.busy) / Math.max(1, m.total - a.machine.total)) * 100 * cpus().length;
          steady = { cpuMs: p.cpuMs - a.cpuMs, mainMs: (readMainThreadCpuMs(server.pid) ?? NaN) - a.mainMs, ms: performance.now() - a.t, machinePct };
        }
      },
    });
    clearInterval(reader);
    viewerCounts = viewers?.stop();
    await profiled;
    const windowS = steady ? steady.ms / 1000 : 0;
    const turnLat = run.samples.filter((s) => (s.kind === 'speech' || s.kind === 'dtmf') && s.latencyMs !== undefined).map((s) => s.latencyMs!);
    const { errors, errorKinds } = errorKindsOf(run.samples);
    return {
      monitoring,
      ...(standin ? { standin } : {}),
      cpuMsPerCallSecond: steady && windowS > 0 ? steady.cpuMs / (o.calls * windowS) : null,
      mainMsPerCallSecond: steady && windowS > 0 && Number.isFinite(steady.mainMs) ? steady.mainMs / (o.calls * windowS) : null,
      cpuPctOfCore: steady ? (steady.cpuMs / steady.ms) * 100 : null,
      machineCpuPct: steady ? steady.machinePct : null,
      turnP99Ms: dist(turnLat).p99,
      errors: errors + (run.timedOut ? 1 : 0),
      errorKinds,
      reads,
      readErrors: readErrors + (viewerCounts?.errors ?? 0),
      viewers: viewerCounts,
    };
  } finally {
    clearInterval(reader);
    viewers?.stop();
  }
}

export async function runMonitoringBench(
  o: MonitoringBenchOptions,
  resultsDir: string,
  live: Set<ServerChild>,
  /** Called as each pair or diagnostic run starts (the bench's watchdog bounds each step). */
  onStep: () => void = () => undefined,
): Promise<{ met: boolean | null }> {
  const t0 = performance.now();
  process.stdout.write(
    `\nMonitoring section: ${o.calls} calls of ${o.durationS} s to each of two gateways side by side, monitoring on and off, ${o.repeats} pair(s), ` +
      `${o.scrapeEveryS > 0 ? `monitoring read every ${o.scrapeEveryS} s` : 'monitoring API not read'} and ${DASHBOARD_VIEWERS} dashboard viewers connected while on\n`,
  );
  const loadBefore = readLoadavg();
  const runs: ModeRun[] = [];
  const pairRatios: number[] = [];
  /** The same ratios by which gateway was started first (pairs alternate): an order effect shows as a gap. */
  const byOrder = { onFirst: [] as number[], onSecond: [] as number[] };
  const mainRatios: number[] = [];
  const controlRatios: number[] = [];
  const standinRatios: number[] = [];
  const standinMainRatios: number[] = [];
  const standinRuns: ModeRun[] = [];
  const controls = o.controls ?? 0;
  const httpControls = o.httpControls ?? 0;
  for (let i = 0; i < o.repeats + controls + httpControls; i++) {
    const control = i >= o.repeats && i < o.repeats + controls;
    const standinPair = i >= o.repeats + controls;
    onStep();
    const started: ServerChild[] = [];
    try {
      // Started one after the other, alternating which goes first, then warmed up and measured at the same time:
      // a gateway warmed up alone and then left idle while the other started came out a few percent cheaper.
      // A control pair runs two equal gateways (both on, both read): their ratio is this run's noise.
      const modes = control ? [true, true] : i % 2 === 0 ? [true, false] : [false, true];
      const prepared = [];
      for (const on of modes) {
        const p = await prepare(o, on, live, standinPair && !on);
        started.push(p.server);
        prepared.push(p);
      }
      await Promise.all(prepared.map((p) => p.warm()));
      await sleep(500);
      // One pacer for both: with one each, the first-started gateway always got its frames first in every tick,
      // and the pair's ratio depended on which went first (monitoring second: about 7% more, over 14 pairs of one session).
      const pacer = new Pacer(standardLevel(o, '', o.calls, o.durationS).tickMs);
      const pair = await Promise.all(prepared.map((p) => p.run(i, pacer))).finally(() => pacer.stop());
      if (control) {
        const [x, y] = pair.map((r) => r.cpuMsPerCallSecond);
        if (x !== null && y !== null && y > 0) controlRatios.push(x / y);
        process.stdout.write(`  control pair (both on): first / second ${x !== null && y ? (x / y).toFixed(3) : '-'}\n`);
        continue;
      }
      // on / off of the pair, whole process and main thread alone (null when a side has no figure).
      const ratioOf = (k: 'cpuMsPerCallSecond' | 'mainMsPerCallSecond') => {
        const on = pair.find((r) => r.monitoring)![k];
        const off = pair.find((r) => !r.monitoring)![k];
        return on !== null && off !== null && off > 0 ? on / off : null;
      };
      const pairRatio = ratioOf('cpuMsPerCallSecond');
      const pairMain = ratioOf('mainMsPerCallSecond');
      if (standinPair) {
        if (pairRatio !== null) standinRatios.push(pairRatio);
        if (pairMain !== null) standinMainRatios.push(pairMain);
        standinRuns.push(...pair);
        const bad = pair.reduce((n, r) => n + r.errors + r.readErrors, 0);
        process.stdout.write(
          `  HTTP stand-in pair (off serving the same HTTP traffic): on / off ${fm(pairRatio)}, main thread ${fm(pairMain)}${bad ? ` (${bad} errors)` : ''}\n`,
        );
        continue;
      }
      for (const r of pair) {
        runs.push(r);
        process.stdout.write(
          `  monitoring ${r.monitoring ? 'on ' : 'off'}: CPU ${f(r.cpuMsPerCallSecond)} ms/call-s (${f(r.cpuPctOfCore, 0)}% core), turn p99 ${f(r.turnP99Ms)} ms, ` +
            `errors ${r.errors}${r.monitoring ? `, monitoring reads ${r.reads} (${r.readErrors} failed), dashboard events ${r.viewers?.events ?? 0}, pushed list regions ${r.viewers?.regions ?? 0} (${f((r.viewers?.regionBytes ?? 0) / 1e6, 1)} MB)` : ''}\n`,
        );
      }
      if (pairRatio !== null) {
        pairRatios.push(pairRatio);
        (modes[0] ? byOrder.onFirst : byOrder.onSecond).push(pairRatio);
        process.stdout.write(`  pair ${i + 1}: on / off ${pairRatio.toFixed(3)}\n`);
      }
      if (pairMain !== null) mainRatios.push(pairMain);
    } finally {
      for (const s of started) {
        await s.stop();
        live.delete(s);
      }
    }
  }
  const pollution: PollutionSummary | undefined = o.pollution ? await runPollution(o, o.pollution, READ_PATHS, live, onStep) : undefined;
  const loadAfter = readLoadavg();
  const cpu = (on: boolean) => runs.filter((r) => r.monitoring === on && r.cpuMsPerCallSecond !== null).map((r) => r.cpuMsPerCallSecond!);
  const onMs = median(cpu(true));
  const offMs = median(cpu(false));
  // Each pair ran under the same conditions: its ratio is the measure, the medians per mode only context.
  const ratio = median(pairRatios);
  const clean = runs.every((r) => r.errors === 0 && r.readErrors === 0);
  const met = ratio === null || !clean ? null : ratio <= MONITORING_CPU_RATIO_TARGET;
  const verdict = met === null ? 'NOT DETERMINED' : met ? 'MET' : 'NOT MET';
  const spread = (on: boolean) => {
    const xs = cpu(on);
    return xs.length ? `${f(Math.min(...xs))}-${f(Math.max(...xs))}` : '-';
  };
  const table = [
    '| monitoring | runs | CPU ms/call-s (median) | range | turn p99 ms (worst) | errors | monitoring reads (failed) |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: |',
    ...[true, false].map((on) => {
      const rs = runs.filter((r) => r.monitoring === on);
      const p99 = Math.max(...rs.map((r) => r.turnP99Ms ?? 0));
      return `| ${on ? 'on' : 'off'} | ${rs.length} | ${f(on ? onMs : offMs)} | ${spread(on)} | ${f(p99)} | ${rs.reduce((n, r) => n + r.errors, 0)} | ${on ? `${rs.reduce((n, r) => n + r.reads, 0)} (${rs.reduce((n, r) => n + r.readErrors, 0)})` : '-'} |`;
    }),
  ].join('\n');
  const line =
    `CPU per call-second with monitoring on / off (median of ${pairRatios.length} side-by-side pairs: ${pairRatios.map((x) => x.toFixed(3)).join(', ')}): ${ratio === null ? '-' : ratio.toFixed(3)} ` +
    `(${ratio === null ? '-' : `${((ratio - 1) * 100).toFixed(1)}%`} more); target <= ${MONITORING_CPU_RATIO_TARGET} at ${o.calls} calls: ${verdict}${clean ? '' : ' (errors)'}`;
  const mainRatio = median(mainRatios);
  // The verdict stays the median; the interval says how far this run's few pairs pin the cost down.
  const pairMean = meanInterval(pairRatios);
  const detail =
    (pairMean
      ? `Mean of the ${pairRatios.length} pairs ${pairMean.mean.toFixed(3)}, 95% interval ${pairMean.low.toFixed(3)}-${pairMean.high.toFixed(3)} (from their spread: two equal gateways differ by a few percent from pair to pair, so a few pairs place the cost only this closely). `
      : '') +
    `Main thread alone, on / off: ${mainRatios.map((x) => x.toFixed(3)).join(', ') || '-'} (median ${mainRatio === null ? '-' : mainRatio.toFixed(3)}); the rest of the difference is in the other threads (V8's GC helpers, the monitoring HTTP server's).` +
    ` By start order, median on / off with monitoring started first ${fm(median(byOrder.onFirst))} (${byOrder.onFirst.length} pairs), second ${fm(median(byOrder.onSecond))} (${byOrder.onSecond.length}): a gap is an order effect, which alternating the order averages out.` +
    (controls > 0 ? ` Control pairs (two equal gateways, both on): ${controlRatios.map((x) => x.toFixed(3)).join(', ') || '-'}: how far a pair moves without any difference.` : '') +
    (httpControls > 0
      ? ` HTTP stand-in pairs (the off gateway serving the same HTTP traffic from a stand-in that does no monitoring work): ${standinRatios.map((x) => x.toFixed(3)).join(', ') || '-'} (median ${fm(median(standinRatios))}, main thread ${fm(median(standinMainRatios))}): what monitoring costs beyond serving the same HTTP traffic.`
      : '') +
    (pollution
      ? ` JIT pollution runs (two off gateways; one served the HTTP traffic for about 6 s between two windows, then nothing): its window 2 / window 1 over the other's, main thread, median ${fm(pollution.pollutedMain)} after traffic against ${fm(pollution.controlMain)} in control runs with none (whole process ${fm(pollution.pollutedWhole)} / ${fm(pollution.controlWhole)}): the gap is what serving HTTP in the gateway's isolate leaves on its gRPC path.`
      : '');
  const totalS = Math.round((performance.now() - t0) / 1000);
  process.stdout.write(`\n${table}\n\n${line}\n${detail}\nLoad average before/after: ${loadBefore} / ${loadAfter}\n`);
  const when = new Date().toISOString();
  writeFileSync(
    resolve(resultsDir, 'monitoring.json'),
    `${JSON.stringify({ when, options: o, loadavg: { before: loadBefore, after: loadAfter }, totalSeconds: totalS, runs, pairRatios, pairMean, byOrder, mainRatios, controlRatios, standinRatios, standinMainRatios, standinRuns, pollution, medianCpuMsPerCallSecond: { on: onMs, off: offMs }, ratio, target: { ratio: MONITORING_CPU_RATIO_TARGET, met } }, null, 2)}\n`,
  );
  writeFileSync(
    resolve(resultsDir, 'monitoring.md'),
    [
      `# Monitoring overhead (${when})`,
      '',
      `${o.calls} calls of ${o.durationS} s to each of two gateways side by side (monitoring on, off), ${o.repeats} pair(s); while on, /metrics, /api/conversations and /api/status ${o.scrapeEveryS > 0 ? `read every ${o.scrapeEveryS} s` : 'not read'}, ` +
        `and ${DASHBOARD_VIEWERS} dashboard viewers connected (each on the active-calls page's event stream, /dashboard/events?view=calls, which pushes the list's live region on each update, as for the page's script). ` +
        `Load average before/after ${loadBefore} / ${loadAfter}. Total ${totalS} s.`,
      '',
      table,
      '',
      'CPU: the gateway process over the steady window, per call and second of call. Off: monitoring.enabled false (no HTTP server, no observer of the engine).',
      '',
      `- ${line}`,
      `- ${detail}`,
      '',
    ].join('\n'),
  );
  process.stdout.write(`Wrote ${resolve(resultsDir, 'monitoring.json')} and monitoring.md\n`);
  if (o.profileDir) {
    const on = resolve(o.profileDir, 'on');
    const text = `${summariseProfile(on, REPO, 40)}\n\nMonitoring on against off (same pairs):\n${diffProfiles(on, resolve(o.profileDir, 'off'), REPO, 40)}`;
    writeFileSync(resolve(o.profileDir, 'summary.md'), `# gateway CPU profiles, monitoring on and off, ${o.calls} calls\n\n\`\`\`\n${text}\n\`\`\`\n`);
    process.stdout.write(
      `\nGateway CPU profiles (steady windows of the measured pairs, ${o.profileDir}; profiling itself costs CPU, so use them for where, not how much):\n${text}\n`,
    );
  }
  return { met };
}
