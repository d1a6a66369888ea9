// Soak run: a gateway child under a steady number of whole calls for N minutes, with cancels and abandoned
// calls; samples the child's RSS, fds and active handles, watches its monitoring API for conversations that
// outlive sessions.timeout + the sweep interval, and decides pass/fail (bench/soak/verdict.ts).
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { GatewaySection } from '@app/config';
import { readLoadavg, dist, type Dist } from '../stats';
import { readMachine, readProc, startServer, type ServerChild } from '../servers';
import { runSoakLoad, type SoakLoadResult } from './calls';
import { failures, fitLine, floorTrend, outlived, rssTrend, type ActiveConversation, type Outlived, type RssTrend, type Sample } from './verdict';

export interface SoakOptions {
  minutes: number;
  calls: number;
  /** Samples before this are not fitted: heap sizing, JIT, pools filling. */
  warmupMs: number;
  sampleMs: number;
  /** How often the monitoring API is read for conversations that outlived their idle limit. */
  pollMs: number;
  rssLimitMbPer10Min: number;
  /** sessions.timeout and sessions.cleanup_interval of the soak's gateway, seconds. */
  sessionTimeoutS: number;
  sweepS: number;
  cancelRate: number;
  abandonRate: number;
  callSecondsMin: number;
  callSecondsMax: number;
  connections: number;
  endSilenceMs: number;
  /** gateway.max_connection_age_seconds and its grace; unset: the product's defaults (300 s, 20 s). */
  connectionAgeS?: number;
  connectionAgeGraceS?: number;
  /** More sessions keys for the gateway (the spec turns the idle sweep off to see the soak fail). */
  gatewaySessions?: Record<string, unknown>;
  log?: (line: string) => void;
}

/** The floors' window (bench/soak/verdict.ts floorTrend). */
const FLOOR_WINDOW_MS = 5 * 60_000;
const round2 = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);

export const DEFAULTS: Omit<SoakOptions, 'minutes' | 'warmupMs'> = {
  calls: 100,
  sampleMs: 5000,
  pollMs: 2000,
  rssLimitMbPer10Min: 2,
  sessionTimeoutS: 5,
  sweepS: 1,
  cancelRate: 0.1,
  abandonRate: 0.05,
  callSecondsMin: 6,
  callSecondsMax: 14,
  connections: 4,
  endSilenceMs: 600,
};

/** Warm-up: a quarter of the run, at most 2 minutes. */
export const defaultWarmupMs = (minutes: number) => Math.min(120_000, (minutes * 60_000) / 4);

/** What the API read and the event loops may add to the idle limit before a conversation counts as outliving it. */
const SLACK_MS = 1500;

export interface SoakReport {
  options: Omit<SoakOptions, 'log'>;
  startedAt: string;
  wallS: number;
  pass: boolean;
  failures: string[];
  load: Omit<SoakLoadResult, 'latenciesMs'> & { latencyMs: Dist };
  rss: RssTrend & { firstMB: number | null; afterWarmupMB: number | null; lastMB: number | null; maxMB: number | null };
  fds: { first: number | null; last: number | null; max: number | null; per10MinAfterWarmup: number | null };
  handles: { first: number | null; last: number | null; max: number | null };
  /** JS heap in use: after warm-up and last, MB, and its fitted trend (reported, not judged: RSS decides). */
  heapUsed: { afterWarmupMB: number | null; lastMB: number | null; mbPer10MinAfterWarmup: number | null };
  /** Trends of the lowest JS heap and RSS in each 5 minutes after warm-up, MB per 10 min (reported, not judged). */
  floors: { heapMbPer10Min: number | null; rssMbPer10Min: number | null };
  conversations: { maxActive: number; polls: number; pollFailures: number; outlived: Outlived[]; leftAtEnd: number | null; idleTimeoutEnds: number | null };
  gatewayCpuPct: number | null;
  machine: { loadavgStart: string; loadavgEnd: string; busyPct: number | null };
  samples: Sample[];
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

/** Every active conversation, page by page. */
async function activeConversations(http: string): Promise<ActiveConversation[]> {
  const all: ActiveConversation[] = [];
  for (let offset = 0; offset < 100_000; ) {
    const page = await getJson<{ total: number; items: ActiveConversation[] }>(`http://${http}/api/conversations?limit=500&offset=${offset}`);
    all.push(...page.items);
    offset += page.items.length;
    if (page.items.length === 0 || offset >= page.total) break;
  }
  return all;
}

/** byova_conversations_ended_total{reason="idle_timeout"} from /metrics. */
async function idleTimeoutEnds(http: string): Promise<number | null> {
  try {
    const r = await fetch(`http://${http}/metrics`, { signal: AbortSignal.timeout(5000) });
    const m = /^byova_conversations_ended_total\{[^}]*reason="idle_timeout"[^}]*\}\s+(\S+)/m.exec(await r.text());
    return m ? Number(m[1]) : 0;
  } catch {
    return null;
  }
}

