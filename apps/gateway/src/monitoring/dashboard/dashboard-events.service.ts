import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import { LOGGER, type Logger } from '@app/config';
import { CallLogService } from '../call-log/call-log.service';
import type { CallLogChangeId } from '../call-log/call-log.types';

/**
 * At most one update event per this long, whatever the call rate: every open page fetches itself again on each,
 * so this sets what viewers cost (at 500 ms five viewers took about 7% more CPU at 150 calls in the bench).
 */
export const COALESCE_MS = 1000;
/** A comment line this often keeps proxies and the browser from timing the stream out. */
export const HEARTBEAT_MS = 15_000;
/** The overview's charts and status change without a call changing: a `tick` this often refreshes them. */
export const TICK_MS = 30_000;
/** Open event streams at most; more get 503 (each costs a socket and a refresh per update). */
export const MAX_CLIENTS = 50;
/** Unsent bytes a client may have queued; a viewer that reads slower than this is dropped (its browser reconnects). */
export const MAX_CLIENT_BUFFER = 64 * 1024;
/** Changed ids named in one event; beyond that the event says `more` and pages refresh whatever they show. */
export const MAX_IDS = 100;
/** The browser's reconnect delay (the `retry:` field). */
const RETRY_MS = 3000;

/** What one coalesced `calls` event tells the pages. */
export interface CallsEvent {
  active: number;
  started: number;
  updated: number;
  ended: number;
  /** Ids of the calls that changed (up to MAX_IDS). */
  ids: string[];
  /** More calls changed than `ids` names. */
  more: boolean;
}

/**
 * The dashboard's Server-Sent Events: the call log's changes, coalesced into at most one `calls` event per
 * COALESCE_MS for all viewers (the page then fetches its own fresh HTML), a `tick` for the overview, heartbeat
 * comments, a bounded number of viewers with bounded buffers, and every stream closed when the app closes.
 * Subscribed to the call log's id-only changes, and only while someone watches: it copies nothing for us.
 */
@Injectable()
export class DashboardEvents implements OnModuleDestroy {
  private readonly clients = new Set<ServerResponse>();
  private sub?: Subscription;
  private pending?: CallsEvent & { idSet: Set<string> };
  private flushTimer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private tick?: NodeJS.Timeout;
  private lastFlush = 0;
  private sentCalls = 0;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly callLog: CallLogService,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: 'DashboardEvents' });
  }

  get viewers(): number {
    return this.clients.size;
  }

  /** `calls` events sent so far: a page rendered since the last one shows what it announced. */
  get sent(): number {
    return this.sentCalls;
  }

  /** Takes over `res` as an event stream; false (nothing written) when full or closing. */
  attach(res: ServerResponse): boolean {
    if (this.closed || this.clients.size >= MAX_CLIENTS) return false;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.socket?.setNoDelay(true);
    res.flushHeaders();
    this.clients.add(res);
    res.on('close', () => this.detach(res));
    this.write(res, `retry: ${RETRY_MS}\n: connected\n\n`);
    this.start();
    return true;
  }

  onModuleDestroy(): void {
    this.closed = true;
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stop();
  }

  private detach(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.stop();
  }

  private start(): void {
    if (this.sub) return;
    this.sub = this.callLog.changedIds.subscribe({ next: (c) => this.onChange(c), complete: () => this.onModuleDestroy() });
    this.heartbeat = setInterval(() => this.broadcast(': heartbeat\n\n'), HEARTBEAT_MS).unref();
    this.tick = setInterval(() => this.broadcast(`event: tick\ndata: ${JSON.stringify({ active: this.callLog.counts().active })}\n\n`), TICK_MS).unref();
  }

  private stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    clearInterval(this.heartbeat);
    clearInterval(this.tick);
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = undefined;
  }

  private onChange(c: CallLogChangeId): void {
    const p = (this.pending ??= { active: 0, started: 0, updated: 0, ended: 0, ids: [], more: false, idSet: new Set() });
    p[c.kind]++;
    if (!p.idSet.has(c.id)) {
      if (p.idSet.size < MAX_IDS) p.idSet.add(c.id);
      else p.more = true;
    }
    if (this.flushTimer === undefined) {
      const wait = Math.max(0, this.lastFlush + COALESCE_MS - Date.now());
      this.flushTimer = setTimeout(() => this.flush(), wait);
      this.flushTimer.unref();
    }
  }

  private flush(): void {
    this.flushTimer = undefined;
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    this.lastFlush = Date.now();
    const event: CallsEvent = { active: this.callLog.counts().active, started: p.started, updated: p.updated, ended: p.ended, ids: [...p.idSet], more: p.more };
    // JSON has no raw line breaks, so one `data:` line carries it whatever the ids contain.
    this.sentCalls++;
    this.broadcast(`event: calls\ndata: ${JSON.stringify(event)}\n\n`);
  }

  private broadcast(chunk: string): void {
    for (const res of this.clients) this.write(res, chunk);
  }

  private write(res: ServerResponse, chunk: string): void {
    if (res.writableLength > MAX_CLIENT_BUFFER) {
      this.log.warn({ queued: res.writableLength }, 'dashboard viewer reads too slowly: stream closed (the browser reconnects)');
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(chunk);
  }
}
