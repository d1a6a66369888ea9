import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import { LOGGER, type Logger } from '@app/config';
import { MonitoringAuthService } from '../auth/monitoring-auth.service';
import { CallLogReader } from '../monitoring-readers';
import { ChangeCollector, MAX_CHANGED_IDS, type ChangeSummary } from '../call-log/change-summary';
import { DashboardPages } from './dashboard-pages.service';
import { type LiveView, liveViewQuery } from './format';

/**
 * At most one update per this long, whatever the call rate: each renders the live regions being watched and
 * pushes them, so this sets what viewers cost. Two seconds: with one a second, monitoring with five viewers of
 * the active calls at 150 calls cost the gateway about 4.5% more CPU, nearly all of it the viewers' (bench,
 * monitoring section), and a table that changes faster than that is not read anyway.
 */
export const COALESCE_MS = 2000;
/** A comment line this often keeps proxies and the browser from timing the stream out. */
export const HEARTBEAT_MS = 15_000;
/** The overview's charts and status change without a call changing: a `tick` this often refreshes them. */
export const TICK_MS = 30_000;
/** Open event streams at most; more get 503 (each costs a socket and a refresh per update). */
export const MAX_CLIENTS = 50;
/**
 * Unsent bytes a client may have queued; a viewer that reads slower than this is dropped (its browser reconnects).
 * A pushed list region is up to about 40 KB: this holds a few updates.
 */
export const MAX_CLIENT_BUFFER = 256 * 1024;
/** setTimeout's longest delay: a session expiring later than this is not timed (it is checked again on reconnect). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Changed ids named in one event; beyond that the event says `more` and pages refresh whatever they show. */
export const MAX_IDS = MAX_CHANGED_IDS;
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

/** What a viewer's stream carries besides the shared events, and until when it may stay open. */
export interface ViewerOptions {
  /** The page's live region to push on each relevant update; none for a call's page (it fetches itself). */
  view?: LiveView;
  /** Epoch ms: the stream is closed then (a login session's expiry); its reconnect is checked afresh. */
  closeAt?: number;
  /** A login session's id: its logout closes the stream. */
  sessionId?: string;
}

interface Viewer extends ViewerOptions {
  timer?: NodeJS.Timeout;
}

/** The `region` event: the element's id and its fresh HTML (JSON: no raw line breaks, one `data:` line). */
const regionChunk = (r: { id: string; html: string }) => `event: region\ndata: ${JSON.stringify(r)}\n\n`;

/**
 * The dashboard's Server-Sent Events: the call log's changes, coalesced into at most one `calls` event per
 * COALESCE_MS for all viewers, and with it each watched page's live region, rendered once per update and view
 * and pushed to that view's viewers (pages fetch nothing on an update); a `tick` that refreshes the overview
 * and the active calls; heartbeat comments; a bounded number of viewers with bounded buffers; streams closed
 * when their login ends and when the app closes. Subscribed to the call log's summed-up changes, and only while
 * someone watches: it copies nothing for us.
 */
