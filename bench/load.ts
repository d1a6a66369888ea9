// Load generator: N concurrent WxCC-like calls against one BYOVA server.
// Same protocol behaviour as ByovaCaller (one RPC per turn, format on the first frame only, real-time
// 20 ms frames, half-close at END_OF_INPUT, START_OF_DTMF then digits), but built to stay cheap at
// hundreds of calls: requests are encoded once per call, and one shared ticker paces every stream
// instead of a timer and a promise per frame per call. Responses still go through TurnRecorder, so
// the simulator's protocol checks (violations) apply unchanged.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { status as grpcStatus } from '@grpc/grpc-js';
import { encodeFromPcm16 } from '@app/audio';
import { EventInput_EventType, OutputEvent_EventType, VoiceVARequest, VoiceVirtualAgentService, type VoiceVAResponse } from '@app/proto';
import { dtmfDigits, isSignalResponse, TurnRecorder, voiceInput, voiceVARequest, type TurnResult } from '@app/simulator';
import { connect, type ClientKind, type Connection, type Wire } from './wire';

export type TurnKind = 'welcome' | 'speech' | 'start_of_dtmf' | 'dtmf' | 'hangup';

export interface TurnSample {
  kind: TurnKind;
  /** ms since the level started, at the turn's first send. */
  at: number;
  /** welcome/dtmf: send → FINAL; speech: END_OF_INPUT → FINAL. */
  latencyMs?: number;
  /** speech: the frame that completes end_silence_ms sent → END_OF_INPUT received (server keeping up). */
  eoiDelayMs?: number;
  /** The FINAL's arrival on the epoch clock shared by the bench's processes (the Lex section splits legs by it). */
  finalEpochMs?: number;
  /** The call's conversation id (the Lex section matches turns to the fake's requests by it). */
  conversationId?: string;
  errors: string[];
}

export interface LevelOptions {
  target: string;
  calls: number;
  durationMs: number;
  rampMs: number;
  /** Steady window: [rampMs + settleMs, durationMs] after the level starts. */
  settleMs: number;
  connections: number;
  client: ClientKind;
  speechMs: number;
  endSilenceMs: number;
  trailingSilenceMs: number;
  rpcDeadlineMs: number;
  tickMs: number;
  dtmfDigits: string;
  /** Hard stop: open RPCs are cancelled and the rest counted as errors. */
  levelTimeoutMs: number;
  /** DTMF turns only (no caller audio streamed): a diagnostic for the chunk section. */
  dtmfOnly?: boolean;
  /** Chunk section: every response as received (epoch ms, before the recorder sees it). */
  onResponse?: (r: VoiceVAResponse, receivedAt: number) => void;
  /**
   * A pacer shared by levels run side by side (the monitoring section), which its owner stops: it writes to both
   * servers call by call, where one pacer per level would always write all of the first level's frames first.
   */
  pacer?: Pacer;
}

export interface LevelHooks {
  steadyStart(): void;
  steadyEnd(): void;
}

export interface LevelRun {
  samples: TurnSample[];
  wallMs: number;
  callsCompleted: number;
  timedOut: boolean;
  /** Load generator (this process) during the steady window. */
  loadgen: { cpuPct: number; loopDelayP99Ms: number; loopDelayMaxMs: number };
}

export const FRAME_MS = 20;
const SAMPLE_RATE = 8000;
const FRAME_BYTES = (SAMPLE_RATE * FRAME_MS) / 1000;
const def = VoiceVirtualAgentService.processCallerInput;
const EOI = OutputEvent_EventType.END_OF_INPUT;

/** A loud two-tone burst (about -18 dBFS), as mu-law 8 kHz frames. */
export function speechFrames(speechMs: number): Uint8Array[] {
  const n = Math.round((speechMs * SAMPLE_RATE) / 1000 / FRAME_BYTES) * FRAME_BYTES;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    pcm[i] = Math.round(4000 * (Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE) + Math.sin((2 * Math.PI * 1230 * i) / SAMPLE_RATE)));
  }
  const mulaw = encodeFromPcm16(pcm, 'mulaw');
  const frames: Uint8Array[] = [];
  for (let o = 0; o < n; o += FRAME_BYTES) frames.push(mulaw.subarray(o, o + FRAME_BYTES));
  return frames;
}

