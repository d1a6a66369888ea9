import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type CryptoKey, importJWK, type JWK } from 'jose';
import { JwtValidationSection, LOGGER, type Logger } from '@app/config';
import { JwtMetrics } from './jwt-metrics.service';
import { JwtRefusal } from './jwt-refusal';
import { BodyTooLargeError, readLimitedBody } from '../common/read-limited-body';

/** Largest key set response read; Webex's is a few KiB. */
export const MAX_JWKS_BYTES = 64 * 1024;
/** RS256 keys under 2048 bits are not trusted (nor accepted by jose). */
const MIN_MODULUS_BYTES = 256;
/** Most keys kept per issuer (a token without `kid` is tried against each). */
export const MAX_KEYS_PER_ISSUER = 20;
/** After a failed fetch, the next attempt waits at least this (or what a 429's Retry-After asks, up to the cap). */
const RETRY_AFTER_FAILURE_MS = 5_000;
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Where Webex publishes an identity broker's signing keys. */
export const jwksUrlOf = (issuer: string) => `${issuer.replace(/\/+$/, '')}/oauth2/v2/keys/verificationjwk`;

/** An issuer's keys: by kid, and all of them (a token without kid is tried against each; a key without kid serves only those). */
interface IssuerKeySet {
  byKid: Map<string, CryptoKey>;
  all: CryptoKey[];
}

/** One issuer's verified key set and its fetch state. */
class IssuerKeys {
  keys: IssuerKeySet = { byKid: new Map(), all: [] };
  /** When the keys in use were fetched (0: never). */
  fetchedAt = 0;
  /** Bumped on every successful fetch: tokens verified under an older set are checked again. */
  version = 0;
  /** No fetch starts before this (rate limit of unknown-kid refreshes, backoff after failures, Retry-After). */
  notBefore = 0;
  inflight?: Promise<boolean>;
  /** The last fetch failed (logged once per streak). */
  failing = false;

  constructor(readonly url: string) {}
}

/** The candidates for a token's signature, and the key set version they belong to. */
export interface KeyCandidates {
  keys: CryptoKey[];
  version: number;
}