@Injectable()
export class DashboardEvents implements OnModuleDestroy {
  private readonly clients = new Map<ServerResponse, Viewer>();
  private readonly revocations: Subscription;
  private sub?: Subscription;
  private pending?: ChangeCollector;
  private flushTimer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private tick?: NodeJS.Timeout;
  private lastFlush = 0;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly callLog: CallLogReader,
    @Inject(DashboardPages) private readonly pages: Pick<DashboardPages, 'region'>,
    @Inject(LOGGER) logger: Logger,
    @Inject(MonitoringAuthService) auth: Pick<MonitoringAuthService, 'revocations'>,
  ) {
    this.log = logger.child({ context: 'DashboardEvents' });
    this.revocations = auth.revocations.subscribe((sid) => {
      for (const [res, v] of this.clients) if (v.sessionId === sid) res.end();
    });
  }

  get viewers(): number {
    return this.clients.size;
  }

  /** Takes over `res` as an event stream; false (nothing written) when full or closing. */
  attach(res: ServerResponse, opts: ViewerOptions = {}): boolean {
    if (this.closed || this.clients.size >= MAX_CLIENTS) return false;
    const viewer: Viewer = { ...opts };
    if (opts.closeAt !== undefined) {
      const wait = Math.max(0, opts.closeAt - Date.now());
      if (wait <= MAX_TIMER_MS) viewer.timer = setTimeout(() => res.end(), wait).unref();
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.socket?.setNoDelay(true);
    res.flushHeaders();
    this.clients.set(res, viewer);
    res.on('close', () => this.detach(res));
    this.write(res, `retry: ${RETRY_MS}\n: connected\n\n`);
    // The region as it is now: a reconnecting page may have missed updates.
    if (viewer.view) this.push((v) => v === viewer);
    this.start();
    return true;
  }

  onModuleDestroy(): void {
    this.closed = true;
    this.revocations.unsubscribe();
    for (const [res, v] of this.clients) {
      clearTimeout(v.timer);
      res.end();
    }
    this.clients.clear();
    this.stop();
  }

  private detach(res: ServerResponse): void {
    clearTimeout(this.clients.get(res)?.timer);
    this.clients.delete(res);
    if (this.clients.size === 0) this.stop();
  }

  private start(): void {
    if (this.sub) return;
    this.sub = this.callLog.changeSummaries().subscribe({ next: (c) => this.onChanges(c), complete: () => this.onModuleDestroy() });
    this.heartbeat = setInterval(() => this.broadcast(': heartbeat\n\n'), HEARTBEAT_MS).unref();
    this.tick = setInterval(() => {
      this.broadcast(`event: tick\ndata: ${JSON.stringify({ active: this.callLog.counts().active })}\n\n`);
      // Charts, status and relative times change without a call changing; the history's "ended 5 min ago" may wait.
      this.push((v) => v.view?.kind === 'overview' || v.view?.kind === 'calls');
    }, TICK_MS).unref();
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

  private onChanges(c: ChangeSummary): void {
    (this.pending ??= new ChangeCollector()).merge(c);
    if (this.flushTimer === undefined) {
      const wait = Math.max(0, this.lastFlush + COALESCE_MS - Date.now());
      this.flushTimer = setTimeout(() => this.flush(), wait);
      this.flushTimer.unref();
    }
  }

  private flush(): void {
    this.flushTimer = undefined;
    const p = this.pending?.take();
    this.pending = undefined;
    if (!p) return;
    this.lastFlush = Date.now();
    const event: CallsEvent = { active: this.callLog.counts().active, ...p };
    // JSON has no raw line breaks, so one `data:` line carries it whatever the ids contain.
    this.broadcast(`event: calls\ndata: ${JSON.stringify(event)}\n\n`);
    // The history changes only when a call ends.
    this.push((v) => v.view !== undefined && (v.view.kind !== 'history' || event.ended > 0));
  }

  private broadcast(chunk: string): void {
    for (const res of this.clients.keys()) this.write(res, chunk);
  }

  /** Pushes the live region of every viewer `wanted` selects: rendered once per view, whatever its viewers. */
  private push(wanted: (v: Viewer) => boolean): void {
    const chunks = new Map<string, string | undefined>();
    for (const [res, v] of this.clients) {
      if (v.view === undefined || !wanted(v)) continue;
      const key = liveViewQuery(v.view); // viewers of the same view share one render
      let chunk = chunks.get(key);
      if (!chunks.has(key)) {
        try {
          chunk = regionChunk(this.pages.region(v.view));
        } catch (err) {
          this.log.error({ err, view: key }, 'could not render a dashboard live region: not pushed');
        }
        chunks.set(key, chunk);
      }
      if (chunk !== undefined) this.write(res, chunk);
    }
  }

  private write(res: ServerResponse, chunk: string): void {
    if (res.writableLength > MAX_CLIENT_BUFFER) {
      this.log.warn({ queued: res.writableLength }, 'dashboard viewer reads too slowly: stream closed (the browser reconnects)');
      this.detach(res);
      res.destroy();
      return;
    }
    res.write(chunk);
  }
}
