import { HttpException, type Provider } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { LogLevelControl } from '@app/config';
import { ConversationEngine } from '@app/engine';
import { CallLogService } from '../call-log/call-log.service';
import type { ChangeSummary } from '../call-log/change-summary';
import { MetricsService } from '../metrics/metrics.service';
import { StatusService } from '../status/status.service';
import { gatewayVersion } from '../status/version';
import { type BlockingCaller, BridgeError, type PortRpc } from './bridge';

/** A bridge failure as an HTTP error when it carries a status (503: the gateway did not answer in time). */
function asHttp(e: unknown): never {
  if (e instanceof BridgeError && e.status !== undefined) throw new HttpException(e.message, e.status);
  throw e;
}

/** The call log's summed-up changes as the main thread sends them while someone here watches. */
export class ChangeFeed {
  private readonly subject = new Subject<ChangeSummary>();
  private watchers = 0;

  constructor(private readonly rpc: PortRpc) {}

  readonly summaries = new Observable<ChangeSummary>((sub) => {
    const s = this.subject.subscribe(sub);
    if (this.watchers++ === 0) this.switch(true);
    return () => {
      s.unsubscribe();
      if (--this.watchers === 0) this.switch(false);
    };
  });

  push(summary: ChangeSummary): void {
    this.subject.next(summary);
  }

  complete(): void {
    this.subject.complete();
  }

  private switch(on: boolean): void {
    this.rpc.call('changes.watch', on).catch(() => undefined);
  }
}

/**
 * The main thread's monitoring services as the worker's controllers and dashboard see them: the same tokens and
 * methods, each answered by the main thread over the bridge (reads block the worker, never the gateway).
 */
export function mainThreadStandIns(blocking: BlockingCaller, rpc: PortRpc, feed: ChangeFeed): Provider[] {
  const read =
    <T>(op: string) =>
    (...args: unknown[]): T => {
      try {
        return blocking.call<T>(op, ...args);
      } catch (e) {
        return asHttp(e);
      }
    };
  const callLog: Partial<CallLogService> = {
    active: read('callLog.active'),
    history: read('callLog.history'),
    get: read('callLog.get'),
    counts: read('callLog.counts'),
    lastHour: read('callLog.lastHour'),
    connectionEvents: read('callLog.connectionEvents'),
    // Summed up on the main thread (its own period), so one message crosses, not one per change.
    changeSummaries: () => feed.summaries,
  };
  const status: Partial<StatusService> = {
    version: gatewayVersion(),
    alive: read('status.alive'),
    ready: read('status.ready'),
    status: read('status.status'),
    agents: read('status.agents'),
    config: read('status.config'),
  };
  const metrics: Partial<MetricsService> = { text: () => rpc.call<Awaited<ReturnType<MetricsService['text']>>>('metrics.text').catch(asHttp) };
  const engine: Partial<ConversationEngine> = { endById: (id: string, reason: string) => rpc.call<boolean>('engine.endById', id, reason).catch(asHttp) };
  return [
    { provide: CallLogService, useValue: callLog },
    { provide: StatusService, useValue: status },
    { provide: MetricsService, useValue: metrics },
    { provide: ConversationEngine, useValue: engine },
  ];
}

/** The gateway's log level, read and set on the main thread (whose logger the worker's lines go through). */
export function logLevelStandIn(blocking: BlockingCaller): Provider {
  const levels: Pick<LogLevelControl, 'level' | 'configured' | 'set'> = {
    get level() {
      return blocking.call<{ level: string }>('log.get').level;
    },
    get configured() {
      return blocking.call<{ configured: LogLevelControl['configured'] }>('log.get').configured;
    },
    set: (level: string, by: string) => blocking.call('log.set', level, by),
  };
  return { provide: LogLevelControl, useValue: levels };
}