class FetchProblem extends Error {
  constructor(
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

/**
 * Signing keys of the allowed issuers, fetched from `<iss>/oauth2/v2/keys/verificationjwk` (or the configured
 * override) and kept for cache_duration_minutes. Expired keys keep serving while a fetch runs in the background,
 * and for as long as the key server cannot be reached; a token naming an unknown `kid` makes the set be fetched
 * again at most every jwks_refresh_min_interval_seconds. Every fetch is bounded in time and size. Only issuers on
 * the allow-list ever get here (the validator checks first), so a token cannot make the gateway fetch a URL of
 * its choosing.
 */
@Injectable()
export class JwksKeyStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly issuers = new Map<string, IssuerKeys>();
  private readonly cacheMs: number;
  private readonly minRefreshMs: number;
  private readonly log: Logger;
  /** Aborts fetches still running when the gateway stops. */
  private readonly closing = new AbortController();

  constructor(
    private readonly settings: JwtValidationSection,
    private readonly metrics: JwtMetrics,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: 'JwksKeyStore' });
    this.cacheMs = settings.cache_duration_minutes * 60_000;
    this.minRefreshMs = settings.jwks_refresh_min_interval_seconds * 1000;
    for (const iss of settings.issuers) this.issuers.set(iss, new IssuerKeys(settings.jwks_url_overrides[iss] ?? jwksUrlOf(iss)));
  }

  /** Fetches every issuer's keys once the gateway is up (not awaited), so the first calls find them cached. */
  onApplicationBootstrap(): void {
    if (!this.settings.enabled) return;
    for (const e of this.issuers.values()) void this.refresh(e);
  }

  onApplicationShutdown(): void {
    this.closing.abort();
  }

  /** Whether tokens verified under key set `version` of `iss` still stand (no fetch since). */
  isCurrent(iss: string, version: number): boolean {
    return this.issuers.get(iss)?.version === version;
  }

  /**
   * The keys that may have signed a token of `iss` (allow-listed) with header `kid`: the one with that kid, or every
   * key of the issuer for a token without one. Throws JwtRefusal 'unknown key' or 'keys unavailable'.
   */
  async candidates(iss: string, kid: string | undefined): Promise<KeyCandidates> {
    const e = this.issuers.get(iss);
    if (!e) throw new JwtRefusal('unknown issuer');
    const now = Date.now();
    if (e.fetchedAt === 0) {
      // Nothing cached yet: this token waits for the (shared, bounded) fetch.
      if (!(await this.refresh(e))) throw new JwtRefusal('keys unavailable');
    } else if (now - e.fetchedAt > this.cacheMs) {
      // Expired: keep using the keys while a new set is fetched in the background.
      void this.refresh(e);
      if (e.failing) this.metrics.countStaleKeyUse();
    }
    let found = this.pick(e, kid);
    if (!found.keys.length && kid !== undefined && (await this.refresh(e))) found = this.pick(e, kid);
    if (!found.keys.length) throw new JwtRefusal('unknown key');
    return found;
  }

  private pick(e: IssuerKeys, kid: string | undefined): KeyCandidates {
    if (kid === undefined) return { keys: e.keys.all, version: e.version };
    const k = e.keys.byKid.get(kid);
    return { keys: k ? [k] : [], version: e.version };
  }

  /**
   * Fetches `e`'s key set unless a fetch runs (then shares it) or the rate limit / backoff says not yet.
   * True when the keys were just fetched.
   */
  private refresh(e: IssuerKeys): Promise<boolean> {
    if (e.inflight) return e.inflight;
    if (Date.now() < e.notBefore) return Promise.resolve(false);
    e.inflight = this.fetchKeys(e).finally(() => (e.inflight = undefined));
    return e.inflight;
  }

  private async fetchKeys(e: IssuerKeys): Promise<boolean> {
    const started = Date.now();
    e.notBefore = started + this.minRefreshMs;
    try {
      const keys = await this.download(e.url);
      e.keys = keys;
      e.fetchedAt = Date.now();
      e.version++;
      if (e.failing) this.log.info({ url: e.url, keys: keys.all.length }, 'signing keys fetched again');
      e.failing = false;
      this.metrics.countKeyFetch(true);
      this.log.debug({ url: e.url, keys: keys.all.length }, 'signing keys fetched');
      return true;
    } catch (err) {
      const p = err instanceof FetchProblem ? err : new FetchProblem(String((err as Error)?.message ?? err));
      e.notBefore = started + Math.max(Math.min(this.minRefreshMs, RETRY_AFTER_FAILURE_MS), Math.min(p.retryAfterMs, MAX_RETRY_AFTER_MS));
      this.metrics.countKeyFetch(false);
      if (!e.failing) {
        this.log.warn({ url: e.url, problem: p.message, cached: e.fetchedAt > 0 }, e.fetchedAt > 0 ? 'cannot fetch signing keys: using the cached ones' : 'cannot fetch signing keys');
      }
      e.failing = true;
      return false;
    }
  }

  private async download(url: string): Promise<IssuerKeySet> {
    let res: Response;
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(this.settings.jwks_timeout_ms), this.closing.signal]);
      res = await fetch(url, { signal, headers: { accept: 'application/json' } });
    } catch (err) {
      throw new FetchProblem((err as Error).name === 'TimeoutError' ? `no answer within ${this.settings.jwks_timeout_ms} ms` : `unreachable (${(err as Error).message})`);
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new FetchProblem(`HTTP ${res.status}`, res.status === 429 || res.status === 503 ? retryAfterMs(res.headers.get('retry-after')) : 0);
    }
    const body = await readLimited(res, MAX_JWKS_BYTES, this.settings.jwks_timeout_ms);
    let set: unknown;
    try {
      set = JSON.parse(body);
    } catch {
      throw new FetchProblem('not JSON');
    }
    const list = (set as { keys?: unknown })?.keys;
    if (!Array.isArray(list)) throw new FetchProblem('no "keys" list');
    const keys: IssuerKeySet = { byKid: new Map(), all: [] };
    for (const jwk of list as JWK[]) {
      if (keys.all.length >= MAX_KEYS_PER_ISSUER) break;
      // RS256 signing keys only; others (encryption keys, EC) are not for us.
      if (!jwk || typeof jwk !== 'object' || jwk.kty !== 'RSA' || (jwk.alg !== undefined && jwk.alg !== 'RS256') || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      if (typeof jwk.n !== 'string' || Buffer.from(jwk.n, 'base64url').length < MIN_MODULUS_BYTES) {
        this.log.warn({ url, kid: jwk.kid }, 'skipping an RSA key shorter than 2048 bits');
        continue;
      }
      try {
        // Imported once here, so verifying a token never parses a key.
        const key = (await importJWK({ kty: jwk.kty, n: jwk.n, e: jwk.e }, 'RS256')) as CryptoKey;
        if (typeof jwk.kid === 'string') {
          if (keys.byKid.has(jwk.kid)) continue; // the first of a duplicated kid, as a lookup by kid would find
          keys.byKid.set(jwk.kid, key);
        }
        keys.all.push(key);
      } catch {
        this.log.warn({ url, kid: jwk.kid }, 'skipping a key that cannot be read');
      }
    }
    if (!keys.all.length) throw new FetchProblem('no usable RS256 key');
    return keys;
  }
}

function retryAfterMs(h: string | null): number {
  if (!h) return 0;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? 0 : Math.max(0, at - Date.now());
}

/** The body as text, refusing more than `limit` bytes (announced or sent). */
async function readLimited(res: Response, limit: number, timeoutMs: number): Promise<string> {
  try {
    return await readLimitedBody(res, limit);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new FetchProblem(err.message);
    throw new FetchProblem((err as Error).name === 'TimeoutError' ? `no complete answer within ${timeoutMs} ms` : `read failed (${(err as Error).message})`);
  }
}