/** Every request a call sends, encoded once. */
export interface CallRequests {
  speech: Buffer[]; // [0] declares the format, as WxCC does
  silence: Buffer;
  sessionStart: Buffer;
  sessionEnd: Buffer;
  startOfDtmf: Buffer;
  dtmf: Buffer;
}

export function encodeCall(conn: Connection, conversationId: string, speech: Uint8Array[], digits: string): CallRequests {
  const enc = (r: Partial<VoiceVARequest>) => conn.frame(def.requestSerialize(voiceVARequest({ conversationId, ...r })));
  const event = (eventType: EventInput_EventType) => enc({ eventInput: { eventType, name: '', parameters: undefined } });
  const format = { encoding: 'mulaw' as const, sampleRate: SAMPLE_RATE };
  return {
    speech: speech.map((f, i) => enc({ audioInput: voiceInput(f, i === 0 ? format : undefined) })),
    silence: enc({ audioInput: voiceInput(new Uint8Array(FRAME_BYTES).fill(0xff)) }),
    sessionStart: event(EventInput_EventType.SESSION_START),
    sessionEnd: event(EventInput_EventType.SESSION_END),
    startOfDtmf: event(EventInput_EventType.START_OF_DTMF),
    dtmf: enc({ dtmfInput: { dtmfEvents: dtmfDigits(digits) } }),
  };
}

/** One ProcessCallerInput RPC, with receive times of END_OF_INPUT and the FINAL answer. */
export class Rpc {
  readonly rec: TurnRecorder;
  readonly wire: Wire;
  readonly result: Promise<TurnResult>;
  eoiAt?: number;
  finalAt?: number;
  ended = false;
  private halfClosed = false;
  onEoi?: () => void;

  constructor(conn: Connection, label: string, deadlineMs: number, open: Set<Rpc>, onResponse?: LevelOptions['onResponse']) {
    this.rec = new TurnRecorder(label);
    open.add(this);
    let resolve!: (r: TurnResult) => void;
    this.result = new Promise<TurnResult>((r) => (resolve = r));
    this.wire = conn.open(deadlineMs, {
      message: (r) => {
        const now = performance.now();
        onResponse?.(r, performance.timeOrigin + now);
        this.rec.onResponse(r);
        if (this.eoiAt === undefined && r.outputEvents.some((e) => e.eventType === EOI)) {
          this.eoiAt = now;
          this.onEoi?.();
        }
        if (this.finalAt === undefined && r.responseType === 0 && !isSignalResponse(r)) this.finalAt = now;
      },
      status: (code, details) => {
        if (this.ended) return;
        this.ended = true;
        open.delete(this);
        this.onEoi?.();
        resolve(this.rec.finish({ code, details }));
      },
    });
  }

  write(b: Buffer): boolean {
    return this.ended || this.halfClosed ? true : this.wire.write(b);
  }

  halfClose(): void {
    if (this.halfClosed || this.ended) return;
    this.halfClosed = true;
    this.wire.end();
  }

  cancel(): void {
    if (!this.ended) this.wire.cancel();
  }
}

export interface Sender {
  pump(now: number): void;
}

/** One interval for all audio streams; each stream keeps its own drift-free schedule (and phase). */
export class Pacer {
  private readonly senders = new Set<Sender>();
  private readonly timer: NodeJS.Timeout;
  constructor(tickMs: number) {
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const s of this.senders) s.pump(now);
    }, tickMs);
  }
  add(s: Sender): void {
    this.senders.add(s);
  }
  remove(s: Sender): void {
    this.senders.delete(s);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Streams a speech turn's frames in real time on `rpc` (drift-free from `at`), pausing while the wire is full, and
 * stops (half-closes, as WxCC does) at END_OF_INPUT, at the RPC's end or after the last frame.
 */
export function streamSpeech(
  pacer: Pacer,
  rpc: Rpc,
  req: CallRequests,
  at: number,
  totalFrames: number,
  speechCount: number,
  onFrame?: (index: number) => void,
): { stop(): void } {
  let next = 0;
  let blocked = false;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    pacer.remove(sender);
    rpc.halfClose(); // WxCC stops streaming at END_OF_INPUT and half-closes
  };
  const sender: Sender = {
    pump(now) {
      if (stopped || blocked) return;
      while (next < totalFrames && at + next * FRAME_MS <= now) {
        if (rpc.eoiAt !== undefined || rpc.ended) return stop();
        const ok = rpc.write(next < speechCount ? req.speech[next] : req.silence);
        onFrame?.(next);
        next++;
        if (!ok) {
          blocked = true;
          rpc.wire.onceDrain(() => (blocked = false));
          return;
        }
      }
      if (next >= totalFrames) stop();
    },
  };
  rpc.onEoi = stop;
  sender.pump(at);
  if (!stopped) pacer.add(sender);
  return { stop };
}

