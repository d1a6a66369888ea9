// Lex section: the time the gateway adds to a Lex turn. The fake Lex V2 (its own child process) answers after a
// fixed service delay and records per request when it arrived and when it answered. Phase 1: N WxCC-like calls
// through the gateway on the aws_lex_connector; per turn END_OF_INPUT (or DTMF sent) -> FINAL at the client, minus
// the fake's time on that turn's request. Phase 2, same run: N callers replay the same Lex requests (same ops,
// texts, audio sizes and think times) straight at the fake with the SDK, request -> response minus the same.
// The difference of the two remainders is what the gateway adds. See bench/README.md.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LexRuntimeV2Client, RecognizeUtteranceCommand, type SessionState } from '@aws-sdk/client-lex-runtime-v2';
import { decodeLexField, encodeLexField, lexSessionId } from '../libs/connectors/src/aws-lex/lex-session';
import type { LoopLag } from './child-stats';
import type { LexRecord } from './lex-fake';
import type { LexTraceRecord } from './lex-trace';
import { SOURCEMAPS_FILE, summariseProfile } from './profile';
import { runLevel, standardLevel, type TurnSample, warmUp } from './load';
import { readMachine, readProc, REPO, startServer, type ServerChild } from './servers';
import { dist, errorKindsOf, median, r3, readLoadavg, type Dist } from './stats';
import type { ClientKind } from './wire';

export const LEX_ADDED_P99_TARGET_MS = 5;
const LPCM_8K = 'audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false';
const TEXT = 'text/plain; charset=utf-8';
// Dummy credentials for the SDK's signer: the fake checks none. Given to the gateway child's env only.
const DUMMY_AWS_ENV = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' };

export interface LexBenchOptions {
  calls: number;
  durationS: number;
  /** The fake's service time per RecognizeUtterance/RecognizeText. */
  serviceMs: number;
  connections: number;
  client: ClientKind;
  endSilenceMs: number;
  /** CPU profile of the gateway's steady window, summarised into this directory. */
  profileDir?: string;
  /** Stamp each Lex request's stages inside the gateway (bench/lex-trace.ts) and break the remainder down. */
  trace?: boolean;
}

// 20 s calls: at 10 s a run's p99 rested on its 4-5 slowest speech turns and its steady window sat in the gateway's
// first seconds, while V8 still grows the heap with a full collection every 0.5-1.5 s (five-run sets of 2026-11-30:
// pooled added p99 7.43 and 5.34 ms at 10 s, 2.47-4.18 at 20 s).
export const LEX_DEFAULTS = { calls: 100, durationS: 20, serviceMs: 30 };
export const LEX_QUICK = { calls: 25, durationS: 6, serviceMs: 30 };

interface FakeChild {
  url: string;
  pid: number;
  take(): Promise<LexRecord[]>;
  stop(): Promise<void>;
}

async function startFake(serviceMs: number): Promise<FakeChild> {
  const child: ChildProcess = fork(resolve(__dirname, 'lex-fake.ts'), [String(serviceMs)], {
    cwd: REPO,
    // The fake stands for a service with a fixed service time, so its own pauses must not show in the figures: with
    // V8's defaults its small heap got a full collection every 0.4-0.6 s (3-20 ms each), which both remainders
    // absorbed (a stall before it stamps a request's arrival or after it stamps the answer is not in the fake's
    // time). A young generation that holds a request's life and a roomier old generation make them rare (2-3 a run).
    // BENCH_FAKE_NODE_ARGS: extra node flags for diagnosis, e.g. "--trace-gc".
    execArgv: [
      '-r',
      '@swc-node/register',
      '--max-semi-space-size=32',
      '--heap-growing-percent=300',
      ...(process.env.BENCH_FAKE_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('fake Lex did not start within 30 s')), 30_000);
    child.once('message', (m: { url?: string }) => {
      clearTimeout(timer);
      if (m?.url) res(m.url);
      else rej(new Error('fake Lex sent no URL'));
    });
    child.once('exit', (code) => rej(new Error(`fake Lex exited during start-up (code ${code})`)));
  });
  return {
    url,
    pid: child.pid!,
    take: () =>
      new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error('fake Lex did not hand over its records')), 10_000);
        const on = (m: { type?: string; records?: LexRecord[] }) => {
          if (m?.type !== 'records') return;
          clearTimeout(timer);
          child.off('message', on);
          res(m.records ?? []);
        };
        child.on('message', on);
        child.send({ type: 'take' });
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const TURN_OPS = new Set(['RecognizeUtterance', 'RecognizeText']);

