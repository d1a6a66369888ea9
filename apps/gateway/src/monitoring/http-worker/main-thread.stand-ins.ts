import { HttpException, type Provider } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { LogLevelControl } from '@app/config';
import { ConversationEngine } from '@app/engine';
import { CallLogService } from '../call-log/call-log.service';
import type { CallLogChangeId } from '../call-log/call-log.types';
import { MetricsService } from '../metrics/metrics.service';
import { StatusService } from '../status/status.service';
import { gatewayVersion } from '../status/version';
import { type BlockingCaller, BridgeError, type PortRpc } from './bridge';
import type { ChangeBatch } from './worker-init';

/** A bridge failure as an HTTP error when it carries a status (503: the gateway did not answer in time). */
function asHttp(e: unknown): never {
  if (e instanceof BridgeError && e.status !== undefined) throw new HttpException(e.message, e.status);
  throw e;
}

/** The call-log changes the main thread sends while someone watches, replayed in order as single changes. */
export class ChangeFeed {
  private readonly subject = new Subject<CallLogChangeId>();
  private watchers = 0;

  constructor(private readonly rpc: PortRpc) {}

  readonly changedIds = new Observable<CallLogChangeId>((sub) => {
    const s = this.subject.subscribe(sub);
    if (this.watchers++ === 0) this.switch(true);
    return () => {
      s.unsubscribe();
      if (--this.watchers === 0) this.switch(false);
    };
  });

  push(b: ChangeBatch): void {
    for (const [kind, id] of b.changes) this.subject.next({ kind, id });
    // Past the batch's bound only counts came: replayed under a call already named, so counts stay right.
    const last = b.changes.at(-1)?.[1];
    if (last === undefined) return;
    for (const kind of ['started', 'updated', 'ended'] as const) for (let i = 0; i < b.overflow[kind]; i++) this.subject.next({ kind, id: last });
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
    changedIds: feed.changedIds,
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