function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => undefined);
  const runMs = Math.round(o.minutes * 60_000);
  const startedAt = new Date().toISOString();
  const loadavgStart = readLoadavg();
  const gw: ServerChild = await startServer('gateway', o.endSilenceMs, undefined, {
    // Short idle timeout and sweep, so abandoned calls are ended (and checked) many times within the run.
    env: {
      BENCH_SESSIONS: JSON.stringify({ timeout: o.sessionTimeoutS, cleanup_interval: o.sweepS, max_session_duration: 3600, ...o.gatewaySessions }),
      // A short connection age makes every connection go through GOAWAY and its grace many times per run.
      BENCH_GATEWAY: JSON.stringify({
        ...(o.connectionAgeS !== undefined ? { max_connection_age_seconds: o.connectionAgeS } : {}),
        ...(o.connectionAgeGraceS !== undefined ? { max_connection_age_grace_seconds: o.connectionAgeGraceS } : {}),
      }),
    },
  });
  if (!gw.httpAddress) {
    await gw.stop();
    throw new Error('the gateway child serves no monitoring API');
  }
  const http = gw.httpAddress;
  log(
    `gateway pid ${gw.pid} on ${gw.target}, monitoring ${http}; sessions.timeout ${o.sessionTimeoutS} s, cleanup_interval ${o.sweepS} s; ` +
      `connection age ${connectionAge(o)}`,
  );

  const t0 = performance.now();
  const samples: Sample[] = [];
  const seen: Outlived[] = [];
  const outlivedIds = new Set<string>();
  let polls = 0;
  let pollFailures = 0;
  let maxActive = 0;
  let gatewayProblem: string | undefined;
  const cpu0 = readProc(gw.pid);
  const m0 = readMachine();
  let running = true;

  const sampler = (async () => {
    let lastLog = 0;
    while (running) {
      const p = readProc(gw.pid);
      if (!p) {
        gatewayProblem = 'the gateway process exited during the run';
        return;
      }
      const h = await gw.activeHandles();
      const s: Sample = { t: performance.now() - t0, rssKB: p.rssKB, fds: fdCount(gw.pid) ?? -1, handles: h?.count ?? null };
      if (h) {
        s.heapUsedKB = Math.round(h.memory.heapUsed / 1024);
        s.externalKB = Math.round(h.memory.external / 1024);
      }
      samples.push(s);
      if (s.t - lastLog >= 60_000 || lastLog === 0) {
        lastLog = s.t || 1;
        log(`${(s.t / 60_000).toFixed(1)} min: RSS ${(s.rssKB / 1024).toFixed(1)} MB, heap used ${((s.heapUsedKB ?? 0) / 1024).toFixed(1)} MB, fds ${s.fds}, handles ${s.handles}, active conversations ${maxActive} (max so far), load ${readLoadavg()}`);
      }
      await sleep(o.sampleMs);
    }
  })();

  const poller = (async () => {
    while (running) {
      try {
        const items = await activeConversations(http);
        polls++;
        maxActive = Math.max(maxActive, items.length);
        for (const x of outlived(items, Date.now(), o.sessionTimeoutS, o.sweepS, SLACK_MS)) {
          if (outlivedIds.has(x.id)) continue;
          outlivedIds.add(x.id);
          if (seen.length < 100) seen.push(x);
          log(`conversation ${x.id} idle ${(x.idleMs / 1000).toFixed(1)} s and still active`);
        }
      } catch (e) {
        // A few slow reads under load are tolerated; a monitoring API that stops answering is a failure.
        pollFailures++;
        if (pollFailures > 10 && pollFailures > polls / 20) gatewayProblem = `monitoring API reads failing (${pollFailures}): ${(e as Error).message}`;
      }
      await sleep(o.pollMs);
    }
  })();

  const errorLog: string[] = [];
  const load = await runSoakLoad(
    {
      target: gw.target,
      calls: o.calls,
      runMs,
      callMsMin: o.callSecondsMin * 1000,
      callMsMax: o.callSecondsMax * 1000,
      cancelRate: o.cancelRate,
      abandonRate: o.abandonRate,
      connections: o.connections,
      client: 'h2',
      endSilenceMs: o.endSilenceMs,
      rpcDeadlineMs: 10_000,
    },
    (e) => {
      if (errorLog.length < 10) {
        errorLog.push(e);
        log(`error: ${e}`);
      }
    },
  );
  const cpu1 = readProc(gw.pid);
  const m1 = readMachine();
  const loadEndT = performance.now() - t0;
  // Every abandoned call must be gone once timeout + sweep (and slack) have passed since the last call ended.
  await sleep((o.sessionTimeoutS + o.sweepS) * 1000 + SLACK_MS);
  let leftAtEnd: number | null = null;
  try {
    leftAtEnd = (await activeConversations(http)).length;
  } catch (e) {
    gatewayProblem ??= `monitoring API unreadable after the run: ${(e as Error).message}`;
  }
  const idleEnds = await idleTimeoutEnds(http);
  running = false;
  await Promise.all([sampler, poller]);
  await gw.stop();

  // Trends over the loaded span only: the drain after it (no calls) would pull the line down.
  const loaded = samples.filter((s) => s.t <= loadEndT);
  const rss = rssTrend(loaded, o.warmupMs, o.rssLimitMbPer10Min);
  const after = loaded.filter((s) => s.t >= o.warmupMs);
  const fdLine = fitLine(
    after.map((s) => s.t),
    after.map((s) => s.fds),
  );
  const heapAfter = after.filter((s) => s.heapUsedKB !== undefined);
  const heapLine = fitLine(
    heapAfter.map((s) => s.t),
    heapAfter.map((s) => s.heapUsedKB! / 1024),
  );
  const mb = (kb: number | undefined) => (kb === undefined ? null : Math.round(kb / 102.4) / 10);
  const handleVals = samples.map((s) => s.handles).filter((h): h is number => h !== null);
  const { latenciesMs, ...loadRest } = load;
  const failed = failures({ rss, outlived: seen, leftAtEnd: leftAtEnd ?? 0, errors: load.errors, errorKinds: load.errorKinds, gatewayProblem });
  if (load.hardStopped) failed.push('calls did not finish within the RPC deadline after the run (hard stop)');
  return {
    options: { ...o, log: undefined } as Omit<SoakOptions, 'log'>,
    startedAt,
    wallS: Math.round(loadEndT / 100) / 10,
    pass: failed.length === 0,
    failures: failed,
    load: { ...loadRest, latencyMs: dist(latenciesMs) },
    rss: {
      ...rss,
      firstMB: mb(samples[0]?.rssKB),
      afterWarmupMB: mb(after[0]?.rssKB),
      lastMB: mb(samples[samples.length - 1]?.rssKB),
      maxMB: samples.length ? mb(Math.max(...samples.map((s) => s.rssKB))) : null,
    },
    fds: {
      first: samples[0]?.fds ?? null,
      last: samples[samples.length - 1]?.fds ?? null,
      max: samples.length ? Math.max(...samples.map((s) => s.fds)) : null,
      per10MinAfterWarmup: fdLine ? Math.round(fdLine.slope * 600_000 * 100) / 100 : null,
    },
    handles: { first: handleVals[0] ?? null, last: handleVals[handleVals.length - 1] ?? null, max: handleVals.length ? Math.max(...handleVals) : null },
    floors: {
      heapMbPer10Min: round2(floorTrend(samples, o.warmupMs, FLOOR_WINDOW_MS, (s) => s.heapUsedKB)),
      rssMbPer10Min: round2(floorTrend(samples, o.warmupMs, FLOOR_WINDOW_MS, (s) => s.rssKB)),
    },
    heapUsed: {
      afterWarmupMB: mb(heapAfter[0]?.heapUsedKB),
      lastMB: mb(heapAfter[heapAfter.length - 1]?.heapUsedKB),
      mbPer10MinAfterWarmup: heapLine ? Math.round(heapLine.slope * 600_000 * 100) / 100 : null,
    },
    conversations: { maxActive, polls, pollFailures, outlived: seen, leftAtEnd, idleTimeoutEnds: idleEnds },
    gatewayCpuPct: cpu0 && cpu1 ? Math.round(((cpu1.cpuMs - cpu0.cpuMs) / loadEndT) * 1000) / 10 : null,
    machine: { loadavgStart, loadavgEnd: readLoadavg(), busyPct: m1.total > m0.total ? Math.round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 1000) / 10 : null },
    samples,
  };
}