/** Conversation turns per Lex session, in the order the fake received them. */
function bySession(records: LexRecord[]): Map<string, LexRecord[]> {
  const m = new Map<string, LexRecord[]>();
  for (const r of records) {
    if (!TURN_OPS.has(r.op) || !r.sessionId) continue;
    const list = m.get(r.sessionId) ?? [];
    list.push(r);
    m.set(r.sessionId, list);
  }
  return m;
}

/** The fake's own time on a request: arrival of its headers -> its answer written. */
const fakeMs = (r: LexRecord) => (r.respondedAt ?? r.at) - r.at;

interface Window {
  machinePct: number | null;
  cpuPct: { gateway?: number | null; fake: number | null; loadgen: number | null };
}

interface PhaseResult {
  /** Client latency minus the fake's time, turns in the steady window. */
  remainder: { all: Dist; speech: Dist; dtmf: Dist; welcome: Dist };
  /** Client latency as measured. */
  raw: Dist;
  fake: Dist;
  serviceMs: Dist;
  /**
   * The remainder split at the fake (epoch clocks shared by the processes): turn start → request at the fake, and
   * the fake's answer → the reply at the caller.
   */
  legs: { request: Dist; response: Dist };
  unmatched: number;
  errors: number;
  errorKinds: Record<string, number>;
  window: Window;
  /** The gateway's event-loop lag over the steady window (gateway phase only). */
  serverLoopLag?: LoopLag | null;
  /** The speech turns' remainders themselves, for pooling over runs (left out of lex.json). */
  speechRemainders: number[];
}

