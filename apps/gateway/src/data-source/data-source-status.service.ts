import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { DataSourceSection } from '@app/config';

/**
 * `disabled`: data_source.enabled is false. `starting`: the first look-up has not finished. `ready`: the data
 * source is known and its token renewal scheduled. `failing`: the last attempt failed; retries are scheduled.
 */
export type DataSourcePhase = 'disabled' | 'starting' | 'ready' | 'failing';

export interface DataSourceSnapshot {
  enabled: boolean;
  phase: DataSourcePhase;
  /** The data source is known, active in Webex, and its token has not expired. */
  healthy: boolean;
  dataSourceId?: string;
  url?: string;
  schemaId?: string;
  /** Webex's status of the data source (`active`, `disabled`). */
  status?: string;
  /** ISO times. */
  tokenExpiresAt?: string;
  /** When this gateway last registered the data source or renewed its token. */
  lastRenewalAt?: string;
  /** When this gateway last read the data source successfully. */
  lastCheckAt?: string;
  /** When the next renewal, check or retry is due. */
  nextAttemptAt?: string;
  consecutiveFailures: number;
  lastError?: { at: string; message: string };
}

const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * The BYODS data source as this gateway sees it, for health and monitoring. Written by the lifecycle only;
 * `changes` fires on every change and when the token expires, so watchers need not poll.
 */
@Injectable()
export class DataSourceStatus implements OnApplicationShutdown {
  private readonly changed = new Subject<void>();
  readonly changes: Observable<void> = this.changed.asObservable();
  private state: Omit<DataSourceSnapshot, 'healthy' | 'tokenExpiresAt' | 'lastRenewalAt' | 'lastCheckAt' | 'nextAttemptAt'> & {
    tokenExpiresAt?: number;
    lastRenewalAt?: number;
    lastCheckAt?: number;
    nextAttemptAt?: number;
  };
  private expiryTimer?: NodeJS.Timeout;

  constructor(cfg: DataSourceSection) {
    this.state = { enabled: cfg.enabled, phase: cfg.enabled ? 'starting' : 'disabled', consecutiveFailures: 0 };
    if (cfg.enabled) Object.assign(this.state, { url: cfg.url, schemaId: cfg.schema_id });
  }

  snapshot(now = Date.now()): DataSourceSnapshot {
    const s = this.state;
    return {
      ...s,
      healthy: this.healthy(now),
      tokenExpiresAt: iso(s.tokenExpiresAt),
      lastRenewalAt: iso(s.lastRenewalAt),
      lastCheckAt: iso(s.lastCheckAt),
      nextAttemptAt: iso(s.nextAttemptAt),
    };
  }

  healthy(now = Date.now()): boolean {
    const s = this.state;
    return !!s.dataSourceId && (s.status ?? 'active') === 'active' && s.tokenExpiresAt !== undefined && s.tokenExpiresAt > now;
  }

  /** @internal the lifecycle's: the data source as read (or written) just now. */
  recordSuccess(ds: { id: string; status?: string; url?: string; schemaId?: string }, tokenExpiresAt: number | undefined, renewed: boolean, nextAttemptAt: number): void {
    const now = Date.now();
    Object.assign(this.state, {
      phase: 'ready',
      dataSourceId: ds.id,
      status: ds.status ?? 'active',
      url: ds.url ?? this.state.url,
      schemaId: ds.schemaId ?? this.state.schemaId,
      tokenExpiresAt,
      lastCheckAt: now,
      nextAttemptAt,
      consecutiveFailures: 0,
    });
    if (renewed) this.state.lastRenewalAt = now;
    this.armExpiry();
    this.changed.next();
  }

  /** @internal a registration or renewal happened even though the attempt as a whole then failed. */
  recordRenewal(): void {
    this.state.lastRenewalAt = Date.now();
  }

  /** @internal */
  recordFailure(message: string, nextAttemptAt: number): void {
    const s = this.state;
    s.phase = 'failing';
    s.consecutiveFailures++;
    s.lastError = { at: new Date().toISOString(), message };
    s.nextAttemptAt = nextAttemptAt;
    this.changed.next();
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    const at = this.state.tokenExpiresAt;
    if (at === undefined) return;
    // setTimeout holds at most ~24.8 days; a token lives at most a day.
    const delay = Math.min(Math.max(at - Date.now() + 1, 0), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => this.changed.next(), delay);
    this.expiryTimer.unref();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.expiryTimer);
    this.changed.complete();
  }
}
