// Soak load: a steady number of whole WxCC-shaped calls, each slot starting a new call as soon as its last one
// ends, until the run's end. Turns are those of the server bench (bench/load.ts: SESSION_START, alternating
// speech and DTMF turns, SESSION_END), plus the faults a long run must absorb: the client cancelling an RPC
// mid-turn, and calls abandoned without SESSION_END (the gateway's idle sweep has to end those).
import { performance } from 'node:perf_hooks';
import type { TurnResult } from '@app/simulator';
import { encodeCall, errorsOf, FRAME_MS, Pacer, Rpc, speechFrames, streamSpeech, type CallRequests, type TurnKind } from '../load';
import { connect, type ClientKind, type Connection } from '../wire';
import { unexpectedStatus } from './verdict';

export interface SoakLoadOptions {
  target: string;
  calls: number;
  /** Calls start no new call after this long, then finish their current turn and hang up. */
  runMs: number;
  /** Each call lasts a duration drawn uniformly from [min, max] ms (then its current turn ends and it hangs up). */
  callMsMin: number;
  callMsMax: number;
  /** Chance that a speech or DTMF turn is cancelled by the client mid-turn. */
  cancelRate: number;
  /** Chance that a call is abandoned: after a random number of turns it stops without SESSION_END. */
  abandonRate: number;
  connections: number;
  client: ClientKind;
  endSilenceMs: number;
  rpcDeadlineMs: number;
  /** Random source (tests pass a seeded one). */
  random?: () => number;
}

export interface SoakLoadResult {
  callsStarted: number;
  callsHungUp: number;
  callsAbandoned: number;
  turns: Record<TurnKind, number>;
  cancelsSent: number;
  /** Cancelled turns whose status was OK: the FINAL won the race. */
  cancelsAfterFinal: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** RPCs refused with REFUSED_STREAM (opened as a GOAWAY crossed) and retried on a fresh connection. */
  refusedRetried: number;
  /** welcome/DTMF: send → FINAL; speech: END_OF_INPUT → FINAL (turns not cancelled). */
  latenciesMs: number[];
  hardStopped: boolean;
}

