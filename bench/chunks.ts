// Chunk section: how long a streamed reply's piece takes from the agent emitting it to the caller receiving it,
// through the real gateway (chunked_reply plugin, CHUNK reply mode) and through a bare grpc-js server that writes
// the same pieces on the same schedule straight into its response stream. See bench/README.md.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LoopLag } from './child-stats';
import { CHUNK_PLAN } from './chunk-plan';
import { epochNow, readStamp } from './chunk-stamps';
import { runLevel, standardLevel, type LevelOptions, warmUp } from './load';
import { SOURCEMAPS_FILE, summariseProfile } from './profile';
import { readMachine, readProc, REPO, startServer, type ServerChild, type ServerKind } from './servers';
import { dist, pctSorted as pct, r3, readLoadavg, type Dist } from './stats';
import type { ClientKind } from './wire';

export const CHUNK_P99_TARGET_MS = 2;

export interface ChunkBenchOptions {
  calls: number;
  durationS: number;
  /** Gateway and bare each run this many times, alternating which goes first. */
  repeats: number;
  connections: number;
  client: ClientKind;
  endSilenceMs: number;
  /** Calls make DTMF turns only: no caller audio, to see what the audio's processing costs the pieces. */
  dtmfOnly?: boolean;
  /** CPU profile of the gateway's steady window in the first run, summarised into this directory. */
  profileDir?: string;
}

export const CHUNK_DEFAULTS = { calls: 100, durationS: 10, repeats: 1 };
export const CHUNK_QUICK = { calls: 25, durationS: 6, repeats: 1 };

export interface ChunkResult {
  run: number;
  server: ServerKind;
  calls: number;
  /** Emit -> received by the load generator (other process): an upper bound of emit -> leaving the server. */
  client: Dist;
  /** Emit -> serialized and handed to the HTTP/2 stream, inside the server process. */
  inServer: Dist;
  /** Emit -> the HTTP/2 session's write to the socket (the end of that loop turn's flush): leaving the server. */
  flushed: Dist;
  /** Pieces slower than the p99 to leave the server, and how many of them had a GC pause between emit and flush. */
  tail: { n: number; withGc: number; gcPauses: number; gcP99Ms: number | null; gcMaxMs: number | null };
  /** CHUNKs the server sent in the window whose receipt the client did not see. */
  missing: number;
  /** Server's epoch clock minus the load generator's, before and after (best IPC round trip, its rtt). */
  clock: Array<{ offsetMs: number; rttMs: number } | null>;
  errors: number;
  errorKinds: Record<string, number>;
  cpuPctOfCore: number | null;
  loadgenPct: number;
  machineCpuPct: number | null;
  otherCpuPct: number | null;
  serverLoopLag: LoopLag | null;
}