/** CPU of the given processes and of the box over [start, end]. */
function windowMeter(pids: Record<string, number | undefined>) {
  let a: { t: number; m: { busy: number; total: number }; cpu: Record<string, number | undefined>; self: NodeJS.CpuUsage } | undefined;
  let out: Window = { machinePct: null, cpuPct: { fake: null, loadgen: null } };
  const cpuOf = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? readProc(pid)?.cpuMs : undefined]));
  return {
    start() {
      a = { t: performance.now(), m: readMachine(), cpu: cpuOf(), self: process.cpuUsage() };
    },
    end() {
      if (!a) return;
      const ms = performance.now() - a.t;
      const m = readMachine();
      const cpu = cpuOf();
      const self = process.cpuUsage(a.self);
      const pctOf = (k: string) => (cpu[k] !== undefined && a!.cpu[k] !== undefined ? Math.round(((cpu[k]! - a!.cpu[k]!) / ms) * 100) : null);
      out = {
        machinePct: Math.round(((m.busy - a.m.busy) / Math.max(1, m.total - a.m.total)) * 100 * cpus().length),
        cpuPct: { ...(pids.gateway ? { gateway: pctOf('gateway') } : {}), fake: pctOf('fake'), loadgen: Math.round(((self.user + self.system) / 1000 / ms) * 100) },
      };
    },
    result: () => out,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Phase 1: calls through the gateway. Returns the result and the fake's records per call, for phase 2. */
type Matched = Array<{ sessionId: string; k: number; turn: TurnSample; rec: LexRecord }>;

async function gatewayPhase(o: LexBenchOptions, fake: FakeChild, live: Set<ServerChild>): Promise<{ result: PhaseResult; calls: LexRecord[][]; matched: Matched; traceFile?: string }> {
  const traceFile = o.trace ? resolve(tmpdir(), `bench-lex-trace-${process.pid}.json`) : undefined;
  const server = await startServer('gateway', o.endSilenceMs, 'lex', {
    args: [fake.url],
    env: traceFile ? { ...DUMMY_AWS_ENV, BENCH_LEX_TRACE: traceFile } : DUMMY_AWS_ENV,
    preloads: traceFile ? ['lex-trace'] : [],
  });
  live.add(server);
  try {
    const level = standardLevel(o, server.target, o.calls, o.durationS);
    await warmUp(standardLevel(o, server.target, 8, 1));
    await sleep(500);
    await fake.take(); // drop the warm-up's
    const meter = windowMeter({ gateway: server.pid, fake: fake.pid });
    let profiled: Promise<boolean> = Promise.resolve(false);
    let lagP: Promise<LoopLag | null> = Promise.resolve(null);
    const dir = o.profileDir;
    const run = await runLevel(level, {
      steadyStart() {
        meter.start();
        server.resetLoopLag();
        if (dir) server.profileStart();
      },
      steadyEnd() {
        meter.end();
        lagP = server.loopLag();
        if (dir) profiled = server.profileStop(resolve(dir, `gateway-lex-${o.calls}.cpuprofile`), resolve(dir, SOURCEMAPS_FILE));
      },
    });
    await profiled;
    const serverLoopLag = await lagP;
    await sleep(200);
    const sessions = bySession(await fake.take());
    const from = level.rampMs + level.settleMs;
    const rem: Record<'speech' | 'dtmf' | 'welcome', number[]> = { speech: [], dtmf: [], welcome: [] };
    const raw: number[] = [];
    const fakeT: number[] = [];
    const svc: number[] = [];
    const legs = { request: [] as number[], response: [] as number[] };
    let unmatched = 0;
    const byCall = new Map<string, TurnSample[]>();
    for (const s of run.samples) {
      if (!s.conversationId || (s.kind !== 'welcome' && s.kind !== 'speech' && s.kind !== 'dtmf')) continue;
      const list = byCall.get(s.conversationId) ?? [];
      list.push(s);
      byCall.set(s.conversationId, list);
    }
    const calls: LexRecord[][] = [];
    const matched: Matched = [];
    for (const [id, turns] of byCall) {
      const recs = sessions.get(lexSessionId(id)) ?? [];
      calls.push(recs);
      // One Lex request per answered turn (no faults injected, so no retries): matched by order.
      if (recs.length !== turns.length) {
        unmatched += turns.length;
        continue;
      }
      turns.forEach((t, k) => {
        if (t.latencyMs === undefined || t.errors.length) return;
        // Welcomes all fall in the ramp: kept over the whole run; turns only in the steady window.
        if (t.kind !== 'welcome' && (t.at < from || t.at > level.durationMs)) return;
        const f = fakeMs(recs[k]);
        rem[t.kind as 'speech' | 'dtmf' | 'welcome'].push(t.latencyMs - f);
        if (t.kind !== 'welcome') {
          raw.push(t.latencyMs);
          fakeT.push(f);
          svc.push(recs[k].serviceMs);
          if (t.finalEpochMs !== undefined && recs[k].respondedAt !== undefined) {
            const response = t.finalEpochMs - recs[k].respondedAt!;
            legs.response.push(response);
            legs.request.push(t.latencyMs - f - response);
            matched.push({ sessionId: lexSessionId(id), k, turn: t, rec: recs[k] });
          }
        }
      });
    }
    return {
      result: {
        remainder: { all: dist([...rem.speech, ...rem.dtmf]), speech: dist(rem.speech), dtmf: dist(rem.dtmf), welcome: dist(rem.welcome) },
        speechRemainders: rem.speech,
        raw: dist(raw),
        fake: dist(fakeT),
        serviceMs: dist(svc),
        legs: { request: dist(legs.request), response: dist(legs.response) },
        unmatched,
        ...errorKindsOf(run.samples),
        window: meter.result(),
        serverLoopLag,
      },
      calls,
      matched,
      traceFile,
    };
  } finally {
    await server.stop();
    live.delete(server);
  }
}

/** Per stage of a Lex turn inside the gateway (p50 / p99 ms), from the trace the gateway child wrote at exit. */
function traceStages(file: string, matched: Matched): Record<string, Dist> | undefined {
  let records: LexTraceRecord[];
  try {
    records = JSON.parse(readFileSync(file, 'utf8')) as LexTraceRecord[];
    unlinkSync(file);
  } catch {
    return undefined;
  }
  const bySessionId = new Map<string, LexTraceRecord[]>();
  for (const r of records) bySessionId.set(r.sessionId, [...(bySessionId.get(r.sessionId) ?? []), r]);
  const stages: Record<string, number[]> = {
    'turn start -> connector asks': [],
    'connector asks -> request at the fake': [],
    "fake's answer -> SDK has the headers": [],
    'headers -> body read': [],
    'body -> decoded and converted': [],
    'converted -> FINAL at the caller': [],
  };
  for (const m of matched) {
    const tr = bySessionId.get(m.sessionId)?.[m.k];
    const start = m.turn.finalEpochMs! - m.turn.latencyMs!;
    if (!tr || tr.sent === undefined || tr.body === undefined || tr.done === undefined || m.rec.respondedAt === undefined) continue;
    stages['turn start -> connector asks'].push(tr.call - start);
    stages['connector asks -> request at the fake'].push(m.rec.at - tr.call);
    stages["fake's answer -> SDK has the headers"].push(tr.sent - m.rec.respondedAt);
    stages['headers -> body read'].push(tr.body - tr.sent);
    stages['body -> decoded and converted'].push(tr.done - tr.body);
    stages['converted -> FINAL at the caller'].push(m.turn.finalEpochMs! - tr.done);
  }
  return Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, dist(v)]));
}