const SPEECH_MS = 1000;
const TRAILING_SILENCE_MS = 3000;
const DIGITS = '12';
/** Bound on keeping the run's latencies (a 60-minute run at 100 calls has about 300,000 turns). */
const MAX_LATENCIES = 1_000_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export async function runSoakLoad(o: SoakLoadOptions, onError?: (msg: string) => void): Promise<SoakLoadResult> {
  const random = o.random ?? Math.random;
  const speech = speechFrames(SPEECH_MS);
  const speechCount = speech.length;
  const totalFrames = speechCount + Math.ceil(TRAILING_SILENCE_MS / FRAME_MS);
  const conns = Array.from({ length: o.connections }, () => connect(o.client, o.target));
  const open = new Set<Rpc>();
  const pacer = new Pacer(5);
  const t0 = performance.now();
  const stopAt = t0 + o.runMs;
  let stopping = false;
  const res: SoakLoadResult = {
    callsStarted: 0,
    callsHungUp: 0,
    callsAbandoned: 0,
    turns: { welcome: 0, speech: 0, start_of_dtmf: 0, dtmf: 0, hangup: 0 },
    cancelsSent: 0,
    cancelsAfterFinal: 0,
    errors: 0,
    errorKinds: {},
    refusedRetried: 0,
    latenciesMs: [],
    hardStopped: false,
  };
  // Calls finish their turn after stopAt: a speech turn takes at most ~4 s plus the RPC deadline.
  const hardStop = setTimeout(() => {
    stopping = true;
    res.hardStopped = true;
    for (const r of [...open]) r.cancel();
  }, o.runMs + o.rpcDeadlineMs + 10_000);

  /** Records a finished turn; false when it had an unexpected outcome. */
  const record = (kind: TurnKind, rpc: Rpc, r: TurnResult, cancelled: boolean, latency?: number): boolean => {
    res.turns[kind]++;
    let errs: string[];
    if (cancelled) {
      // A cancelled turn has no FINAL to check; only its status tells. OK: the answer came before the cancel.
      errs = unexpectedStatus(r.status.code, true) ? [`${kind} (cancelled): status ${r.status.code} ${r.status.details}`] : [];
      if (r.status.code === 0) res.cancelsAfterFinal++;
    } else {
      errs = errorsOf(kind, r, rpc);
      if (errs.length === 0 && latency !== undefined && res.latenciesMs.length < MAX_LATENCIES) res.latenciesMs.push(latency);
    }
    for (const e of errs) {
      res.errors++;
      const key = e.replace(/\d+/g, '#');
      res.errorKinds[key] = (res.errorKinds[key] ?? 0) + 1;
      onError?.(e);
    }
    return errs.length === 0;
  };

  const eventTurn = async (conn: Connection, kind: TurnKind, label: string, req: Buffer, cancelAfterMs?: number): Promise<boolean> => {
    const at = performance.now();
    const rpc = new Rpc(conn, label, o.rpcDeadlineMs, open);
    rpc.write(req);
    let timer: NodeJS.Timeout | undefined;
    if (cancelAfterMs === undefined) rpc.halfClose();
    else {
      // Mid-turn: the digits are sent, the RPC is still open (not half-closed) when the client cancels it.
      res.cancelsSent++;
      timer = setTimeout(() => rpc.cancel(), cancelAfterMs);
    }
    const r = await rpc.result;
    clearTimeout(timer);
    return record(kind, rpc, r, cancelAfterMs !== undefined, rpc.finalAt !== undefined ? rpc.finalAt - at : undefined);
  };

  const speechTurn = async (conn: Connection, req: CallRequests, cancelAfterMs?: number): Promise<boolean> => {
    const at = performance.now();
    const rpc = new Rpc(conn, 'audio', o.rpcDeadlineMs, open);
    const { stop } = streamSpeech(pacer, rpc, req, at, totalFrames, speechCount);
    let timer: NodeJS.Timeout | undefined;
    if (cancelAfterMs !== undefined) {
      res.cancelsSent++;
      timer = setTimeout(() => rpc.cancel(), cancelAfterMs);
    }
    const r = await rpc.result;
    clearTimeout(timer);
    stop();
    const latency = rpc.eoiAt !== undefined && rpc.finalAt !== undefined ? rpc.finalAt - rpc.eoiAt : undefined;
    return record('speech', rpc, r, cancelAfterMs !== undefined, latency);
  };

  const runCall = async (slot: number, n: number) => {
    res.callsStarted++;
    const conn = conns[(slot + n) % conns.length];
    const conversationId = `soak-${process.pid}-${slot}-${n}`;
    const req = encodeCall(conn, conversationId, speech, DIGITS);
    const callEnd = performance.now() + o.callMsMin + random() * (o.callMsMax - o.callMsMin);
    // Abandoned calls stop after 0-3 turns past the welcome, without SESSION_END.
    const abandonAfter = random() < o.abandonRate ? Math.floor(random() * 4) : -1;
    const cancelDraw = () => random() < o.cancelRate;
    let ok = await eventTurn(conn, 'welcome', 'SESSION_START', req.sessionStart);
    let speechNext = n % 2 === 0;
    let turns = 0;
    while (ok && !stopping && performance.now() < callEnd && performance.now() < stopAt) {
      if (turns === abandonAfter) break;
      // Speech: cancelled while the caller talks or in the silence before END_OF_INPUT (100-1500 ms in).
      if (speechNext) ok = await speechTurn(conn, req, cancelDraw() ? 100 + random() * 1400 : undefined);
      else {
        ok = await eventTurn(conn, 'start_of_dtmf', 'START_OF_DTMF', req.startOfDtmf);
        // DTMF: the digits RPC is cancelled 0-30 ms after the digits, racing the FINAL.
        if (ok) ok = await eventTurn(conn, 'dtmf', 'dtmf', req.dtmf, cancelDraw() ? random() * 30 : undefined);
      }
      speechNext = !speechNext;
      turns++;
    }
    if (turns === abandonAfter && !stopping) {
      res.callsAbandoned++;
      return;
    }
    if (!stopping) {
      await eventTurn(conn, 'hangup', 'SESSION_END', req.sessionEnd);
      res.callsHungUp++;
    }
    // A failing gateway must not turn a slot into a tight loop.
    if (!ok) await sleep(200);
  };

  const runSlot = async (slot: number) => {
    // Staggered over the first 3 s (or the run, if shorter), so calls do not move in lockstep.
    await sleep((slot * Math.min(3000, o.runMs / 4)) / o.calls);
    for (let n = 0; !stopping && performance.now() < stopAt; n++) await runCall(slot, n);
  };

  await Promise.all(Array.from({ length: o.calls }, (_, i) => runSlot(i)));
  clearTimeout(hardStop);
  pacer.stop();
  for (const c of conns) {
    res.refusedRetried += c.refusedRetried ?? 0;
    c.close();
  }
  return res;
}
