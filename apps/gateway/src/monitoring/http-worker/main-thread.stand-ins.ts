import { HttpException, type Provider } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { LogLevelControl } from '@app/config';
import type { ChangeSummary } from '../call-log/change-summary';
import { CallControl, CallLogReader, MetricsReader, StatusReader } from '../monitoring-readers';
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
 * The gateway's side as the worker's controllers and dashboard see it (monitoring-readers), each answered by the
 * main thread over the bridge: reads block this thread, never the gateway's.
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
  const callLog: CallLogReader = {
    active: read('callLog.active'),
    history: read('callLog.history'),
    get: read('callLog.get'),
    counts: read('callLog.counts'),
    lastHour: read('callLog.lastHour'),
    connectionEvents: read('callLog.connectionEvents'),
    // Summed up on the main thread (its own period), so one message crosses, not one per change.
    changeSummaries: () => feed.summaries,
  };
  const status: StatusReader = {
    version: gatewayVersion(),
    alive: read('status.alive'),
    ready: read('status.ready'),
    status: read('status.status'),
    agents: read('status.agents'),
    config: read('status.config'),
  };
  const metrics: MetricsReader = { text: () => rpc.call<Awaited<ReturnType<MetricsReader['text']>>>('metrics.text').catch(asHttp) };
  const calls: CallControl = { endById: (id: string, reason: 'admin_ended') => rpc.call<boolean>('engine.endById', id, reason).catch(asHttp) };
  return [
    { provide: CallLogReader, useValue: callLog },
    { provide: StatusReader, useValue: status },
    { provide: MetricsReader, useValue: metrics },
    { provide: CallControl, useValue: calls },
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