/** Phase 2: the same Lex requests, same pacing, straight from the SDK (as the connector builds them). */
async function directPhase(o: LexBenchOptions, fake: FakeChild, scripts: LexRecord[][]): Promise<PhaseResult> {
  // As the connector's client: handlers cached, connections kept one request at a time (its abort wiring aside).
  const lex = new LexRuntimeV2Client({
    region: 'us-east-1',
    endpoint: fake.url,
    maxAttempts: 1,
    cacheMiddleware: true,
    requestHandler: { disableConcurrentStreams: false, maxConcurrentStreams: 1 },
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const level = standardLevel(o, '', o.calls, o.durationS);
  const t0 = performance.now();
  const from = level.rampMs + level.settleMs;
  const meter = windowMeter({ fake: fake.pid });
  const startT = setTimeout(meter.start, from);
  const endT = setTimeout(meter.end, level.durationMs);
  // A loud pattern, so the fake hears speech (as it does the gateway's utterances), not silence.
  const loud = Buffer.alloc(64 * 1024);
  for (let i = 0; i < loud.length; i += 2) loud.writeInt16LE(i % 8 < 4 ? 4000 : -4000, i);
  const samples: Array<{ session: string; k: number; at: number; ms?: number; kind: 'welcome' | 'speech' | 'dtmf'; error?: string; startEpoch?: number; endEpoch?: number }> = [];
  const runCaller = async (i: number, script: LexRecord[]) => {
    await sleep(t0 + (i * level.rampMs) / o.calls - performance.now());
    const session = `direct-${process.pid}-${i}`;
    let state: SessionState | undefined;
    for (let k = 0; k < script.length; k++) {
      const r = script[k];
      // The caller's think time between two requests in the gateway run (speech streaming, DTMF, prompts).
      if (k > 0) await sleep((r.at - (script[k - 1].respondedAt ?? script[k - 1].at)) as number);
      const body = r.audioBytes > 0 ? loud.subarray(0, Math.min(r.audioBytes, loud.length)) : Buffer.from(r.text ?? '');
      const at = performance.now();
      const sample: (typeof samples)[number] = { session, k, at: at - t0, kind: k === 0 ? 'welcome' : r.audioBytes > 0 ? 'speech' : 'dtmf' };
      samples.push(sample);
      try {
        const out = await lex.send(
          new RecognizeUtteranceCommand({
            botId: 'BANKBOT001',
            botAliasId: 'LIVEALIAS1',
            localeId: 'en_US',
            sessionId: session,
            requestContentType: r.audioBytes > 0 ? LPCM_8K : TEXT,
            responseContentType: 'audio/pcm',
            sessionState: encodeLexField({ ...(state ?? {}), sessionAttributes: {} }),
            inputStream: body,
          }),
        );
        // What the connector does with an answer before it can reply: read the audio, decode the fields.
        await out.audioStream?.transformToByteArray();
        decodeLexField(out.messages);
        state = decodeLexField<SessionState>(out.sessionState);
        const end = performance.now();
        sample.ms = end - at;
        sample.startEpoch = performance.timeOrigin + at;
        sample.endEpoch = performance.timeOrigin + end;
      } catch (e) {
        sample.error = (e as Error).name;
      }
    }
  };
  await Promise.all(scripts.map((s, i) => runCaller(i, s)));
  clearTimeout(startT);
  clearTimeout(endT);
  lex.destroy();
  await sleep(200);
  const sessions = bySession(await fake.take());
  const rem: Record<'speech' | 'dtmf' | 'welcome', number[]> = { speech: [], dtmf: [], welcome: [] };
  const raw: number[] = [];
  const fakeT: number[] = [];
  const svc: number[] = [];
  const legs = { request: [] as number[], response: [] as number[] };
  let unmatched = 0;
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  for (const s of samples) {
    if (s.error) {
      errors++;
      errorKinds[s.error] = (errorKinds[s.error] ?? 0) + 1;
      continue;
    }
    const rec = sessions.get(s.session)?.[s.k];
    if (!rec || s.ms === undefined) {
      unmatched++;
      continue;
    }
    const f = fakeMs(rec);
    if (s.kind === 'welcome') {
      rem.welcome.push(s.ms - f);
      continue;
    }
    if (s.at < from || s.at > level.durationMs) continue;
    rem[s.kind].push(s.ms - f);
    raw.push(s.ms);
    fakeT.push(f);
    svc.push(rec.serviceMs);
    if (rec.respondedAt !== undefined) {
      legs.request.push(rec.at - s.startEpoch!);
      legs.response.push(s.endEpoch! - rec.respondedAt);
    }
  }
  return {
    remainder: { all: dist([...rem.speech, ...rem.dtmf]), speech: dist(rem.speech), dtmf: dist(rem.dtmf), welcome: dist(rem.welcome) },
    speechRemainders: rem.speech,
    raw: dist(raw),
    fake: dist(fakeT),
    serviceMs: dist(svc),
    legs: { request: dist(legs.request), response: dist(legs.response) },
    unmatched,
    errors,
    errorKinds,
    window: meter.result(),
  };
}

const f = (n: number | null | undefined, d = 2) => (n === null || n === undefined ? '-' : n.toFixed(d));
const sub = (a: number | null, b: number | null) => (a === null || b === null ? null : r3(a - b));

const withoutSamples = ({ speechRemainders: _samples, ...rest }: PhaseResult) => rest;

/** One Lex run's verdict figures: the speech-turn added p50/p99 (null when the run had errors or unmatched turns). */
export interface LexRunVerdict {
  met: boolean | null;
  speechAdded: { p50: number | null; p99: number | null };
  /** The speech turns' remainders of a clean run, gateway and direct, for the estimate pooled over runs. */
  speech?: { gateway: number[]; direct: number[] };
}

export async function runLexBench(o: LexBenchOptions, resultsDir: string, live: Set<ServerChild>): Promise<LexRunVerdict> {
  const t0 = performance.now();
  process.stdout.write(
    `\nLex section: ${o.calls} calls of ${o.durationS} s through the gateway (aws_lex_connector -> fake Lex, ${o.serviceMs} ms service time), ` +
      `then the same Lex requests straight from the SDK\n`,
  );
  const loadBefore = readLoadavg();
  const fake = await startFake(o.serviceMs);
  let gw: PhaseResult;
  let direct: PhaseResult;
  let stages: Record<string, Dist> | undefined;
  try {
    const g = await gatewayPhase(o, fake, live);
    gw = g.result;
    if (g.traceFile) stages = traceStages(g.traceFile, g.matched);
    direct = await directPhase(o, fake, g.calls);
  } finally {
    await fake.stop();
  }
  const loadAfter = readLoadavg();
  const added = { p50: sub(gw.remainder.all.p50, direct.remainder.all.p50), p90: sub(gw.remainder.all.p90, direct.remainder.all.p90), p99: sub(gw.remainder.all.p99, direct.remainder.all.p99) };
  // The target's measure is END_OF_INPUT -> first reply: speech turns. A DTMF turn's clock starts when the caller
  // sends the digits, so it also holds their trip to the gateway, which the SDK-alone path has no counterpart for.
  const speechAdded = { p50: sub(gw.remainder.speech.p50, direct.remainder.speech.p50), p99: sub(gw.remainder.speech.p99, direct.remainder.speech.p99) };
  const clean = gw.errors + direct.errors + gw.unmatched + direct.unmatched === 0 && gw.remainder.speech.n > 0 && direct.remainder.speech.n > 0;
  const met = !clean || speechAdded.p99 === null ? null : speechAdded.p99 <= LEX_ADDED_P99_TARGET_MS;
  const verdict = met === null ? 'NOT DETERMINED' : met ? 'MET' : 'NOT MET';
  const row = (name: string, p: PhaseResult) =>
    `| ${name} | ${p.remainder.all.n} | ${f(p.remainder.all.p50)} | ${f(p.remainder.all.p90)} | ${f(p.remainder.all.p99)} | ${f(p.remainder.all.max)} | ` +
    `${f(p.raw.p50)} | ${f(p.raw.p99)} | ${f(p.fake.p50)} | ${f(p.fake.p99)} | ${f(p.remainder.welcome.p99)} | ${f(p.window.cpuPct.gateway, 0)} | ${p.serverLoopLag ? `${f(p.serverLoopLag.p99Ms, 1)}/${f(p.serverLoopLag.maxMs, 1)}` : '-'} | ${f(p.window.cpuPct.fake, 0)} | ${f(p.window.cpuPct.loadgen, 0)} | ${f(p.window.machinePct, 0)} | ${p.errors + p.unmatched} |`;
  const table = [
    '| path | turns | rem p50 | rem p90 | rem p99 | rem max | raw p50 | raw p99 | fake p50 | fake p99 | welcome rem p99 | gateway CPU % | gateway lag p99/max | fake CPU % | loadgen CPU % | box CPU % (of 200) | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('gateway', gw),
    row('direct SDK', direct),
  ].join('\n');
  const byKind = (k: 'speech' | 'dtmf') =>
    `${k}: gateway remainder p50 ${f(gw.remainder[k].p50)} p99 ${f(gw.remainder[k].p99)} ms (${gw.remainder[k].n}), direct p50 ${f(direct.remainder[k].p50)} p99 ${f(direct.remainder[k].p99)} ms (${direct.remainder[k].n}), ` +
    `added p50 ${f(sub(gw.remainder[k].p50, direct.remainder[k].p50))} p99 ${f(sub(gw.remainder[k].p99, direct.remainder[k].p99))} ms`;
  const leg = (p: PhaseResult, k: 'request' | 'response') => `${f(p.legs[k].p50)} / ${f(p.legs[k].p99)}`;
  const stageLines = stages ? Object.entries(stages).map(([k, d]) => `  ${k}: ${f(d.p50)} / ${f(d.p99)} (${d.n})`) : [];
  const lines = [
    ...(stages ? [`Stages inside the gateway path, p50 / p99 ms (--lex-trace):\n${stageLines.join('\n')}`] : []),
    `Legs, p50 / p99 ms (turn start -> request at the fake; fake's answer -> reply at the caller): gateway ${leg(gw, 'request')} and ${leg(gw, 'response')}; direct SDK ${leg(direct, 'request')} and ${leg(direct, 'response')}`,
    `By turn kind: ${byKind('speech')}; ${byKind('dtmf')}`,
    `Added by the gateway (gateway remainder - direct remainder), all turns: p50 ${f(added.p50)} ms, p90 ${f(added.p90)} ms, p99 ${f(added.p99)} ms`,
    `Added by the gateway on speech turns (END_OF_INPUT -> FINAL, the target's measure): p50 ${f(speechAdded.p50)} ms, p99 ${f(speechAdded.p99)} ms`,
    `Target added p99 <= ${LEX_ADDED_P99_TARGET_MS} ms at ${o.calls} calls (speech turns): ${verdict}${clean ? '' : ' (errors or unmatched turns)'}`,
  ];
  const totalS = Math.round((performance.now() - t0) / 1000);
  const errs = [gw.errors || gw.unmatched ? `gateway: ${JSON.stringify(gw.errorKinds)}, ${gw.unmatched} unmatched` : '', direct.errors || direct.unmatched ? `direct: ${JSON.stringify(direct.errorKinds)}, ${direct.unmatched} unmatched` : ''].filter(Boolean);
  process.stdout.write(`\n${table}\n\n${errs.length ? `Errors: ${errs.join('; ')}\n` : ''}${lines.join('\n')}\nLoad average before/after: ${loadBefore} / ${loadAfter}\n`);
  const when = new Date().toISOString();
  writeFileSync(resolve(resultsDir, 'lex.json'), `${JSON.stringify({ when, options: o, loadavg: { before: loadBefore, after: loadAfter }, totalSeconds: totalS, gateway: withoutSamples(gw), direct: withoutSamples(direct), added, speechAdded, target: { p99Ms: LEX_ADDED_P99_TARGET_MS, met } }, null, 2)}\n`);
  writeFileSync(
    resolve(resultsDir, 'lex.md'),
    [
      `# Lex turn overhead (${when})`,
      '',
      `${o.calls} calls of ${o.durationS} s; fake Lex service time ${o.serviceMs} ms; load average before/after ${loadBefore} / ${loadAfter}. Total ${totalS} s.`,
      '',
      table,
      '',
      'ms, turns begun in the steady window. rem: client latency minus the fake\'s time on the request (arrival -> answer written); ' +
        'gateway: END_OF_INPUT (speech) or digits sent (DTMF) -> FINAL; direct SDK: RecognizeUtterance sent -> answer read and decoded. ' +
        'raw: the client latency itself. welcome rem p99: SESSION_START (or the first request) -> answer, minus the fake, all calls (they start in the ramp). ' +
        'CPU in % of one core over the steady window; box = every process. gateway lag: its event-loop lag in the window (10 ms histogram).',
      '',
      ...errs.map((e) => `- ${e}`),
      ...lines.map((l) => `- ${l}`),
      '',
    ].join('\n'),
  );
  process.stdout.write(`Wrote ${resolve(resultsDir, 'lex.json')} and lex.md\n`);
  if (o.profileDir) {
    const text = summariseProfile(o.profileDir, REPO);
    writeFileSync(resolve(o.profileDir, 'summary.md'), `# gateway CPU profile, Lex section at ${o.calls} calls\n\n\`\`\`\n${text}\n\`\`\`\n`);
    process.stdout.write(`\nGateway CPU profile (Lex section, steady window, ${o.profileDir}):\n${text}\n`);
  }
  return clean ? { met, speechAdded, speech: { gateway: gw.speechRemainders, direct: direct.speechRemainders } } : { met, speechAdded: { p50: null, p99: null } };
}

/**
 * All runs' speech turns in one sample per path: one run's p99 rests on its few slowest turns, the pool's on
 * many. Null when any run had errors (its samples are not kept).
 */
export function pooledSpeech(runs: LexRunVerdict[]): { gateway: Dist; direct: Dist; added: { p50: number | null; p99: number | null } } | null {
  if (runs.length === 0 || runs.some((r) => r.speech === undefined)) return null;
  const gateway = dist(runs.flatMap((r) => r.speech!.gateway));
  const direct = dist(runs.flatMap((r) => r.speech!.direct));
  return { gateway, direct, added: { p50: sub(gateway.p50, direct.p50), p99: sub(gateway.p99, direct.p99) } };
}

/**
 * Several Lex runs in a row (`--lex-repeats`): the p99 of one run's difference swings by several ms with the
 * machine's noise, so the verdict is taken on the median run. Written to lex-runs.md/json beside the last run's.
 */
export function summariseLexRuns(runs: LexRunVerdict[], o: { calls: number }, resultsDir: string): { met: boolean | null } {
  const usable = runs.map((r) => r.speechAdded.p99).filter((x): x is number => x !== null);
  // Any run with errors leaves the verdict open: a median over the clean runs alone would hide them.
  const med = usable.length === runs.length ? median(usable) : null;
  const met = med === null ? null : med <= LEX_ADDED_P99_TARGET_MS;
  const verdict = met === null ? 'NOT DETERMINED' : met ? 'MET' : 'NOT MET';
  const list = runs.map((r, i) => `| ${i + 1} | ${f(r.speechAdded.p50)} | ${f(r.speechAdded.p99)} |`);
  const line = `Median of ${runs.length} runs, speech-turn added p99: ${f(med)} ms; target <= ${LEX_ADDED_P99_TARGET_MS} ms at ${o.calls} calls: ${verdict}`;
  const pooled = pooledSpeech(runs);
  const pooledLine = pooled
    ? `Pooled over the ${runs.length} runs (${pooled.gateway.n} gateway and ${pooled.direct.n} direct speech turns): remainder p99 gateway ${f(pooled.gateway.p99)} ms, ` +
      `direct ${f(pooled.direct.p99)} ms; added p50 ${f(pooled.added.p50)} ms, p99 ${f(pooled.added.p99)} ms (a steadier estimate than any one run's; the verdict stays on the median run)`
    : 'Pooled estimate: none (a run had errors)';
  const when = new Date().toISOString();
  const perRun = runs.map(({ speech: _samples, ...r }) => r);
  process.stdout.write(`\nLex runs, speech-turn added p50 / p99 ms: ${runs.map((r) => `${f(r.speechAdded.p50)} / ${f(r.speechAdded.p99)}`).join('; ')}\n${line}\n${pooledLine}\n`);
  writeFileSync(resolve(resultsDir, 'lex-runs.json'), `${JSON.stringify({ when, runs: perRun, medianP99: med, pooled, target: { p99Ms: LEX_ADDED_P99_TARGET_MS, met } }, null, 2)}\n`);
  writeFileSync(
    resolve(resultsDir, 'lex-runs.md'),
    [`# Lex runs (${when})`, '', '| run | speech added p50 ms | speech added p99 ms |', '| ---: | ---: | ---: |', ...list, '', `- ${line}`, `- ${pooledLine}`, ''].join('\n'),
  );
  return { met };
}
