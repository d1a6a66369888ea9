// npm run bench [-- --quick | --levels 10,20 --duration 10 | --profile 100 | --vad]
// N concurrent simulated WxCC calls against the real gateway and a bare grpc-js server, each in its own
// child process; reports latency, CPU per call-second, RSS per call, errors and sustained concurrency.
// Then the chunk section (bench/chunks.ts): streamed reply pieces, agent emit -> caller, gateway vs bare server;
// the Lex section (bench/lex.ts): time the gateway adds to a Lex turn against the SDK alone;
// the JWT section (bench/jwt.ts): token checks per second and the latency they add to a call's first RPC;
// the monitoring section (bench/monitoring.ts): the gateway's CPU per call-second with monitoring on and off;
// and the VAD section (bench/vad.ts): endpointer CPU and accuracy on the labelled corpus.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runLevel, standardLevel, type LevelOptions, type TurnSample, warmUp } from './load';
import { errorKindsOf } from './stats';
import { dumpSourceMaps, SOURCEMAPS_FILE, summariseProfile } from './profile';
import { readMachine, readProc, REPO, startServer, type ServerChild, type ServerKind } from './servers';
import type { ClientKind } from './wire';
import type { LoopLag } from './child-stats';
import { runVadBench, VAD_DEFAULTS, VAD_QUICK, type VadBenchOptions } from './vad';
import { CHUNK_DEFAULTS, CHUNK_QUICK, runChunkBench } from './chunks';
import { LEX_DEFAULTS, LEX_QUICK, runLexBench, summariseLexRuns, type LexRunVerdict } from './lex';
import { JWT_DEFAULTS, JWT_QUICK, runJwtBench } from './jwt';
import { MONITORING_DEFAULTS, MONITORING_QUICK, runMonitoringBench } from './monitoring';

const RESULTS = resolve(__dirname, 'results');
const P99_LIMIT_MS = 50;
/** CPU used by processes other than the server and the load generator that makes a level be run again. */
const OTHER_CPU_LIMIT_PCT = 25;
const CPU_RATIO_TARGET = 2.0;
const SUSTAIN_RATIO_TARGET = 0.8;

interface Options {
  levels: number[];
  durationS: number;
  budgetS: number;
  connections: number;
  client: ClientKind;
  endSilenceMs: number;
  only?: ServerKind;
  profile?: number;
  /** Profile this process (the load generator) during steady windows. */
  profileLoadgen: boolean;
  /** Bisect once between the last passing and the first failing level. */
  refine: boolean;
  quick: boolean;
  /** VAD section (bench/vad.ts): after the server bench ('auto'), alone ('only') or not at all ('off'). */
  vad: 'auto' | 'only' | 'off';
  vadOptions: VadBenchOptions;
  /** Chunk section (bench/chunks.ts), like the VAD section. */
  chunks: 'auto' | 'only' | 'off';
  chunkOptions: { calls: number; durationS: number; repeats: number; dtmfOnly?: boolean };
  /** Profile the gateway in the chunk section. */
  chunkProfile: boolean;
  /** Lex section (bench/lex.ts), like the VAD section. */
  lex: 'auto' | 'only' | 'off';
  lexOptions: { calls: number; durationS: number; serviceMs: number };
  /** Profile the gateway in the Lex section. */
  lexProfile: boolean;
  lexTrace: boolean;
  /** Lex runs in a row; with more than one the verdict is the median run's. */
  lexRepeats: number;
  /** JWT section (bench/jwt.ts), like the VAD section. */
  jwt: 'auto' | 'only' | 'off';
  /** Monitoring section (bench/monitoring.ts), like the VAD section. */
  monitoring: 'auto' | 'only' | 'off';
  monitoringOptions: { calls: number; durationS: number; repeats: number; scrapeEveryS: number; controls?: number; httpControls?: number; pollution?: number };
  /** Profile the gateway in the monitoring section's monitoring-on runs. */
  monitoringProfile: boolean;
}

