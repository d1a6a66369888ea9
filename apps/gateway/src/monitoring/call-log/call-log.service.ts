import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { MonitoringSection } from '@app/config';
import { type EngineEvent, EngineEvents } from '@app/engine';
import type { CallLogReader } from '../monitoring-readers';
import { ChangeCollector, type ChangeSummary } from './change-summary';
import { Ring } from './ring';
import { DEFAULT_PAGE, MAX_PAGE } from './call-log.types';
import type {
  CallLogChange,
  CallLogChangeId,
  ConnectionEvent,
  ConversationDetail,
  ConversationSummary,
  ListOptions,
  MinuteStats,
  Page,
  ReplyRecord,
  RpcRecord,
} from './call-log.types';

/** RPCs kept per call timeline: a call stuck in a loop must not grow without bound. */
export const MAX_TIMELINE_RPCS = 200;
/** Replies kept per RPC, prompts per reply, characters per prompt text. */
const MAX_REPLIES_PER_RPC = 20;
const MAX_PROMPTS_PER_REPLY = 20;
const MAX_TEXT = 1000;
/** The Python gateway's connection-event ring (it kept 100, evicted by per-frame noise; ours has no per-frame events). */
export const MAX_CONNECTION_EVENTS = 1000;
/** How often at most the dashboard's feed of changes sends a summary. */
export const CHANGE_SUMMARY_MS = 250;
/** Latency samples kept per minute for its percentiles (a uniform sample beyond that). */
const MAX_SAMPLES_PER_MINUTE = 2000;
const MINUTE = 60_000;
const HOUR_MINUTES = 60;

/**
 * A call as the log holds it: the summary fields plus the timeline. An RPC's record is an object while the RPC
 * runs and its JSON text once it ended: a call's finished RPCs are then one string each, not a dozen objects that
 * every full garbage collection traces for as long as the call lasts. `seqs` holds each record's seq.
 */
interface Entry extends ConversationSummary {
  rpcs: Array<RpcRecord | string>;
  seqs: number[];
  droppedRpcs: number;
}

/**
 * An ended call as the history keeps it: its summary, and its timeline as the RPCs' JSON texts. A thousand ended
 * calls as object graphs are tens of thousands of objects every garbage collection traces; as texts each RPC is
 * one string. They are the texts the call already held, not joined into one: a join would copy every call's
 * timeline once more as it ends (a young copy the scavenger then promotes), and reads of a call are rare.
 */
interface EndedEntry {
  summary: ConversationSummary;
  rpcs: string[];
  droppedRpcs: number;
}

/** One subscriber of changeSummaries: its collector's entry, and its end when the log closes. */
interface SummarySink {
  add(kind: CallLogChangeId['kind'], id: string): void;
  complete(): void;
}

interface MinuteBucket {
  minute: number;
  started: number;
  ended: number;
  replies: number;
  samples: number[];
}

const copySummary = (e: Entry): ConversationSummary => {
  const { rpcs: _rpcs, seqs: _seqs, droppedRpcs: _dropped, currentRpc, ...rest } = e;
  return currentRpc ? { ...rest, currentRpc: { ...currentRpc } } : rest;
};

const clip = (s: string | undefined) => (s !== undefined && s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);

/**
 * The string as one flat piece. JSON.stringify returns a tree of pieces (for an RPC's record about a dozen);
 * converting it to a number makes V8 flatten it in place, so the log keeps one string and not the tree (about
 * 700 bytes an RPC instead of 950).
 */