/** The gateway's connection age and grace as the run set them. */
function connectionAge(o: Pick<SoakOptions, 'connectionAgeS' | 'connectionAgeGraceS'>): string {
  const d = new GatewaySection();
  return `${o.connectionAgeS ?? d.max_connection_age_seconds} s (grace ${o.connectionAgeGraceS ?? d.max_connection_age_grace_seconds} s)`;
}

export function soakMarkdown(r: SoakReport): string {
  const o = r.options;
  const f = (n: number | null, d = 1) => (n === null ? '-' : n.toFixed(d));
  const l = r.load;
  return [
    `# Soak: ${r.pass ? 'PASS' : 'FAIL'}`,
    '',
    `${r.startedAt}: ${o.minutes} min at ${o.calls} concurrent calls (${o.callSecondsMin}-${o.callSecondsMax} s each), ` +
      `cancel rate ${o.cancelRate * 100}% of speech/DTMF turns, abandon rate ${o.abandonRate * 100}% of calls; ` +
      `gateway sessions.timeout ${o.sessionTimeoutS} s, cleanup_interval ${o.sweepS} s, connection age ${connectionAge(o)}; warm-up ${o.warmupMs / 1000} s.`,
    '',
    ...(r.failures.length ? ['Failures:', '', ...r.failures.map((x) => `- ${x}`), ''] : []),
    '| figure | value |',
    '| --- | --- |',
    `| calls started / hung up / abandoned | ${l.callsStarted} / ${l.callsHungUp} / ${l.callsAbandoned} |`,
    `| turns (welcome, speech, DTMF) | ${l.turns.welcome}, ${l.turns.speech}, ${l.turns.dtmf} |`,
    `| cancels sent (FINAL first) | ${l.cancelsSent} (${l.cancelsAfterFinal}) |`,
    `| unexpected errors | ${l.errors} |`,
    `| RPCs refused at a GOAWAY and retried | ${l.refusedRetried} |`,
    `| turn latency p50 / p99 / max ms | ${f(l.latencyMs.p50)} / ${f(l.latencyMs.p99)} / ${f(l.latencyMs.max)} |`,
    `| RSS first / after warm-up / last / max MB | ${f(r.rss.firstMB)} / ${f(r.rss.afterWarmupMB)} / ${f(r.rss.lastMB)} / ${f(r.rss.maxMB)} |`,
    `| RSS trend after warm-up (limit) | ${f(r.rss.mbPer10Min, 2)} MB per 10 min (${r.rss.limitMbPer10Min}) over ${r.rss.samples} samples |`,
    `| JS heap used after warm-up / last MB, trend per 10 min | ${f(r.heapUsed.afterWarmupMB)} / ${f(r.heapUsed.lastMB)}, ${f(r.heapUsed.mbPer10MinAfterWarmup, 2)} |`,
    `| lowest JS heap / RSS in each 5 min after warm-up, trend per 10 min | ${f(r.floors.heapMbPer10Min, 2)} / ${f(r.floors.rssMbPer10Min, 2)} MB |`,
    `| fds first / last / max, trend per 10 min | ${r.fds.first} / ${r.fds.last} / ${r.fds.max}, ${f(r.fds.per10MinAfterWarmup, 2)} |`,
    `| active handles first / last / max | ${r.handles.first} / ${r.handles.last} / ${r.handles.max} |`,
    `| active conversations max (API polls, failed) | ${r.conversations.maxActive} (${r.conversations.polls}, ${r.conversations.pollFailures}) |`,
    `| outlived timeout + sweep / left after the run | ${r.conversations.outlived.length} / ${r.conversations.leftAtEnd ?? '-'} |`,
    `| ended by idle_timeout (metrics) | ${r.conversations.idleTimeoutEnds ?? '-'} |`,
    `| gateway CPU % of a core | ${f(r.gatewayCpuPct)} |`,
    `| machine busy % (2 cores), load avg start → end | ${f(r.machine.busyPct)}, ${r.machine.loadavgStart} → ${r.machine.loadavgEnd} |`,
    '',
  ].join('\n');
}