function usage(msg?: string): never {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  process.stderr.write(
    'usage: npm run bench -- [--quick] [--levels 25,50,...] [--duration SECONDS] [--budget SECONDS]\n' +
      '                        [--connections N] [--client h2|grpc-js] [--end-silence MS] [--only gateway|bare] [--profile CALLS]\n' +
      '                        [--profile-loadgen] [--no-refine]\n' +
      '                        [--vad | --no-vad] [--vad-streams N] [--vad-seconds S] [--vad-repeats N] [--vad-rates 8000,16000]\n' +
      '                        [--chunks | --no-chunks] [--chunk-calls N] [--chunk-duration SECONDS] [--chunk-repeats N] [--chunk-profile] [--chunk-dtmf-only]\n' +
      '                        [--lex | --no-lex] [--lex-calls N] [--lex-duration SECONDS] [--lex-service-ms MS] [--lex-profile] [--lex-trace] [--lex-repeats N]\n' +
      '                        [--jwt | --no-jwt]\n' +
      '                        [--monitoring | --no-monitoring] [--mon-calls N] [--mon-duration SECONDS] [--mon-repeats N] [--mon-controls N] [--mon-http-controls N] [--mon-pollution N] [--mon-scrape SECONDS] [--mon-profile]\n',
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    levels: [25, 50, 100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1400, 1600, 2000],
    durationS: 10,
    budgetS: 460,
    connections: 4,
    client: 'h2',
    endSilenceMs: 600,
    quick: false,
    profileLoadgen: false,
    refine: true,
    vad: 'auto',
    vadOptions: { ...VAD_DEFAULTS },
    chunks: 'auto',
    chunkOptions: { ...CHUNK_DEFAULTS },
    chunkProfile: false,
    lex: 'auto',
    lexProfile: false,
    lexTrace: false,
    lexRepeats: 1,
    lexOptions: { ...LEX_DEFAULTS },
    jwt: 'auto',
    monitoring: 'auto',
    monitoringProfile: false,
    monitoringOptions: { ...MONITORING_DEFAULTS },
  };
  const monGiven: Partial<Options['monitoringOptions']> = {};
  const lexGiven: Partial<Options['lexOptions']> = {};
  const vadGiven: Partial<VadBenchOptions> = {};
  const chunkGiven: Partial<Options['chunkOptions']> = {};
  let levelsGiven = false;
  let durationGiven = false;
  const num = (v: string | undefined, name: string) => {
    const n = Number(v);
    if (!v || !Number.isFinite(n) || n <= 0) usage(`${name} needs a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--quick':
        o.quick = true;
        break;
      case '--levels':
        o.levels = (argv[++i] ?? '').split(',').map((s) => Math.round(num(s, '--levels')));
        levelsGiven = true;
        break;
      case '--duration':
        o.durationS = num(argv[++i], '--duration');
        durationGiven = true;
        break;
      case '--budget':
        o.budgetS = num(argv[++i], '--budget');
        break;
      case '--connections':
        o.connections = Math.round(num(argv[++i], '--connections'));
        break;
      case '--client': {
        const c = argv[++i];
        if (c !== 'h2' && c !== 'grpc-js') usage('--client takes h2 or grpc-js');
        o.client = c;
        break;
      }
      case '--end-silence':
        o.endSilenceMs = Math.round(num(argv[++i], '--end-silence'));
        break;
      case '--only': {
        const s = argv[++i];
        if (s !== 'gateway' && s !== 'bare') usage('--only takes gateway or bare');
        o.only = s;
        break;
      }
      case '--no-refine':
        o.refine = false;
        break;
      case '--profile-loadgen':
        o.profileLoadgen = true;
        break;
      case '--profile':
        o.profile = Math.round(num(argv[++i], '--profile'));
        break;
      case '--vad':
        o.vad = 'only';
        break;
      case '--no-vad':
        o.vad = 'off';
        break;
      case '--chunks':
        o.chunks = 'only';
        break;
      case '--no-chunks':
        o.chunks = 'off';
        break;
      case '--chunk-calls':
        chunkGiven.calls = Math.round(num(argv[++i], '--chunk-calls'));
        break;
      case '--chunk-duration':
        chunkGiven.durationS = num(argv[++i], '--chunk-duration');
        break;
      case '--chunk-dtmf-only':
        chunkGiven.dtmfOnly = true;
        break;
      case '--chunk-profile':
        o.chunkProfile = true;
        break;
      case '--chunk-repeats':
        chunkGiven.repeats = Math.round(num(argv[++i], '--chunk-repeats'));
        break;
      case '--lex':
        o.lex = 'only';
        break;
      case '--no-lex':
        o.lex = 'off';
        break;
      case '--lex-trace':
        o.lexTrace = true;
        break;
      case '--lex-repeats':
        o.lexRepeats = Math.round(num(argv[++i], '--lex-repeats'));
        if (o.lexRepeats < 1 || o.lexRepeats > 20) usage('--lex-repeats takes 1 to 20');
        break;
      case '--jwt':
        o.jwt = 'only';
        break;
      case '--no-jwt':
        o.jwt = 'off';
        break;
      case '--lex-profile':
        o.lexProfile = true;
        break;
      case '--lex-calls':
        lexGiven.calls = Math.round(num(argv[++i], '--lex-calls'));
        break;
      case '--lex-duration':
        lexGiven.durationS = num(argv[++i], '--lex-duration');
        break;
      case '--lex-service-ms':
        lexGiven.serviceMs = Math.round(num(argv[++i], '--lex-service-ms'));
        break;
      case '--monitoring':
        o.monitoring = 'only';
        break;
      case '--no-monitoring':
        o.monitoring = 'off';
        break;
      case '--mon-calls':
        monGiven.calls = Math.round(num(argv[++i], '--mon-calls'));
        break;
      case '--mon-duration':
        monGiven.durationS = num(argv[++i], '--mon-duration');
        break;
      case '--mon-scrape':
        // 0 is allowed: no API reads (with BENCH_DASHBOARD_VIEWERS=0, monitoring's bookkeeping alone).
        monGiven.scrapeEveryS = Number(argv[++i]);
        if (!argv[i] || !Number.isFinite(monGiven.scrapeEveryS) || monGiven.scrapeEveryS < 0) usage('--mon-scrape needs a number of seconds (0: no reads)');
        break;
      case '--mon-profile':
        o.monitoringProfile = true;
        break;
      case '--mon-repeats':
        monGiven.repeats = Math.round(num(argv[++i], '--mon-repeats'));
        break;
      case '--mon-controls':
        monGiven.controls = Math.round(num(argv[++i], '--mon-controls'));
        break;
      case '--mon-http-controls':
        monGiven.httpControls = Math.round(num(argv[++i], '--mon-http-controls'));
        if (monGiven.httpControls < 0 || monGiven.httpControls > 10) usage('--mon-http-controls takes 0 to 10');
        break;
      case '--mon-pollution':
        monGiven.pollution = Math.round(num(argv[++i], '--mon-pollution'));
        if (monGiven.pollution < 0 || monGiven.pollution > 16) usage('--mon-pollution takes 0 to 16');
        break;
      case '--vad-streams':
        vadGiven.streams = Math.round(num(argv[++i], '--vad-streams'));
        break;
      case '--vad-seconds':
        vadGiven.seconds = num(argv[++i], '--vad-seconds');
        break;
      case '--vad-repeats':
        vadGiven.repeats = Math.round(num(argv[++i], '--vad-repeats'));
        break;
      case '--vad-rates': {
        const rates = (argv[++i] ?? '').split(',').map(Number);
        if (!rates.length || rates.some((r) => r !== 8000 && r !== 16000)) usage('--vad-rates takes 8000 and/or 16000');
        vadGiven.rates = rates as Array<8000 | 16000>;
        break;
      }
      case '-h':
      case '--help':
        usage();
      default:
        usage(`unknown argument ${a}`);
    }
  }
  if (o.quick) {
    if (!levelsGiven) o.levels = [10, 25];
    if (!durationGiven) o.durationS = 6;
    o.budgetS = Math.min(o.budgetS, 90);
  }
  o.vadOptions = { ...(o.quick ? VAD_QUICK : VAD_DEFAULTS), ...vadGiven };
  o.chunkOptions = { ...(o.quick ? CHUNK_QUICK : CHUNK_DEFAULTS), ...chunkGiven };
  o.lexOptions = { ...(o.quick ? LEX_QUICK : LEX_DEFAULTS), ...lexGiven };
  o.monitoringOptions = { ...(o.quick ? MONITORING_QUICK : MONITORING_DEFAULTS), ...monGiven };
  if (o.monitoringOptions.durationS < 4) usage('--mon-duration must be at least 4 s (ramp + steady window)');
  if (o.lexOptions.durationS < 4) usage('--lex-duration must be at least 4 s (ramp + steady window)');
  if (o.chunkOptions.durationS < 4) usage('--chunk-duration must be at least 4 s (ramp + steady window)');
  if (o.durationS < 4) usage('--duration must be at least 4 s (ramp + steady window)');
  o.levels.sort((a, b) => a - b);
  return o;
}

function levelOptions(o: Options, target: string, calls: number, durationS = o.durationS): LevelOptions {
  return standardLevel(o, target, calls, durationS);
}

// ---- statistics ----

function pct(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const r1 = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);
const r2 = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);

interface LevelResult {
  server: ServerKind;
  calls: number;
  steadyWindowS: number | null;
  turns: { welcome: number; speech: number; dtmf: number };
  turnP50Ms: number | null;
  turnP99Ms: number | null;
  speechP99Ms: number | null;
  dtmfP99Ms: number | null;
  welcomeP50Ms: number | null;
  welcomeP99Ms: number | null;
  eoiDelayP50Ms: number | null;
  eoiDelayP99Ms: number | null;
  cpuMsPerCallSecond: number | null;
  cpuPctOfCore: number | null;
  /** All processes, in % of one core (200 = both cores busy). */
  machineCpuPct: number | null;
  /** machine - server - load generator: other work on the box (and kernel time charged to no process). */
  otherCpuPct: number | null;
  /** A bisection level between a server's last pass and its first failure. */
  refinement?: boolean;
  /** Set when the level was run again because other processes were busy during the first run. */
  rerunAfter?: { otherCpuPct: number | null; turnP99Ms: number | null; pass: boolean };
  rssIdleMB: number;
  rssPeakMB: number | null;
  rssPerCallKB: number | null;
  errors: number;
  errorKinds: Record<string, number>;
  callsCompleted: number;
  loadgen: { cpuPct: number; loopDelayP99Ms: number; loopDelayMaxMs: number };
  /** The server's event-loop lag in the steady window. */
  serverLoopLag: LoopLag | null;
  serverStartupMs: number;
  pass: boolean;
  failReasons: string[];
}

function summariseLevel(
  server: ServerChild,
  calls: number,
  samples: TurnSample[],
  idle: { rssKB: number },
  steady: { cpuMs: number; ms: number; rssPeakKB: number; machinePct: number } | null,
  run: { callsCompleted: number; timedOut: boolean; loadgen: LevelResult['loadgen'] },
  serverLoopLag: LoopLag | null,
): LevelResult {
  const lat = (k: string[]) => samples.filter((s) => k.includes(s.kind) && s.latencyMs !== undefined).map((s) => s.latencyMs!);
  const turnLat = lat(['speech', 'dtmf']);
  const eoi = samples.filter((s) => s.eoiDelayMs !== undefined).map((s) => s.eoiDelayMs!);
  const counted = errorKindsOf(samples);
  let errors = counted.errors;
  const errorKinds = counted.errorKinds;
  if (run.timedOut) {
    errors++;
    errorKinds['level timed out (RPCs cancelled)'] = 1;
  }
  const missing = calls - run.callsCompleted;
  if (missing > 0 && !run.timedOut) errorKinds['calls abandoned after repeated errors'] = missing;
  const count = (k: string) => samples.filter((s) => s.kind === k).length;
  const turnP99 = pct(turnLat, 99);
  const failReasons: string[] = [];
  if (errors > 0) failReasons.push(`${errors} errors`);
  if (turnP99 === null) failReasons.push('no turn latencies');
  else if (turnP99 >= P99_LIMIT_MS) failReasons.push(`turn p99 ${turnP99.toFixed(1)} ms >= ${P99_LIMIT_MS} ms`);
  if (!steady) failReasons.push('no steady window (level ended early)');
  const windowS = steady ? steady.ms / 1000 : null;
  return {
    server: server.kind,
    calls,
    steadyWindowS: r2(windowS),
    turns: { welcome: count('welcome'), speech: count('speech'), dtmf: count('dtmf') },
    turnP50Ms: r2(pct(turnLat, 50)),
    turnP99Ms: r2(turnP99),
    speechP99Ms: r2(pct(lat(['speech']), 99)),
    dtmfP99Ms: r2(pct(lat(['dtmf']), 99)),
    welcomeP50Ms: r2(pct(lat(['welcome']), 50)),
    welcomeP99Ms: r2(pct(lat(['welcome']), 99)),
    eoiDelayP50Ms: r2(pct(eoi, 50)),
    eoiDelayP99Ms: r2(pct(eoi, 99)),
    cpuMsPerCallSecond: steady && windowS ? r2(steady.cpuMs / (calls * windowS)) : null,
    cpuPctOfCore: steady ? r1((steady.cpuMs / steady.ms) * 100) : null,
    machineCpuPct: steady ? r1(steady.machinePct) : null,
    otherCpuPct: steady ? r1(Math.max(0, steady.machinePct - (steady.cpuMs / steady.ms) * 100 - run.loadgen.cpuPct)) : null,
    rssIdleMB: r1(idle.rssKB / 1024)!,
    rssPeakMB: steady ? r1(steady.rssPeakKB / 1024) : null,
    rssPerCallKB: steady ? r1((steady.rssPeakKB - idle.rssKB) / calls) : null,
    errors,
    errorKinds,
    callsCompleted: run.callsCompleted,
    loadgen: { cpuPct: r1(run.loadgen.cpuPct)!, loopDelayP99Ms: r1(run.loadgen.loopDelayP99Ms)!, loopDelayMaxMs: r1(run.loadgen.loopDelayMaxMs)! },
    serverLoopLag,
    serverStartupMs: server.startupMs,
    pass: failReasons.length === 0,
    failReasons,
  };
}

// ---- running ----

const live = new Set<ServerChild>();
let loadgenProfileDir: string | undefined;
const inspector = new Session();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Fresh server per level: idle RSS is not inflated by earlier levels, and no state carries over. */
async function runServerLevel(
  o: Options,
  kind: ServerKind,
  calls: number,
  profileDir?: string,
): Promise<{ result: LevelResult; server: ServerChild }> {
  const server = await startServer(kind, o.endSilenceMs);
  live.add(server);
  try {
    // Warm-up: JIT, lazy module init and the first connections, so they count neither as idle nor as load.
    await warmUp(levelOptions(o, server.target, 8, 1));
    await sleep(500);
    const idle = readProc(server.pid);
    if (!idle) throw new Error(`${kind} server exited during warm-up`);
    let a: { cpuMs: number; t: number; machine: { busy: number; total: number } } | undefined;
    let steady: { cpuMs: number; ms: number; rssPeakKB: number; machinePct: number } | null = null;
    let rssPeakKB = 0;
    let rssTimer: NodeJS.Timeout | undefined;
    let lagP: Promise<LoopLag | null> = Promise.resolve(null);
    let profiled: Promise<boolean> = Promise.resolve(false);
    const run = await runLevel(levelOptions(o, server.target, calls), {
      steadyStart() {
        if (loadgenProfileDir) {
          inspector.post('Profiler.enable');
          inspector.post('Profiler.start');
        }
        const p = readProc(server.pid);
        if (!p) return; // the server died: the level fails for want of a steady window
        a = { cpuMs: p.cpuMs, t: performance.now(), machine: readMachine() };
        server.resetLoopLag();
        if (profileDir) server.profileStart();
        rssPeakKB = p.rssKB;
        rssTimer = setInterval(() => (rssPeakKB = Math.max(rssPeakKB, readProc(server.pid)?.rssKB ?? 0)), 250);
      },
      steadyEnd() {
        const p = readProc(server.pid);
        lagP = server.loopLag();
        if (profileDir) {
          profiled = server.profileStop(resolve(profileDir, `${kind}-${calls}.cpuprofile`), resolve(profileDir, SOURCEMAPS_FILE));
        }
        clearInterval(rssTimer);
        const m = readMachine();
        if (a && p) {
          const machinePct = ((m.busy - a.machine.busy) / Math.max(1, m.total - a.machine.total)) * 100 * cpus().length;
          steady = { cpuMs: p.cpuMs - a.cpuMs, ms: performance.now() - a.t, rssPeakKB: Math.max(rssPeakKB, p.rssKB), machinePct };
        }
        const dir = loadgenProfileDir;
        if (dir) {
          inspector.post('Profiler.stop', (err, res) => {
            if (!err) writeFileSync(resolve(dir, `loadgen-${kind}-${calls}.cpuprofile`), JSON.stringify(res.profile));
          });
        }
      },
    });
    clearInterval(rssTimer);
    const lag = await lagP;
    await profiled;
    return { result: summariseLevel(server, calls, run.samples, idle, steady, run, lag), server };
  } finally {
    await server.stop();
    live.delete(server);
  }
}

// ---- reporting ----

const f = (n: number | null | undefined, d = 1) => (n === null || n === undefined ? '-' : n.toFixed(d));

const COLUMNS: Array<[string, (r: LevelResult) => string]> = [
  ['server', (r) => r.server],
  ['calls', (r) => `${r.calls}${r.refinement ? '~' : ''}`],
  ['turn p50', (r) => f(r.turnP50Ms, 2)],
  ['turn p99', (r) => f(r.turnP99Ms, 2)],
  ['welc p50', (r) => f(r.welcomeP50Ms, 2)],
  ['welc p99', (r) => f(r.welcomeP99Ms, 2)],
  ['EOI-lag p99', (r) => f(r.eoiDelayP99Ms, 1)],
  ['CPU ms/call-s', (r) => f(r.cpuMsPerCallSecond, 2)],
  ['CPU %', (r) => f(r.cpuPctOfCore, 0)],
  ['RSS MB', (r) => f(r.rssPeakMB, 0)],
  ['RSS KB/call', (r) => f(r.rssPerCallKB, 0)],
  ['srv lag p99', (r) => f(r.serverLoopLag?.p99Ms, 1)],
  ['srv lag max', (r) => f(r.serverLoopLag?.maxMs, 0)],
  ['errors', (r) => String(r.errors)],
  ['loadgen %', (r) => f(r.loadgen.cpuPct, 0)],
  ['other %', (r) => f(r.otherCpuPct, 0) + (r.rerunAfter ? '*' : '')],
  ['pass', (r) => (r.pass ? 'yes' : 'NO')],
];

const LEGEND =
  'turn = END_OF_INPUT -> FINAL (speech) and send -> FINAL (DTMF); welc = SESSION_START -> FINAL; EOI-lag = frame completing ' +
  'end_silence_ms sent -> END_OF_INPUT received; CPU and RSS are the server process only, over the steady window; ' +
  'srv lag = server event-loop lag; other % = CPU of everything else on the box (* = level re-run because of it); ' +
  '~ = bisection level between the last pass and the first failure.';

function textTable(rows: LevelResult[]): string {
  const cells = [COLUMNS.map((c) => c[0]), ...rows.map((r) => COLUMNS.map((c) => c[1](r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

function mdTable(rows: LevelResult[]): string {
  const head = `| ${COLUMNS.map((c) => c[0]).join(' | ')} |`;
  const sep = `|${COLUMNS.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
  return [head, sep, ...rows.map((r) => `| ${COLUMNS.map((c) => c[1](r)).join(' | ')} |`)].join('\n');
}

interface Sustained {
  ran: boolean;
  calls: number;
  /** No failing level was reached (levels or time ran out): the true figure is at least this. */
  lowerBound: boolean;
  firstFailing?: { calls: number; reasons: string[]; loadgenPct: number; machinePct: number | null };
}

function sustained(rows: LevelResult[], kind: ServerKind): Sustained {
  let best = 0;
  const own = rows.filter((x) => x.server === kind).sort((a, b) => a.calls - b.calls);
  for (const r of own) {
    if (!r.pass) {
      return {
        ran: true,
        calls: best,
        lowerBound: false,
        firstFailing: { calls: r.calls, reasons: r.failReasons, loadgenPct: r.loadgen.cpuPct, machinePct: r.machineCpuPct },
      };
    }
    best = r.calls;
  }
  return { ran: own.length > 0, calls: best, lowerBound: true };
}

interface Summary {
  sustained: Record<ServerKind, Sustained>;
  compareAt: number | null;
  ratios: Record<string, number | null>;
  /** CPU per call-second gateway/bare at every level both passed. */
  cpuRatioByLevel: Array<{ calls: number; ratio: number | null }>;
  targets: { cpuRatio: { value: number | null; target: string; met: boolean | null }; sustainedRatio: { value: number | null; target: string; met: boolean | null; note?: string } };
}

function summarise(rows: LevelResult[]): Summary {
  const gw = sustained(rows, 'gateway');
  const bare = sustained(rows, 'bare');
  // Per-call costs are compared at the largest level both servers passed (else the smallest both ran).
  const levels = (k: ServerKind, passOnly: boolean) => new Set(rows.filter((r) => r.server === k && (!passOnly || r.pass)).map((r) => r.calls));
  const common = (passOnly: boolean) => [...levels('gateway', passOnly)].filter((c) => levels('bare', passOnly).has(c)).sort((a, b) => a - b);
  const compareAt = common(true).at(-1) ?? common(false)[0] ?? null;
  const ratio = (get: (r: LevelResult) => number | null, calls = compareAt) => {
    const g = rows.find((r) => r.server === 'gateway' && r.calls === calls);
    const b = rows.find((r) => r.server === 'bare' && r.calls === calls);
    const gv = g ? get(g) : null;
    const bv = b ? get(b) : null;
    return gv === null || bv === null || bv === 0 ? null : r2(gv / bv);
  };
  const ratios = {
    cpuPerCallSecond: ratio((r) => r.cpuMsPerCallSecond),
    rssPerCall: ratio((r) => r.rssPerCallKB),
    turnP50: ratio((r) => r.turnP50Ms),
    turnP99: ratio((r) => r.turnP99Ms),
    welcomeP99: ratio((r) => r.welcomeP99Ms),
    sustainedCalls: bare.calls > 0 && gw.ran ? r2(gw.calls / bare.calls) : null,
  };
  let note: string | undefined;
  if (!gw.ran || !bare.ran) note = 'both servers must run';
  else if (gw.lowerBound && bare.lowerBound) note = 'neither server reached a failing level: both figures are lower bounds';
  else if (bare.lowerBound) note = 'the bare server reached no failing level: its figure is a lower bound, so the ratio is an upper bound';
  else if (gw.lowerBound) note = 'the gateway reached no failing level: its figure is a lower bound, so the ratio is a lower bound';
  const cpu = ratios.cpuPerCallSecond;
  const sus = ratios.sustainedCalls;
  return {
    sustained: { gateway: gw, bare },
    compareAt,
    ratios,
    cpuRatioByLevel: common(true).map((calls) => ({ calls, ratio: ratio((r) => r.cpuMsPerCallSecond, calls) })),
    targets: {
      cpuRatio: { value: cpu, target: `<= ${CPU_RATIO_TARGET}`, met: cpu === null ? null : cpu <= CPU_RATIO_TARGET },
      sustainedRatio: {
        value: sus,
        target: `>= ${SUSTAIN_RATIO_TARGET}`,
        // A bound decides the target only on its own side: an upper bound can fail it, a lower bound meet it.
        met:
          sus === null || (gw.lowerBound && bare.lowerBound)
            ? null
            : bare.lowerBound
              ? sus >= SUSTAIN_RATIO_TARGET
                ? null
                : false
              : gw.lowerBound
                ? sus >= SUSTAIN_RATIO_TARGET
                  ? true
                  : null
                : sus >= SUSTAIN_RATIO_TARGET,
        ...(note ? { note } : {}),
      },
    },
  };
}

function sustainedText(s: Sustained): string {
  if (!s.ran) return 'not run';
  const ff = s.firstFailing;
  // Near 2 cores busy or the generator near one core, the failure says as much about the box as the server.
  const bound = ff && ((ff.machinePct ?? 0) >= 185 || ff.loadgenPct >= 90) ? `; box ${f(ff.machinePct, 0)}% of 200, load generator ${f(ff.loadgenPct, 0)}%: machine-bound` : '';
  const fail = ff ? ` (first failing level ${ff.calls}: ${ff.reasons.join(', ')}${bound})` : ' (no failing level reached)';
  return `${s.lowerBound ? '>= ' : ''}${s.calls}${fail}`;
}

function verdict(met: boolean | null): string {
  return met === null ? 'NOT DETERMINED' : met ? 'MET' : 'NOT MET';
}

function summaryLines(s: Summary): string[] {
  const r = s.ratios;
  return [
    `Sustained calls (p99 turn latency < ${P99_LIMIT_MS} ms, no errors): gateway ${sustainedText(s.sustained.gateway)}; bare ${sustainedText(s.sustained.bare)}`,
    `Ratios gateway/bare at ${s.compareAt ?? '-'} calls: CPU per call-second ${f(r.cpuPerCallSecond, 2)}, RSS per call ${f(r.rssPerCall, 2)}, turn p50 ${f(r.turnP50, 2)}, turn p99 ${f(r.turnP99, 2)}, welcome p99 ${f(r.welcomeP99, 2)}; sustained calls ${f(r.sustainedCalls, 2)}`,
    `CPU per call-second gateway/bare by level: ${s.cpuRatioByLevel.map((x) => `${x.calls}: ${f(x.ratio, 2)}`).join(', ') || '-'}`,
    `Target CPU per call-second gateway/bare ${s.targets.cpuRatio.target}: ${f(s.targets.cpuRatio.value, 2)} -> ${verdict(s.targets.cpuRatio.met)}`,
    `Target sustained calls gateway/bare ${s.targets.sustainedRatio.target}: ${f(s.targets.sustainedRatio.value, 2)} -> ${verdict(s.targets.sustainedRatio.met)}${s.targets.sustainedRatio.note ? ` (${s.targets.sustainedRatio.note})` : ''}`,
  ];
}

function errorLines(rows: LevelResult[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const kinds = Object.entries(r.errorKinds);
    if (kinds.length) out.push(`${r.server} @ ${r.calls}: ${kinds.map(([k, n]) => `${n}x ${k}`).join('; ')}`);
  }
  return out;
}

function machine() {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? '?', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}

// ---- main ----

async function profile(o: Options): Promise<void> {
  const kind = o.only ?? 'gateway';
  const calls = o.profile!;
  const dir = resolve(RESULTS, `profile-${kind}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  process.stdout.write(`Profiling the ${kind} server at ${calls} calls over the steady window (profile in ${dir})\n`);
  const { result } = await runServerLevel(o, kind, calls, dir);
  process.stdout.write(`${textTable([result])}\n\n`);
  const text = summariseProfile(dir, REPO);
  process.stdout.write(`${text}\n`);
  writeFileSync(resolve(dir, 'summary.md'), `# ${kind} CPU profile at ${calls} calls\n\n${mdTable([result])}\n\n\`\`\`\n${text}\n\`\`\`\n`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(RESULTS, { recursive: true });
  // Bounded in time whatever happens: children are killed and the run fails.
  const watchdog = setTimeout(() => {
    process.stderr.write('bench: watchdog expired, stopping\n');
    for (const s of live) void s.stop();
    setTimeout(() => process.exit(3), 6000).unref();
  }, (o.budgetS + 180) * 1000);
  watchdog.unref();
  if (o.vad === 'only') {
    await runVadBench(o.vadOptions, RESULTS);
    return;
  }
  const chunkSection = () => {
    const profileDir = o.chunkProfile ? resolve(RESULTS, `profile-chunks-${Date.now()}`) : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    return runChunkBench({ ...o.chunkOptions, connections: o.connections, client: o.client, endSilenceMs: o.endSilenceMs, profileDir }, RESULTS, live);
  };
  if (o.chunks === 'only') {
    await chunkSection();
    return;
  }
  const lexSection = async () => {
    const runs: LexRunVerdict[] = [];
    for (let i = 0; i < o.lexRepeats; i++) {
      const profileDir = o.lexProfile ? resolve(RESULTS, `profile-lex-${Date.now()}`) : undefined;
      if (profileDir) mkdirSync(profileDir, { recursive: true });
      if (o.lexRepeats > 1) process.stdout.write(`\nLex run ${i + 1} of ${o.lexRepeats}`);
      runs.push(await runLexBench({ ...o.lexOptions, connections: o.connections, client: o.client, endSilenceMs: o.endSilenceMs, profileDir, trace: o.lexTrace }, RESULTS, live));
    }
    return o.lexRepeats > 1 ? summariseLexRuns(runs, o.lexOptions, RESULTS) : { met: runs[0].met };
  };
  if (o.lex === 'only') {
    await lexSection();
    return;
  }
  const jwtSection = () => runJwtBench(o.quick ? JWT_QUICK : JWT_DEFAULTS, RESULTS, live);
  if (o.jwt === 'only') {
    await jwtSection();
    return;
  }
  const monitoringSection = () => {
    const profileDir = o.monitoringProfile ? resolve(RESULTS, `profile-monitoring-${Date.now()}`) : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    // Each pair and diagnostic run restarts the watchdog: a long diagnostic run is many bounded steps, not one.
    return runMonitoringBench({ ...o.monitoringOptions, connections: o.connections, client: o.client, endSilenceMs: o.endSilenceMs, profileDir }, RESULTS, live, () =>
      watchdog.refresh(),
    );
  };
  if (o.monitoring === 'only') {
    await monitoringSection();
    return;
  }
  if (o.profile) return profile(o);
  if (o.profileLoadgen) {
    loadgenProfileDir = resolve(RESULTS, `profile-loadgen-${Date.now()}`);
    mkdirSync(loadgenProfileDir, { recursive: true });
    inspector.connect();
  }

  const servers: ServerKind[] = o.only ? [o.only] : ['gateway', 'bare'];
  const started = performance.now();
  const rows: LevelResult[] = [];
  const failed = new Set<ServerKind>();
  const skipped: string[] = [];
  const m = machine();
  process.stdout.write(
    `BYOVA bench: levels ${o.levels.join(',')} calls, ${o.durationS} s per call, ${o.connections} connections, end_silence_ms ${o.endSilenceMs}, ` +
      `budget ${o.budgetS} s; ${m.cpus} CPUs (${m.cpuModel}), ${m.memGiB} GiB, node ${m.node}\n`,
  );
  let overheadS = 8; // start-up, warm-up and the last turn's tail; updated from each level
  const runAndReport = async (kind: ServerKind, calls: number, refine = false): Promise<LevelResult | undefined> => {
    const fits = () => (performance.now() - started) / 1000 + o.durationS + overheadS <= o.budgetS;
    if (!fits()) {
      skipped.push(`${kind} @ ${calls}`);
      return undefined;
    }
    const t = performance.now();
    let { result } = await runServerLevel(o, kind, calls);
    overheadS = Math.max(overheadS * 0.5, (performance.now() - t) / 1000 - o.durationS);
    // Something else busy on the box (the machine is shared): the level says little about the server.
    if ((result.otherCpuPct ?? 0) > OTHER_CPU_LIMIT_PCT && fits()) {
      process.stdout.write(`  ${kind.padEnd(7)} ${String(calls).padStart(4)} calls: other processes used ${f(result.otherCpuPct, 0)}% of a core, running the level again\n`);
      const first = result;
      result = (await runServerLevel(o, kind, calls)).result;
      result.rerunAfter = { otherCpuPct: first.otherCpuPct, turnP99Ms: first.turnP99Ms, pass: first.pass };
    }
    if (refine) result.refinement = true;
    rows.push(result);
    process.stdout.write(
      `  ${kind.padEnd(7)} ${String(calls).padStart(4)} calls: turn p99 ${f(result.turnP99Ms, 2)} ms, welcome p99 ${f(result.welcomeP99Ms, 2)} ms, ` +
        `CPU ${f(result.cpuMsPerCallSecond, 2)} ms/call-s (${f(result.cpuPctOfCore, 0)}% core), RSS ${f(result.rssPerCallKB, 0)} KB/call, ` +
        `errors ${result.errors}, loadgen ${f(result.loadgen.cpuPct, 0)}% -> ${result.pass ? 'pass' : `FAIL (${result.failReasons.join(', ')})`}  [${Math.round((performance.now() - started) / 1000)} s]\n`,
    );
    return result;
  };
  const lastPass: Record<ServerKind, number> = { gateway: 0, bare: 0 };
  for (const [i, calls] of o.levels.entries()) {
    // Alternate the order so neither server always runs on a freshly idle machine.
    const order = (i % 2 === 0 ? servers : [...servers].reverse()).filter((k) => !failed.has(k));
    if (order.length === 0) break;
    for (const kind of order) {
      const result = await runAndReport(kind, calls);
      if (!result) continue;
      if (result.pass) {
        lastPass[kind] = calls;
        continue;
      }
      failed.add(kind);
      // One bisection step between the last pass and the first failure, so the sustained figure is not
      // only as fine as the level list.
      const mid = Math.round((lastPass[kind] + calls) / 2 / 10) * 10;
      if (o.refine && lastPass[kind] > 0 && mid > lastPass[kind] && mid < calls && calls - lastPass[kind] > 0.1 * calls) {
        await runAndReport(kind, mid, true);
      }
    }
  }
  const totalS = Math.round((performance.now() - started) / 1000);
  rows.sort((a, b) => a.calls - b.calls || a.server.localeCompare(b.server));
  const summary = summarise(rows);
  const errs = errorLines(rows);
  const lines = summaryLines(summary);
  const skippedLine = skipped.length ? `Not run (time budget ${o.budgetS} s): ${skipped.join(', ')}` : '';

  process.stdout.write(`\n${textTable(rows)}\n${LEGEND}\n\n`);
  if (errs.length) process.stdout.write(`Errors:\n  ${errs.join('\n  ')}\n\n`);
  if (skippedLine) process.stdout.write(`${skippedLine}\n`);
  process.stdout.write(`Total bench time ${totalS} s\n${lines.join('\n')}\n`);

  const json = { when: new Date().toISOString(), machine: m, options: o, p99LimitMs: P99_LIMIT_MS, totalSeconds: totalS, levels: rows, skipped, summary };
  writeFileSync(resolve(RESULTS, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  const md = [
    `# BYOVA gateway bench (${json.when})`,
    '',
    `${m.cpus} CPUs (${m.cpuModel}), ${m.memGiB} GiB, node ${m.node}. Levels ${o.levels.join(', ')}; each call ${o.durationS} s; ` +
      `${o.connections} HTTP/2 connections; end_silence_ms ${o.endSilenceMs}. Latencies in ms. Total ${totalS} s.`,
    '',
    mdTable(rows),
    '',
    LEGEND,
    '',
    ...(errs.length ? ['Errors:', '', ...errs.map((e) => `- ${e}`), ''] : []),
    ...(skippedLine ? [skippedLine, ''] : []),
    ...lines.map((l) => `- ${l}`),
    '',
  ].join('\n');
  writeFileSync(resolve(RESULTS, 'latest.md'), md);
  process.stdout.write(`\nWrote ${resolve(RESULTS, 'latest.json')} and latest.md\n`);
  if (loadgenProfileDir) {
    dumpSourceMaps(resolve(loadgenProfileDir, SOURCEMAPS_FILE));
    process.stdout.write(`\nLoad generator profile (steady windows, ${loadgenProfileDir}):\n${summariseProfile(loadgenProfileDir, REPO)}\n`);
  }
  // Whole runs only (not targeted --only/--profile-loadgen ones); the servers are stopped by now.
  if (o.chunks === 'auto' && !o.only && !o.profileLoadgen) {
    watchdog.refresh();
    await chunkSection();
  }
  if (o.lex === 'auto' && !o.only && !o.profileLoadgen) {
    watchdog.refresh();
    await lexSection();
  }
  if (o.jwt === 'auto' && !o.only && !o.profileLoadgen) {
    watchdog.refresh();
    await jwtSection();
  }
  if (o.monitoring === 'auto' && !o.only && !o.profileLoadgen) {
    watchdog.refresh();
    await monitoringSection();
  }
  if (o.vad === 'auto' && !o.only && !o.profileLoadgen) {
    watchdog.refresh(); // the VAD section gets its own time
    await runVadBench(o.vadOptions, RESULTS);
  }
}

process.once('SIGINT', () => {
  for (const s of live) void s.stop();
  setTimeout(() => process.exit(130), 2000).unref();
});

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
    for (const s of live) void s.stop();
    setTimeout(() => process.exit(1), 2000).unref();
  },
);
