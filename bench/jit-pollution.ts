// Monitoring section, JIT pollution runs (diagnostic, --mon-pollution N): does serving HTTP in the gateway's main
// V8 isolate leave its gRPC path dearer after the traffic has stopped? Node's stream code (Readable, Writable,
// Duplex, the socket read callback) is shared by the gRPC server's HTTP/2 streams and an HTTP/1.1 server's sockets
// and requests; the JIT's feedback for it then holds both kinds of objects, and the optimised code is slower for
// the gRPC path as well.
//
// Two gateways with monitoring off and an idle HTTP stand-in each (bench/http-standin.ts, so both load the same
// code) run side by side under one pacer. Window 1: nothing but the calls. Then one of them (x) serves the
// monitoring side's HTTP traffic for a few seconds (five dashboard viewers and three rounds of reads), and is left
// alone again. Window 2: nothing but the calls. Measured: x's window 2 / window 1 over the other's, main thread and
// whole process. Control runs do the same with no traffic; polluted and control runs alternate (P C C P), and so
// does which gateway is x, so neither drift nor start order goes with the traffic.
import { startDashboardViewers } from './dashboard-viewers';
import { Pacer, runLevel, standardLevel, warmUp } from './load';
import type { MonitoringBenchOptions } from './monitoring';
import { readMainThreadCpuMs, readProc, startServer, type ServerChild } from './servers';
import { median } from './stats';

/** Before window 1 (after the ramp), each window, and the traffic with its quiet tail: the level outlasts them. */
const SETTLE_MS = 10_000;
const WINDOW_MS = 20_000;
const TRAFFIC_ROUNDS = 3;
const ROUND_MS = 2000;
const AFTER_TRAFFIC_MS = 2000;
const LEVEL_S = 70;

export interface PollutionRun {
  polluted: boolean;
  /** x was started first. */
  xFirst: boolean;
  /** (x window 2 / window 1) / (other's window 2 / window 1); null without a figure. */
  mainRatio: number | null;
  wholeRatio: number | null;
  /** Main-thread CPU ms of x and of the other in windows 1 and 2. */
  mainMs: { x: [number, number]; y: [number, number] } | null;
}

export interface PollutionSummary {
  runs: PollutionRun[];
  /** Medians of the main-thread ratios, polluted and control, and their difference (the traffic's after-effect). */
  pollutedMain: number | null;
  controlMain: number | null;
  pollutedWhole: number | null;
  controlWhole: number | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function once(o: MonitoringBenchOptions, readPaths: string[], polluted: boolean, xFirst: boolean, live: Set<ServerChild>): Promise<PollutionRun> {
  const env = { BENCH_MONITORING: 'off', BENCH_HTTP_STANDIN: '1' };
  const started: ServerChild[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const s = await startServer('gateway', o.endSilenceMs, undefined, { env });
      live.add(s);
      started.push(s);
    }
    const [x, y] = xFirst ? started : [started[1], started[0]];
    const level = (s: ServerChild, calls: number, durationS: number) => standardLevel(o, s.target, calls, durationS);
    await Promise.all(started.map((s) => warmUp(level(s, 8, 1))));
    const sample = () => [x, y].map((s) => ({ whole: readProc(s.pid)?.cpuMs ?? NaN, main: readMainThreadCpuMs(s.pid) ?? NaN }));
    let measured: Promise<PollutionRun> | undefined;
    const script = async (): Promise<PollutionRun> => {
      await sleep(SETTLE_MS);
      const s0 = sample();
      await sleep(WINDOW_MS);
      const s1 = sample();
      if (polluted) {
        const viewers = startDashboardViewers(x.httpAddress!);
        for (let r = 0; r < TRAFFIC_ROUNDS; r++) {
          for (const path of readPaths) await fetch(`http://${x.httpAddress}${path}`, { signal: AbortSignal.timeout(5000) }).then((res) => res.arrayBuffer(), () => undefined);
          await sleep(ROUND_MS);
        }
        viewers.stop();
      } else await sleep(TRAFFIC_ROUNDS * ROUND_MS);
      await sleep(AFTER_TRAFFIC_MS);
      const s2 = sample();
      await sleep(WINDOW_MS);
      const s3 = sample();
      const d = (i: number, k: 'whole' | 'main', a: typeof s0, b: typeof s0) => b[i][k] - a[i][k];
      const ratio = (k: 'whole' | 'main') => {
        const r = d(0, k, s2, s3) / d(0, k, s0, s1) / (d(1, k, s2, s3) / d(1, k, s0, s1));
        return Number.isFinite(r) ? r : null;
      };
      const main = ratio('main');
      return {
        polluted,
        xFirst,
        mainRatio: main,
        wholeRatio: ratio('whole'),
        mainMs: main === null ? null : { x: [d(0, 'main', s0, s1), d(0, 'main', s2, s3)], y: [d(1, 'main', s0, s1), d(1, 'main', s2, s3)] },
      };
    };
    const pacer = new Pacer(level(x, o.calls, LEVEL_S).tickMs);
    await Promise.all(
      started.map((s) =>
        runLevel({ ...level(s, o.calls, LEVEL_S), pacer }, {
          steadyStart() {
            measured ??= script();
          },
          steadyEnd() {},
        }),
      ),
    ).finally(() => pacer.stop());
    return await (measured ?? Promise.resolve({ polluted, xFirst, mainRatio: null, wholeRatio: null, mainMs: null }));
  } finally {
    for (const s of started) {
      await s.stop();
      live.delete(s);
    }
  }
}

/** `n` runs, polluted and control alternating P C C P ..., x started first in two runs, then second in two. */
export async function runPollution(o: MonitoringBenchOptions, n: number, readPaths: string[], live: Set<ServerChild>, onStep: () => void): Promise<PollutionSummary> {
  const runs: PollutionRun[] = [];
  for (let i = 0; i < n; i++) {
    onStep();
    const polluted = i % 4 === 0 || i % 4 === 3;
    const xFirst = Math.floor(i / 2) % 2 === 0;
    const r = await once(o, readPaths, polluted, xFirst, live);
    runs.push(r);
    const fx = (v: number | null) => (v === null ? '-' : v.toFixed(3));
    process.stdout.write(`  JIT pollution run ${i + 1} (${polluted ? 'polluted' : 'control'}, x started ${xFirst ? 'first' : 'second'}): main thread ${fx(r.mainRatio)}, whole ${fx(r.wholeRatio)}\n`);
  }
  const med = (polluted: boolean, k: 'mainRatio' | 'wholeRatio') => median(runs.filter((r) => r.polluted === polluted && r[k] !== null).map((r) => r[k]!));
  return { runs, pollutedMain: med(true, 'mainRatio'), controlMain: med(false, 'mainRatio'), pollutedWhole: med(true, 'wholeRatio'), controlWhole: med(false, 'wholeRatio') };
}