export function errorsOf(kind: TurnKind, r: TurnResult, rpc: Rpc): string[] {
  const errs: string[] = [];
  if (r.status.code !== 0) errs.push(`${kind}: status ${grpcStatus[r.status.code] ?? r.status.code}${r.status.details ? ` (${r.status.details})` : ''}`);
  for (const v of r.violations) errs.push(`${kind}: ${v}`);
  if (r.status.code === 0) {
    if ((kind === 'welcome' || kind === 'speech' || kind === 'dtmf') && rpc.finalAt === undefined) errs.push(`${kind}: no FINAL`);
    if (kind === 'speech' && rpc.eoiAt === undefined) errs.push('speech: no END_OF_INPUT');
  }
  return errs;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** The standard call mix of a level (the server bench and the chunk section share it). */
export function standardLevel(
  o: { connections: number; client: LevelOptions['client']; endSilenceMs: number },
  target: string,
  calls: number,
  durationS: number,
): LevelOptions {
  const durationMs = durationS * 1000;
  return {
    target,
    calls,
    durationMs,
    rampMs: Math.min(3000, durationMs / 4),
    settleMs: 500,
    connections: o.connections,
    client: o.client,
    speechMs: 1000,
    endSilenceMs: o.endSilenceMs,
    trailingSilenceMs: 3000,
    rpcDeadlineMs: 10_000,
    tickMs: 5,
    dtmfDigits: '12',
    levelTimeoutMs: durationMs + 30_000,
  };
}

/** Before any measured level: 8 calls of 1 s, so the JIT and the first connections count in none of them. */
export function warmUp(level: LevelOptions): Promise<LevelRun> {
  return runLevel({ ...level, calls: 8, durationMs: 1000, rampMs: 200, levelTimeoutMs: 20_000 }, { steadyStart() {}, steadyEnd() {} });
}

export async function runLevel(o: LevelOptions, hooks: LevelHooks): Promise<LevelRun> {
  const speech = speechFrames(o.speechMs);
  const speechCount = speech.length;
  const totalFrames = speechCount + Math.ceil(o.trailingSilenceMs / FRAME_MS);
  // The gate ends speech on the endSilenceMs/20-th quiet window after the burst.
  const eoiFrame = speechCount + Math.ceil(o.endSilenceMs / FRAME_MS) - 1;
  const conns = Array.from({ length: o.connections }, () => connect(o.client, o.target));
  const open = new Set<Rpc>();
  const pacer = o.pacer ?? new Pacer(o.tickMs);
  const samples: TurnSample[] = [];
  const t0 = performance.now();
  let stopping = false;
  let callsCompleted = 0;

  const loop = monitorEventLoopDelay({ resolution: 10 });
  let cpu0 = process.cpuUsage();
  let steady0 = 0;
  let loadgen = { cpuPct: 0, loopDelayP99Ms: 0, loopDelayMaxMs: 0 };
  const steadyStartTimer = setTimeout(() => {
    hooks.steadyStart();
    cpu0 = process.cpuUsage();
    steady0 = performance.now();
    loop.enable();
  }, o.rampMs + o.settleMs);
  const steadyEndTimer = setTimeout(() => {
    hooks.steadyEnd();
    const c = process.cpuUsage(cpu0);
    loop.disable();
    loadgen = {
      cpuPct: ((c.user + c.system) / 1000 / (performance.now() - steady0)) * 100,
      // Samples are 10 ms timer intervals: the resolution itself is not lag.
      loopDelayP99Ms: Math.max(0, loop.percentile(99) / 1e6 - 10),
      loopDelayMaxMs: Math.max(0, loop.max / 1e6 - 10),
    };
  }, o.durationMs);
  const hardStop = setTimeout(() => {
    stopping = true;
    for (const r of [...open]) r.cancel();
  }, o.levelTimeoutMs);

  const record = (kind: TurnKind, at: number, rpc: Rpc, r: TurnResult, extra: Partial<TurnSample> = {}) => {
    const s: TurnSample = { kind, at: at - t0, errors: errorsOf(kind, r, rpc), ...extra };
    samples.push(s);
    return s;
  };

  const eventTurn = async (client: Connection, kind: TurnKind, label: string, req: Buffer, answered: boolean) => {
    const at = performance.now();
    const rpc = new Rpc(client, label, o.rpcDeadlineMs, open, o.onResponse);
    rpc.write(req);
    rpc.halfClose();
    const r = await rpc.result;
    return record(kind, at, rpc, r, answered && rpc.finalAt !== undefined ? { latencyMs: rpc.finalAt - at, finalEpochMs: performance.timeOrigin + rpc.finalAt } : {});
  };

  const speechTurn = async (client: Connection, req: CallRequests) => {
    const at = performance.now();
    const rpc = new Rpc(client, 'audio', o.rpcDeadlineMs, open, o.onResponse);
    let eoiFrameSentAt: number | undefined;
    const stream = streamSpeech(pacer, rpc, req, at, totalFrames, speechCount, (i) => {
      if (i === eoiFrame) eoiFrameSentAt = performance.now();
    });
    const stop = stream.stop;
    const r = await rpc.result;
    stop();
    const extra: Partial<TurnSample> = {};
    if (rpc.eoiAt !== undefined && rpc.finalAt !== undefined) {
      extra.latencyMs = rpc.finalAt - rpc.eoiAt;
      extra.finalEpochMs = performance.timeOrigin + rpc.finalAt;
    }
    if (rpc.eoiAt !== undefined && eoiFrameSentAt !== undefined) extra.eoiDelayMs = rpc.eoiAt - eoiFrameSentAt;
    return record('speech', at, rpc, r, extra);
  };

  const runCall = async (i: number) => {
    await sleep(t0 + (i * o.rampMs) / o.calls - performance.now());
    const client = conns[i % conns.length];
    const conversationId = `bench-${process.pid}-${Math.round(t0)}-${i}`;
    const req = encodeCall(client, conversationId, speech, o.dtmfDigits);
    const callEnd = performance.now() + o.durationMs;
    let failures = 0;
    // A failing server must not turn a call into a tight retry loop.
    const check = async (s: TurnSample) => {
      s.conversationId = conversationId;
      if (s.errors.length === 0) return true;
      if (++failures >= 5 || stopping) return false;
      await sleep(100);
      return true;
    };
    if (!(await check(await eventTurn(client, 'welcome', 'SESSION_START', req.sessionStart, true)))) return;
    // Half the calls open with DTMF, so turn types are mixed at any moment (and warm-up sees both).
    let speechNext = i % 2 === 0 && !o.dtmfOnly;
    while (performance.now() < callEnd && !stopping) {
      if (speechNext) {
        if (!(await check(await speechTurn(client, req)))) return;
      } else {
        if (!(await check(await eventTurn(client, 'start_of_dtmf', 'START_OF_DTMF', req.startOfDtmf, false)))) return;
        if (!(await check(await eventTurn(client, 'dtmf', 'dtmf', req.dtmf, true)))) return;
      }
      speechNext = !speechNext && !o.dtmfOnly;
    }
    if (!stopping) await eventTurn(client, 'hangup', 'SESSION_END', req.sessionEnd, false);
    callsCompleted++;
  };

  await Promise.all(Array.from({ length: o.calls }, (_, i) => runCall(i)));
  const wallMs = performance.now() - t0;
  clearTimeout(steadyStartTimer);
  clearTimeout(steadyEndTimer);
  clearTimeout(hardStop);
  loop.disable();
  if (!o.pacer) pacer.stop();
  for (const c of conns) c.close();
  return { samples, wallMs, callsCompleted, timedOut: stopping, loadgen };
}