let flattened = 0;
function flat(s: string): string {
  flattened = Number(s); // kept, so the conversion is not optimised away
  return s;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * The gateway's call log, fed by the engine's events: active calls with their timelines, a bounded history
 * of ended ones (`monitoring.history_size`), per-minute counts and reply latency for the last hour, and a
 * stream of changes. Everything here is bounded and updated per RPC event, never per audio frame.
 */
@Injectable()
export class CallLogService implements CallLogReader, OnModuleInit, OnModuleDestroy {
  private readonly live = new Map<string, Entry>();
  private readonly ended: Ring<EndedEntry>;
  private readonly connEvents = new Ring<ConnectionEvent>(MAX_CONNECTION_EVENTS);
  private readonly minutes = new Map<number, MinuteBucket>();
  private readonly subject = new Subject<CallLogChange>();
  private started = 0;
  private unsubscribe?: () => void;

  /** Every change of a call: started, updated (an RPC, input, reply), ended. Hot: only changes after subscribing. */
  readonly changes: Observable<CallLogChange> = this.subject.asObservable();
  /**
   * The summaries' collectors, fed each change directly: at 150 calls that is about 1,400 changes a second, and
   * through a Subject each cost an allocation and rxjs's wrappers on the gateway's thread.
   */
  private readonly summarySinks = new Set<SummarySink>();

  /**
   * The changes summed up, one summary at most every `periodMs` while observed: the dashboard's feed (it crosses
   * to the monitoring HTTP thread as one message, not one per change).
   */
  changeSummaries(periodMs = CHANGE_SUMMARY_MS): Observable<ChangeSummary> {
    return new Observable<ChangeSummary>((sub) => {
      const sum = new ChangeCollector();
      let timer: NodeJS.Timeout | undefined;
      const emit = () => {
        timer = undefined;
        if (!sum.empty) sub.next(sum.take());
      };
      const sink: SummarySink = {
        add: (kind, id) => {
          sum.add(kind, id);
          if (timer === undefined) (timer = setTimeout(emit, periodMs)).unref();
        },
        complete: () => sub.complete(),
      };
      this.summarySinks.add(sink);
      return () => {
        this.summarySinks.delete(sink);
        clearTimeout(timer);
      };
    });
  }

  /** Whether anything observes the changes (the dashboard's feed): nothing is built for them otherwise. */
  get watched(): boolean {
    return this.summarySinks.size > 0;
  }

  constructor(
    private readonly events: EngineEvents,
    private readonly config: MonitoringSection,
  ) {
    this.ended = new Ring<EndedEntry>(config.history_size);
  }

  onModuleInit(): void {
    this.events.capturePayloads = this.config.include_payloads;
    this.unsubscribe = this.events.subscribe((e) => this.onEvent(e));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.subject.complete();
    for (const s of [...this.summarySinks]) s.complete();
    this.summarySinks.clear();
  }

  // ---- reading (each first takes in the engine's events not yet delivered) ----

  /** Active calls, oldest first, optionally of one agent. */
  active(opts: ListOptions = {}): Page<ConversationSummary> {
    this.events.flush();
    return page(this.live.values(), opts, (e) => e, copySummary);
  }

  /** Recently ended calls, newest first, optionally of one agent. */
  history(opts: ListOptions = {}): Page<ConversationSummary> {
    this.events.flush();
    return page(this.ended.newestFirst(), opts, (e) => e.summary, (e) => ({ ...e.summary }));
  }

  /** A call (active, or still in the history) with its timeline; undefined when unknown. */
  get(id: string): ConversationDetail | undefined {
    this.events.flush();
    const live = this.live.get(id);
    if (live !== undefined) {
      const rpcs = live.rpcs.map((r) => (typeof r === 'string' ? (JSON.parse(r) as RpcRecord) : structuredClone(r)));
      return { ...copySummary(live), rpcs, droppedRpcs: live.droppedRpcs };
    }
    const ended = this.findEnded(id);
    if (ended === undefined) return undefined;
    return { ...ended.summary, droppedRpcs: ended.droppedRpcs, rpcs: ended.rpcs.map((r) => JSON.parse(r) as RpcRecord) };
  }

  /** Calls active now, started since start-up, and ended calls held in the history. */
  counts(): { active: number; total: number; history: number } {
    this.events.flush();
    return { active: this.live.size, total: this.started, history: this.ended.size };
  }

  /** The last 60 minutes, oldest first, the current (partial) minute last. */
  lastHour(now = Date.now()): MinuteStats[] {
    this.events.flush();
    const current = Math.floor(now / MINUTE);
    const out: MinuteStats[] = [];
    for (let m = current - HOUR_MINUTES + 1; m <= current; m++) {
      const b = this.minutes.get(m);
      const stats: MinuteStats = { minute: m * MINUTE, started: b?.started ?? 0, ended: b?.ended ?? 0, replies: b?.replies ?? 0 };
      if (b && b.samples.length > 0) {
        const sorted = [...b.samples].sort((x, y) => x - y);
        stats.firstReplyP50Ms = percentile(sorted, 50);
        stats.firstReplyP95Ms = percentile(sorted, 95);
      }
      out.push(stats);
    }
    return out;
  }

  /** The Python gateway's connection events (start, message per RPC, terminal, end), oldest first. */
  connectionEvents(): ConnectionEvent[] {
    this.events.flush();
    return [...this.connEvents.oldestFirst()].map((e) => ({ ...e }));
  }

  private findEnded(id: string): EndedEntry | undefined {
    for (const e of this.ended.newestFirst()) if (e.summary.id === id) return e;
    return undefined;
  }

  // ---- bookkeeping ----

  private onEvent(e: EngineEvent): void {
    if (e.type === 'conversation_started') return this.onStarted(e);
    if (e.type === 'connector_call') return;
    const entry = this.live.get(e.conversationId);
    if (entry === undefined) return;
    entry.lastActivityAt = e.at;
    switch (e.type) {
      case 'conversation_ended':
        return this.onEnded(entry, e);
      case 'rpc_started': {
        entry.turns++;
        entry.currentRpc = { seq: e.rpc, startedAt: e.at };
        if (entry.rpcs.length < MAX_TIMELINE_RPCS) {
          entry.rpcs.push({ seq: e.rpc, method: e.method, startedAt: e.at, replies: [] });
          entry.seqs.push(e.rpc);
        } else entry.droppedRpcs++;
        this.connectionEvent('message', entry, e.at);
        break;
      }
      case 'rpc_input': {
        const r = this.rpc(entry, e.rpc);
        if (r && r.input === undefined) r.input = e.input;
        if (entry.currentRpc?.seq === e.rpc) entry.currentRpc.input = e.input.kind;
        break;
      }
      case 'speech_started': {
        const r = this.rpc(entry, e.rpc);
        if (r) r.speechStartedAt = e.at;
        break;
      }
      case 'speech_ended': {
        const r = this.rpc(entry, e.rpc);
        if (r) {
          r.speechEndedAt = e.at;
          if (e.utteranceMs > 0) r.utteranceMs = e.utteranceMs;
        }
        break;
      }
      case 'no_input': {
        const r = this.rpc(entry, e.rpc);
        if (r) r.noInputAt = e.at;
        break;
      }
      case 'reply':
        this.onReply(entry, e);
        break;
      case 'rpc_ended': {
        const i = this.rpcIndex(entry, e.rpc);
        const r = i < 0 ? undefined : this.rpcAt(entry, i);
        if (r) {
          r.endedAt = e.at;
          r.status = e.status;
          r.durationMs = e.durationMs;
          entry.rpcs[i] = flat(JSON.stringify(r));
        }
        if (entry.currentRpc?.seq === e.rpc) entry.currentRpc = undefined;
        break;
      }
    }
    // The copy is made only for a subscriber (a dashboard): most updates have none.
    if (this.subject.observed) this.subject.next({ kind: 'updated', conversation: copySummary(entry) });
    if (this.summarySinks.size > 0) this.changed('updated', entry.id);
  }

  private changed(kind: CallLogChangeId['kind'], id: string): void {
    for (const s of this.summarySinks) s.add(kind, id);
  }

  private onStarted(e: Extract<EngineEvent, { type: 'conversation_started' }>): void {
    const entry: Entry = {
      id: e.conversationId,
      agentId: e.agentId,
      connectorId: e.connectorId,
      customerOrgId: e.customerOrgId,
      startedAt: e.at,
      lastActivityAt: e.at,
      turns: 0,
      state: 'active',
      welcomeSent: false,
      rpcs: [],
      seqs: [],
      droppedRpcs: 0,
    };
    this.live.set(entry.id, entry);
    this.started++;
    this.bucket(e.at).started++;
    this.connectionEvent('start', entry, e.at);
    this.subject.next({ kind: 'started', conversation: copySummary(entry) });
    this.changed('started', entry.id);
  }

  private onEnded(entry: Entry, e: Extract<EngineEvent, { type: 'conversation_ended' }>): void {
    this.live.delete(entry.id);
    entry.state = 'ended';
    entry.endedAt = e.at;
    entry.endReason = e.reason;
    entry.durationMs = e.durationMs;
    entry.currentRpc = undefined;
    const summary = copySummary(entry);
    this.ended.push({ summary, rpcs: rpcTexts(entry.rpcs), droppedRpcs: entry.droppedRpcs });
    this.bucket(e.at).ended++;
    this.connectionEvent('end', entry, e.at, { reason: e.reason });
    this.subject.next({ kind: 'ended', conversation: { ...summary } });
    this.changed('ended', entry.id);
  }

  private onReply(entry: Entry, e: Extract<EngineEvent, { type: 'reply' }>): void {
    if (e.welcome) entry.welcomeSent = true;
    const r = this.rpc(entry, e.rpc);
    if (r && r.replies.length < MAX_REPLIES_PER_RPC) {
      // The event's objects are the engine's fresh copies: kept as they are, only long texts clipped.
      const prompts = e.reply.prompts.length > MAX_PROMPTS_PER_REPLY ? e.reply.prompts.slice(0, MAX_PROMPTS_PER_REPLY) : e.reply.prompts;
      const reply: ReplyRecord = {
        at: e.at,
        prompts: prompts.some((p) => p.text !== undefined && p.text.length > MAX_TEXT) ? prompts.map((p) => ({ ...p, text: clip(p.text) })) : prompts,
        events: e.reply.events,
        input: e.reply.input,
        apology: e.reply.apology,
        latencyMs: e.latencyMs,
      };
      r.replies.push(reply);
    }
    // The welcome's latency is its own measure (metrics); the chart shows the caller's turns.
    if (e.latencyMs !== undefined && !e.welcome) {
      const b = this.bucket(e.at);
      b.replies++;
      if (b.samples.length < MAX_SAMPLES_PER_MINUTE) b.samples.push(e.latencyMs);
      else {
        const j = Math.floor(Math.random() * b.replies);
        if (j < MAX_SAMPLES_PER_MINUTE) b.samples[j] = e.latencyMs;
      }
    }
    for (const ev of e.reply.events) {
      if (ev.type === 'SESSION_END' || ev.type === 'TRANSFER_TO_AGENT') this.connectionEvent('terminal', entry, e.at, { outcome: ev.type, name: ev.name });
    }
  }

  /** The RPC record of `seq` (as an object, to be updated), or undefined when the timeline does not hold it. */
  private rpc(entry: Entry, seq: number): RpcRecord | undefined {
    const i = this.rpcIndex(entry, seq);
    return i < 0 ? undefined : this.rpcAt(entry, i);
  }

  /** The last ones are searched first: the running RPC is nearly always last. */
  private rpcIndex(entry: Entry, seq: number): number {
    const seqs = entry.seqs;
    for (let i = seqs.length - 1; i >= 0; i--) if (seqs[i] === seq) return i;
    return -1;
  }

  /** The record at `i` as an object; an ended RPC's text is taken back (an event after its end: rare). */
  private rpcAt(entry: Entry, i: number): RpcRecord {
    const r = entry.rpcs[i];
    if (typeof r !== 'string') return r;
    const record = JSON.parse(r) as RpcRecord;
    entry.rpcs[i] = record;
    return record;
  }

  private bucket(at: number): MinuteBucket {
    const minute = Math.floor(at / MINUTE);
    let b = this.minutes.get(minute);
    if (b === undefined) {
      b = { minute, started: 0, ended: 0, replies: 0, samples: [] };
      this.minutes.set(minute, b);
      for (const m of this.minutes.keys()) if (m <= minute - HOUR_MINUTES) this.minutes.delete(m);
    }
    return b;
  }

  private connectionEvent(type: ConnectionEvent['event_type'], entry: Entry, at: number, extra: Partial<ConnectionEvent> = {}): void {
    this.connEvents.push({ event_type: type, conversation_id: entry.id, agent_id: entry.agentId, timestamp: at / 1000, ...extra });
  }
}

/** An ended call's RPCs as texts, in the array the call held (it is not used again): only a running RPC's is written. */
function rpcTexts(rpcs: Array<RpcRecord | string>): string[] {
  for (let i = 0; i < rpcs.length; i++) {
    const r = rpcs[i];
    if (typeof r !== 'string') rpcs[i] = flat(JSON.stringify(r));
  }
  return rpcs as string[];
}

function page<E, T>(source: Iterable<E>, opts: ListOptions, summaryOf: (e: E) => ConversationSummary, map: (e: E) => T): Page<T> {
  const offset = opts.offset ?? 0;
  const limit = Math.min(opts.limit ?? DEFAULT_PAGE, MAX_PAGE);
  const items: T[] = [];
  let total = 0;
  for (const e of source) {
    if (opts.agentId !== undefined && summaryOf(e).agentId !== opts.agentId) continue;
    if (total >= offset && items.length < limit) items.push(map(e));
    total++;
  }
  return { total, offset, limit, items };
}
