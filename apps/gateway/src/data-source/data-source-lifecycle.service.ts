import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSourceSection, LOGGER, type Logger } from '@app/config';
import { DataSourceStatus } from './data-source-status.service';
import type { DataSource, DataSourceBody, WebexDataSourcesClient } from './webex-data-sources.client';
import { WebexApiError } from './webex-http';

export const WEBEX_DATA_SOURCES = Symbol.for('byova.webex-data-sources');

/** A problem a retry will not fix by itself (a wrong id, ambiguous data sources, credentials refused). */
class LifecycleError extends Error {}

const transient = (e: unknown) => e instanceof WebexApiError && e.transient;

/** `iat` and `exp` of a JWS (not verified: only used to time the renewal). */
function tokenTimes(jws?: string): { iat?: number; exp?: number } {
  try {
    const claims = JSON.parse(Buffer.from(jws!.split('.')[1], 'base64url').toString('utf8')) as { iat?: unknown; exp?: unknown };
    return {
      iat: typeof claims.iat === 'number' ? claims.iat * 1000 : undefined,
      exp: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
    };
  } catch {
    return {};
  }
}

/** When the data source's token expires: `tokenExpiryTime` (naive means UTC), else the `exp` of its jwsToken. */
export function tokenExpiry(ds: DataSource): number | undefined {
  const t = ds.tokenExpiryTime;
  if (typeof t === 'string' && t) {
    const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`);
    if (Number.isFinite(ms)) return ms;
  }
  return tokenTimes(ds.jwsToken).exp;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

type FirstOutcome = { ok: true } | { ok: false; error: Error; permanent: boolean };

/**
 * Keeps this gateway's BYODS data source registered and its token renewed.
 *
 * Start-up (before the gRPC listener opens, bounded by startup_timeout_seconds): find the data source (by the
 * configured id, else by url + schema), register it if absent, update it if its url, audience, subject, schema or
 * status differ, renew its token if it is due. Webex unreachable does not stop start-up: the gateway serves calls
 * (the token Webex holds stays valid until it expires), reports the data source unhealthy and keeps retrying. Only a
 * problem no retry can fix stops it, and only with fail_startup_on_error.
 *
 * Then, in the background, never on a call's path: renew before expiry (renewal_lead_time_minutes, minus a random
 * part so replicas spread out), re-read every check_interval_minutes, and retry failures with exponential backoff
 * and jitter (Retry-After honoured).
 *
 * Several replicas: Webex's data source has no version or ETag, and PUT replaces the whole record, so every
 * decision is made on a fresh read and checked by reading again after writing:
 * - before renewing, the data source is read; if another replica has renewed it meanwhile, nothing is written;
 * - after a PUT, the record is read back and that (not our PUT's answer) is what is kept: if another replica's
 *   PUT landed after ours, its token (the one Webex now holds) and its expiry are adopted, so no replica schedules
 *   from a token that was replaced; if the fields read back differ from ours, it is written again (3 attempts);
 * - replicas starting together may each register one: after registering, the list is read again and all keep the
 *   same one (exact match first, then the smallest id); a replica deletes the extra it created itself;
 * - each renewal is a complete, valid PUT with its own nonce, so two that cross both leave a valid token.
 */
@Injectable()
export class DataSourceLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  /** Ids this process registered: only these may it delete when another registration wins. */
  private readonly created = new Set<string>();
  private warnedAmbiguous = false;
  private warnedShortLifetime = false;
  /** This replica's place in the renewal spread (0-1), fixed so that its wake-up and its decision agree. */
  private readonly spread = Math.random();

  constructor(
    private readonly cfg: DataSourceSection,
    private readonly status: DataSourceStatus,
    @Inject(WEBEX_DATA_SOURCES) private readonly client: WebexDataSourcesClient | null,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ source: 'data-source' });
  }

  private get configuredId(): string {
    return this.cfg.id || process.env[this.cfg.id_env]?.trim() || '';
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.cfg.enabled || !this.client) return;
    let settle!: (o: FirstOutcome) => void;
    const first = new Promise<FirstOutcome>((r) => (settle = r));
    this.loop = this.run(settle);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.cfg.startup_timeout_seconds * 1000)));
    const outcome = await Promise.race([first, timeout]).finally(() => clearTimeout(timer));
    if (outcome === 'timeout') {
      this.log.warn(
        { lastError: this.status.snapshot().lastError?.message },
        'data source not confirmed in time: serving calls anyway and retrying in the background',
      );
    } else if (!outcome.ok) {
      if (outcome.permanent && this.cfg.fail_startup_on_error) {
        await this.stop();
        throw new Error(`data source: ${outcome.error.message} (data_source.fail_startup_on_error is true)`);
      }
      this.log.error({ err: outcome.error.message }, 'data source set-up failed: serving calls anyway and retrying in the background');
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  private async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(settle: (o: FirstOutcome) => void): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      let delay: number;
      try {
        const { ds, expiry, renewed } = await this.syncOnce(signal);
        failures = 0;
        delay = this.plan(ds, expiry);
        this.status.recordSuccess(ds, expiry, renewed, Date.now() + delay);
        settle({ ok: true });
      } catch (e) {
        if (signal.aborted) break;
        failures++;
        const error = e instanceof Error ? e : new Error(String(e));
        const permanent = !transient(e);
        delay = this.backoff(failures, permanent, e instanceof WebexApiError ? e.retryAfterMs : undefined);
        this.status.recordFailure(error.message, Date.now() + delay);
        this.log.warn({ err: error.message, failures, retryInMs: Math.round(delay) }, 'data source: attempt failed');
        // Transient failures keep start-up waiting (up to its timeout) for a retry to succeed.
        if (permanent) settle({ ok: false, error, permanent });
      }
      await sleep(delay, signal);
    }
  }

  /** Exponential from retry_initial_seconds up to retry_interval_seconds, jittered (50-100%); Retry-After wins if longer. */
  private backoff(failures: number, permanent: boolean, retryAfterMs?: number): number {
    const cap = this.cfg.retry_interval_seconds * 1000;
    const base = permanent ? cap : Math.min(cap, this.cfg.retry_initial_seconds * 1000 * 2 ** Math.min(failures - 1, 30));
    const jittered = base * (0.5 + Math.random() * 0.5);
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  /** Lead time used for this token: the configured one, or half the token's life if Webex granted less. */
  private lead(ds: DataSource, expiry: number): number {
    const lead = this.cfg.renewal_lead_time_minutes * 60_000;
    const { iat } = tokenTimes(ds.jwsToken);
    const lifetime = iat !== undefined ? expiry - iat : this.cfg.token_lifetime_minutes * 60_000;
    if (lead >= lifetime / 2 && lifetime > 0) {
      if (!this.warnedShortLifetime) this.log.warn({ lifetimeMs: lifetime }, 'data source token lives less than twice the lead time: renewing at half its life');
      this.warnedShortLifetime = true;
      return lifetime / 2;
    }
    return lead;
  }

  /**
   * When this replica renews: the lead before expiry, plus its own share of up to 10% of the lead (at most a
   * minute), so replicas do not all renew at once and the later ones find the token already renewed.
   */
  private renewAt(ds: DataSource, expiry: number): number {
    const lead = this.lead(ds, expiry);
    return expiry - lead - this.spread * Math.min(lead * 0.1, 60_000);
  }

  private needsRenewal(ds: DataSource, expiry: number | undefined, now: number): boolean {
    return expiry === undefined || this.renewAt(ds, expiry) <= now;
  }

  /** Delay until the renewal or the next check, whichever comes first. */
  private plan(ds: DataSource, expiry: number | undefined): number {
    const check = this.cfg.check_interval_minutes * 60_000;
    const floor = this.cfg.retry_initial_seconds * 1000;
    if (expiry === undefined) return Math.max(floor, Math.min(check, this.cfg.retry_interval_seconds * 1000));
    return Math.max(floor, Math.min(check, this.renewAt(ds, expiry) - Date.now()));
  }

  private desired(): DataSourceBody {
    const c = this.cfg;
    return {
      schemaId: c.schema_id,
      url: c.url,
      audience: c.audience,
      subject: c.subject,
      nonce: randomUUID(),
      tokenLifetimeMinutes: c.token_lifetime_minutes,
      status: 'active',
    };
  }

  private matchesEndpoint(ds: DataSource): boolean {
    return ds.url === this.cfg.url && ds.schemaId === this.cfg.schema_id;
  }

  /** The fields that differ from the configuration (empty: nothing to update). */
  private differences(ds: DataSource): string[] {
    const c = this.cfg;
    const want: Record<string, string> = { url: c.url, schemaId: c.schema_id, audience: c.audience, subject: c.subject };
    const out = Object.keys(want).filter((k) => ds[k as keyof DataSource] !== want[k]);
    if ((ds.status ?? 'active') !== 'active') out.push('status');
    return out;
  }

  /** One pass: locate (or register), update or renew when needed. */
  private async syncOnce(signal: AbortSignal): Promise<{ ds: DataSource; expiry: number | undefined; renewed: boolean }> {
    const client = this.client!;
    const located = await this.locate(client, signal);
    let ds = located.ds;
    let renewed = located.registered;
    const diff = this.differences(ds);
    if (diff.length) {
      this.log.info({ dataSourceId: ds.id, fields: diff }, 'data source differs from the configuration: updating');
      ds = await this.write(client, ds.id, signal);
      renewed = true;
    } else if (this.needsRenewal(ds, tokenExpiry(ds), Date.now())) {
      ds = await this.write(client, ds.id, signal);
      renewed = true;
    }
    const expiry = tokenExpiry(ds);
    if (renewed) this.log.info({ dataSourceId: ds.id, tokenExpiresAt: expiry && new Date(expiry).toISOString() }, 'data source token renewed');
    return { ds, expiry, renewed };
  }

  private async locate(client: WebexDataSourcesClient, signal: AbortSignal): Promise<{ ds: DataSource; registered: boolean }> {
    const id = this.configuredId;
    if (id) {
      const ds = await client.get(id, signal);
      if (!ds) throw new LifecycleError(`data source ${id} not found in Webex (data_source.id / ${this.cfg.id_env})`);
      return { ds, registered: false };
    }
    const found = await this.pick(client, signal);
    if (found) return { ds: found, registered: false };

    const created = await client.create(this.desired(), signal);
    this.created.add(created.id);
    this.status.recordRenewal();
    this.log.info({ dataSourceId: created.id, url: this.cfg.url }, 'data source registered');
    // Another replica may have registered at the same moment: all settle on the same one.
    const winner = (await this.pick(client, signal, created)) ?? created;
    return { ds: winner, registered: winner.id === created.id };
  }

  /**
   * This gateway's data source among all the org's: url + schema match, those matching audience and subject too
   * first, then the smallest id (every replica picks the same). Extras this process registered are deleted.
   */
  private async pick(client: WebexDataSourcesClient, signal: AbortSignal, justCreated?: DataSource): Promise<DataSource | undefined> {
    const all = await client.list(signal);
    const mine = all.filter((d) => this.matchesEndpoint(d));
    if (justCreated && !mine.some((d) => d.id === justCreated.id)) mine.push(justCreated);
    if (!mine.length) return undefined;
    const exact = (d: DataSource) => (this.differences(d).length === 0 ? 0 : 1);
    mine.sort((a, b) => exact(a) - exact(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const winner = mine[0];
    const extras = mine.slice(1);
    for (const d of extras.filter((x) => this.created.has(x.id))) {
      try {
        await client.remove(d.id, signal);
        this.created.delete(d.id);
        this.log.info({ dataSourceId: d.id, kept: winner.id }, 'removed the data source this replica registered: another registration wins');
      } catch (e) {
        this.log.warn({ dataSourceId: d.id, err: (e as Error).message }, 'could not remove a duplicate data source (will retry)');
      }
    }
    const others = extras.filter((x) => !this.created.has(x.id));
    if (others.length && !this.warnedAmbiguous) {
      this.warnedAmbiguous = true;
      this.log.warn({ kept: winner.id, others: others.map((d) => d.id) }, 'several data sources have this url and schema: using one (set data_source.id to choose)');
    }
    return winner;
  }

  /** PUT the configured record with a new nonce (a renewal), then read back and reconcile (see the class comment). */
  private async write(client: WebexDataSourcesClient, id: string, signal: AbortSignal): Promise<DataSource> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const put = await client.update(id, this.desired(), signal);
      this.status.recordRenewal();
      const back = await client.get(id, signal);
      if (!back) throw new WebexApiError(`data source ${id} vanished right after it was renewed`);
      if (!this.differences(back).length) {
        // Keep Webex's current token; fall back to ours only if the read-back does not say when it expires.
        return tokenExpiry(back) !== undefined ? back : { ...back, tokenExpiryTime: put.tokenExpiryTime, jwsToken: put.jwsToken };
      }
      this.log.warn({ dataSourceId: id, fields: this.differences(back), attempt }, 'data source changed by another writer right after our update: writing again');
    }
    throw new WebexApiError(`data source ${id} keeps being changed by another writer (another replica with other settings?)`);
  }
}