/** The pieces slower to leave than the p99, and whether a GC pause fell between their emit and flush. */
function tailOf(sent: { stamps: number[]; flushed: number[]; gcs: number[] }, inWindow: (t: number) => boolean, window: [number, number]): ChunkResult['tail'] {
  const idx: number[] = [];
  for (let i = 0; i < sent.stamps.length; i++) if (inWindow(sent.stamps[i])) idx.push(i);
  const lat = (i: number) => sent.flushed[i] - sent.stamps[i];
  const p99 = pct(idx.map(lat).sort((a, b) => a - b), 99) ?? Infinity;
  const slow = idx.filter((i) => lat(i) > p99);
  const gcs: Array<[number, number]> = [];
  for (let k = 0; k + 1 < sent.gcs.length; k += 2) if (sent.gcs[k + 1] >= window[0] && sent.gcs[k] < window[1]) gcs.push([sent.gcs[k], sent.gcs[k + 1]]);
  const withGc = slow.filter((i) => gcs.some(([a, b]) => a < sent.flushed[i] && b > sent.stamps[i])).length;
  const pauses = gcs.map(([a, b]) => b - a).sort((a, b) => a - b);
  return { n: slow.length, withGc, gcPauses: pauses.length, gcP99Ms: r3(pct(pauses, 99)), gcMaxMs: r3(pauses.length ? pauses[pauses.length - 1] : null) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function levelOptions(o: ChunkBenchOptions, target: string, calls: number, durationS: number): LevelOptions {
  return standardLevel(o, target, calls, durationS);
}

async function runOne(o: ChunkBenchOptions, kind: ServerKind, run: number, live: Set<ServerChild>, profileDir?: string): Promise<ChunkResult> {
  const server = await startServer(kind, o.endSilenceMs, 'chunks');
  live.add(server);
  try {
    await warmUp(levelOptions(o, server.target, 8, 1));
    await sleep(500);
    await server.chunkTimes(); // drop the warm-up's
    const clockBefore = await server.clockOffset();
    const received: Array<[number, number]> = [];
    const window: [number, number] = [0, 0];
    let a: { cpuMs: number; t: number; machine: { busy: number; total: number } } | undefined;
    let steady: { cpuMs: number; ms: number; machinePct: number } | null = null;
    let lagP: Promise<LoopLag | null> = Promise.resolve(null);
    let profiled: Promise<boolean> = Promise.resolve(false);
    const lo = { ...levelOptions(o, server.target, o.calls, o.durationS), dtmfOnly: o.dtmfOnly };
    lo.onResponse = (r, at) => {
      const stamp = readStamp(r);
      if (stamp !== undefined) received.push([stamp, at]);
    };
    const res = await runLevel(lo, {
      steadyStart() {
        window[0] = epochNow();
        const p = readProc(server.pid);
        if (!p) return;
        a = { cpuMs: p.cpuMs, t: performance.now(), machine: readMachine() };
        server.resetLoopLag();
        if (profileDir) server.profileStart();
      },
      steadyEnd() {
        window[1] = epochNow();
        const p = readProc(server.pid);
        lagP = server.loopLag();
        if (profileDir) profiled = server.profileStop(resolve(profileDir, `${kind}-chunks-${o.calls}.cpuprofile`), resolve(profileDir, SOURCEMAPS_FILE));
        const m = readMachine();
        if (a && p) {
          const machinePct = ((m.busy - a.machine.busy) / Math.max(1, m.total - a.machine.total)) * 100 * cpus().length;
          steady = { cpuMs: p.cpuMs - a.cpuMs, ms: performance.now() - a.t, machinePct };
        }
      },
    });
    const lag = await lagP;
    await profiled;
    const sent = (await server.chunkTimes()) ?? { stamps: [], serialized: [], flushed: [], gcs: [] };
    const clockAfter = await server.clockOffset();
    // Pieces emitted in the steady window (all calls active) only.
    const inWindow = (stamp: number) => stamp >= window[0] && stamp < window[1];
    const clientLat = received.filter(([s]) => inWindow(s)).map(([s, at]) => at - s);
    const serverLat: number[] = [];
    const flushLat: number[] = [];
    for (let i = 0; i < sent.stamps.length; i++) {
      if (!inWindow(sent.stamps[i])) continue;
      serverLat.push(sent.serialized[i] - sent.stamps[i]);
      flushLat.push(sent.flushed[i] - sent.stamps[i]);
    }
    const errorKinds: Record<string, number> = {};
    let errors = 0;
    for (const s of res.samples) {
      for (const e of s.errors) {
        errors++;
        const key = e.replace(/\d+/g, '#');
        errorKinds[key] = (errorKinds[key] ?? 0) + 1;
      }
    }
    const st = steady as { cpuMs: number; ms: number; machinePct: number } | null;
    const cpuPct = st ? (st.cpuMs / st.ms) * 100 : null;
    return {
      run,
      server: kind,
      calls: o.calls,
      client: dist(clientLat),
      inServer: dist(serverLat),
      flushed: dist(flushLat),
      tail: tailOf(sent, inWindow, window),
      missing: Math.max(0, serverLat.length - clientLat.length),
      clock: [clockBefore, clockAfter].map((c) => (c ? { offsetMs: r3(c.offsetMs)!, rttMs: r3(c.rttMs)! } : null)),
      errors,
      errorKinds,
      cpuPctOfCore: cpuPct === null ? null : Math.round(cpuPct),
      loadgenPct: Math.round(res.loadgen.cpuPct),
      machineCpuPct: st ? Math.round(st.machinePct) : null,
      otherCpuPct: st && cpuPct !== null ? Math.max(0, Math.round(st.machinePct - cpuPct - res.loadgen.cpuPct)) : null,
      serverLoopLag: lag,
    };
  } finally {
    await server.stop();
    live.delete(server);
  }
}

const f = (n: number | null | undefined, d = 2) => (n === null || n === undefined ? '-' : n.toFixed(d));
const signed = (n: number | null, d = 2) => (n === null ? '-' : `${n >= 0 ? '+' : ''}${n.toFixed(d)}`);

const COLUMNS: Array<[string, (r: ChunkResult) => string]> = [
  ['run', (r) => String(r.run)],
  ['server', (r) => r.server],
  ['calls', (r) => String(r.calls)],
  ['chunks', (r) => String(r.client.n)],
  ['rcv p50', (r) => f(r.client.p50)],
  ['rcv p90', (r) => f(r.client.p90)],
  ['rcv p99', (r) => f(r.client.p99)],
  ['rcv max', (r) => f(r.client.max)],
  ['out p50', (r) => f(r.flushed.p50)],
  ['out p90', (r) => f(r.flushed.p90)],
  ['out p99', (r) => f(r.flushed.p99)],
  ['out max', (r) => f(r.flushed.max)],
  ['ser p99', (r) => f(r.inServer.p99, 3)],
  ['GC', (r) => `${r.tail.gcPauses} (max ${f(r.tail.gcMaxMs, 1)})`],
  ['tail w/ GC', (r) => `${r.tail.withGc}/${r.tail.n}`],
  ['clock off', (r) => r.clock.map((c) => f(c?.offsetMs, 3)).join('/')],
  ['CPU %', (r) => f(r.cpuPctOfCore, 0)],
  ['srv lag p99', (r) => f(r.serverLoopLag?.p99Ms, 1)],
  ['loadgen %', (r) => f(r.loadgenPct, 0)],
  ['other %', (r) => f(r.otherCpuPct, 0)],
  ['errors', (r) => String(r.errors + r.missing)],
];

const LEGEND =
  'Latencies in ms, pieces emitted in the steady window. rcv: agent emit -> CHUNK decoded by the load generator (another ' +
  'process; includes loopback and the client, so an upper bound of "leaving the server"). out: emit -> written to the socket by ' +
  "the server's HTTP/2 session (end of that loop turn's flush, same process): leaving the server. ser: emit -> serialized and handed " +
  "to the HTTP/2 stream. GC: the server's GC pauses in the window (longest, ms). tail w/ GC: pieces slower to leave than the " +
  "out p99 with a GC pause between their emit and flush. clock off: server's epoch clock minus the client's, before/after (±half an IPC round trip). " +
  'errors: turn errors plus pieces sent but not received.';

function table(rows: ChunkResult[], md: boolean): string {
  const cells = [COLUMNS.map((c) => c[0]), ...rows.map((r) => COLUMNS.map((c) => c[1](r)))];
  if (md) {
    const line = (row: string[]) => `| ${row.join(' | ')} |`;
    return [line(cells[0]), `|${COLUMNS.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
  }
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

function summary(rows: ChunkResult[]): { lines: string[]; met: boolean | null } {
  const lines: string[] = [];
  let met: boolean | null = true;
  const cmp = (g: number | null, b: number | null) =>
    `gateway ${f(g)} ms, bare ${f(b)} ms (${signed(g !== null && b !== null ? g - b : null)} ms, ratio ${f(g !== null && b ? g / b : null)})`;
  for (const run of [...new Set(rows.map((r) => r.run))]) {
    const g = rows.find((r) => r.run === run && r.server === 'gateway');
    const b = rows.find((r) => r.run === run && r.server === 'bare');
    if (!g) continue;
    // Decided on "out" (emit -> leaving the gateway); the client-side figure is its upper bound.
    const out = g.flushed.p99;
    const ok = out === null || g.errors + g.missing > 0 ? null : out < CHUNK_P99_TARGET_MS;
    if (ok === null) met = null;
    else if (!ok && met !== null) met = false;
    const upper = g.client.p99 !== null && g.client.p99 < CHUNK_P99_TARGET_MS ? 'met' : 'not met';
    lines.push(
      `Run ${run}: p99 emit -> leaving the server: ${cmp(out, b?.flushed.p99 ?? null)}; emit -> client: ${cmp(g.client.p99, b?.client.p99 ?? null)}; ` +
        `target gateway p99 < ${CHUNK_P99_TARGET_MS} ms at ${g.calls} calls: ${ok === null ? 'NOT DETERMINED' : ok ? 'met' : 'NOT MET'} (on the client-side upper bound: ${upper})`,
    );
  }
  return { lines, met };
}

export async function runChunkBench(o: ChunkBenchOptions, resultsDir: string, live: Set<ServerChild>): Promise<ChunkResult[]> {
  const t0 = performance.now();
  const p = CHUNK_PLAN;
  process.stdout.write(
    `\nChunk section: ${o.calls} calls of ${o.durationS} s${o.dtmfOnly ? ' (DTMF turns only)' : ''}, ${o.repeats} run(s); each reply ${p.countMin}-${p.countMax} pieces of ` +
      `${p.chunkMsMin}-${p.chunkMsMax} ms, ${p.delayMsMin}-${p.delayMsMax} ms apart; gateway (chunked_reply plugin, CHUNK mode) and bare grpc-js\n`,
  );
  const rows: ChunkResult[] = [];
  for (let run = 1; run <= o.repeats; run++) {
    const order: ServerKind[] = run % 2 === 1 ? ['gateway', 'bare'] : ['bare', 'gateway'];
    for (const kind of order) {
      const r = await runOne(o, kind, run, live, run === 1 && kind === 'gateway' ? o.profileDir : undefined);
      rows.push(r);
      process.stdout.write(
        `  run ${run} ${kind.padEnd(7)}: ${r.client.n} chunks, emit -> leaving p50 ${f(r.flushed.p50)} p99 ${f(r.flushed.p99)} max ${f(r.flushed.max)} ms; ` +
          `emit -> client p50 ${f(r.client.p50)} p99 ${f(r.client.p99)} max ${f(r.client.max)} ms; CPU ${f(r.cpuPctOfCore, 0)}%, loadgen ${r.loadgenPct}%, other ${f(r.otherCpuPct, 0)}%, errors ${r.errors + r.missing}\n`,
      );
    }
  }
  const s = summary(rows);
  const verdict = s.met === null ? 'NOT DETERMINED' : s.met ? 'MET' : 'NOT MET';
  const totalS = Math.round((performance.now() - t0) / 1000);
  const errs = rows.filter((r) => r.errors || r.missing).map((r) => `run ${r.run} ${r.server}: ${JSON.stringify(r.errorKinds)}${r.missing ? `, ${r.missing} pieces not received` : ''}`);
  const final = `Target p99 emit -> leaving the gateway < ${CHUNK_P99_TARGET_MS} ms at ${o.calls} calls (every run): ${verdict}`;
  process.stdout.write(`\n${table(rows, false)}\n${LEGEND}\n\n${errs.length ? `Errors: ${errs.join('; ')}\n` : ''}${s.lines.join('\n')}\n${final}\n`);
  const when = new Date().toISOString();
  const loadavg = readLoadavg();
  writeFileSync(resolve(resultsDir, 'chunks.json'), `${JSON.stringify({ when, options: o, plan: CHUNK_PLAN, loadavg, totalSeconds: totalS, rows, summary: s.lines, met: s.met }, null, 2)}\n`);
  writeFileSync(
    resolve(resultsDir, 'chunks.md'),
    [
      `# Chunk latency (${when})`,
      '',
      `${o.calls} calls of ${o.durationS} s${o.dtmfOnly ? ' (DTMF turns only)' : ''}; each reply ${p.countMin}-${p.countMax} pieces of ${p.chunkMsMin}-${p.chunkMsMax} ms, ` +
        `${p.delayMsMin}-${p.delayMsMax} ms apart. Load average at the end: ${loadavg}. Total ${totalS} s.`,
      '',
      table(rows, true),
      '',
      LEGEND,
      '',
      ...errs.map((e) => `- ${e}`),
      ...s.lines.map((l) => `- ${l}`),
      `- ${final}`,
      '',
    ].join('\n'),
  );
  process.stdout.write(`Wrote ${resolve(resultsDir, 'chunks.json')} and chunks.md\n`);
  if (o.profileDir) {
    const text = summariseProfile(o.profileDir, REPO);
    writeFileSync(resolve(o.profileDir, 'summary.md'), `# gateway CPU profile, chunk section at ${o.calls} calls\n\n\`\`\`\n${text}\n\`\`\`\n`);
    process.stdout.write(`\nGateway CPU profile (chunk section, steady window of run 1, ${o.profileDir}):\n${text}\n`);
  }
  return rows;
}

