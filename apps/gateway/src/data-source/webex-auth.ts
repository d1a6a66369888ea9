import type { DataSourceAuth } from '@app/config';
import { WebexApiError, type WebexHttp } from './webex-http';

/** An access token for Webex's REST API; `invalidate` after a 401 makes the next `token()` get a new one. */
export interface TokenProvider {
  token(signal?: AbortSignal): Promise<string>;
  invalidate(token: string): void;
}

/** A token is renewed this long before Webex says it expires. */
const EARLY_MS = 5 * 60_000;

function envValue(env: NodeJS.ProcessEnv, name: string, key: string): string {
  const v = env[name]?.trim();
  if (!v) throw new Error(`${key}: environment variable ${name} is not set`);
  return v;
}

interface OAuthTokenResponse {
  access_token?: unknown;
  expires_in?: unknown;
  refresh_token?: unknown;
}

/**
 * Caches one access token and gets a new one when it nears expiry or was refused; concurrent callers share one
 * fetch, so replicas of this object never race each other for the same refresh.
 */
abstract class CachingProvider implements TokenProvider {
  private cached?: { token: string; expiresAt: number };
  private inflight?: Promise<string>;

  protected abstract fetchToken(signal?: AbortSignal): Promise<{ token: string; expiresInS?: number }>;

  token(signal?: AbortSignal): Promise<string> {
    if (this.cached && this.cached.expiresAt > Date.now()) return Promise.resolve(this.cached.token);
    this.inflight ??= this.fetchToken(signal)
      .then(({ token, expiresInS }) => {
        const life = (expiresInS ?? 3600) * 1000;
        this.cached = { token, expiresAt: Date.now() + Math.max(life - EARLY_MS, life / 2) };
        return token;
      })
      .finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  protected static parse(body: unknown, what: string): { token: string; expiresInS?: number; refresh?: string } {
    const b = (body ?? {}) as OAuthTokenResponse;
    if (typeof b.access_token !== 'string' || !b.access_token) throw new WebexApiError(`${what}: no access_token in the response`, undefined, false);
    return {
      token: b.access_token,
      expiresInS: typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : undefined,
      refresh: typeof b.refresh_token === 'string' && b.refresh_token ? b.refresh_token : undefined,
    };
  }
}

/** A token given as is (trials): nothing to renew, a 401 stays a 401. */
export class StaticTokenProvider implements TokenProvider {
  constructor(private readonly value: string) {}
  token(): Promise<string> {
    return Promise.resolve(this.value);
  }
  invalidate(): void {}
}

/**
 * OAuth refresh-token grant (`POST /access_token`), for an integration or a service app whose refresh token was
 * copied from the Developer Portal. Webex may hand back a new refresh token: it is kept (in memory) and used next.
 */
export class RefreshTokenProvider extends CachingProvider {
  constructor(
    private readonly http: WebexHttp,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private refreshToken: string,
  ) {
    super();
  }

  protected async fetchToken(signal?: AbortSignal) {
    const res = await this.http.request(
      {
        method: 'POST',
        path: '/access_token',
        form: { grant_type: 'refresh_token', client_id: this.clientId, client_secret: this.clientSecret, refresh_token: this.refreshToken },
      },
      signal,
    ).catch((e: unknown) => {
      // A refused refresh token is not going to work on retry; it needs a new one from the operator.
      if (e instanceof WebexApiError && (e.status === 400 || e.status === 401)) {
        throw new WebexApiError(`refresh token refused (HTTP ${e.status}): renew the refresh token`, e.status, false);
      }
      throw e;
    });
    const t = CachingProvider.parse(res.body, 'POST /access_token');
    if (t.refresh) this.refreshToken = t.refresh;
    return t;
  }
}

/**
 * A service app's token minted with `POST /applications/{appId}/token` (client id and secret of the service app,
 * the org that authorised it), authorised by a token with `spark:applications_token` from `personal`. The refresh
 * token that comes with it is used first when the access token needs renewing; minting again is the fallback.
 */
export class ServiceAppTokenProvider extends CachingProvider {
  private refreshToken?: string;

  constructor(
    private readonly http: WebexHttp,
    private readonly appId: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly targetOrgId: string,
    private readonly personal: TokenProvider,
  ) {
    super();
  }

  protected async fetchToken(signal?: AbortSignal) {
    if (this.refreshToken) {
      const form = { grant_type: 'refresh_token', client_id: this.clientId, client_secret: this.clientSecret, refresh_token: this.refreshToken };
      try {
        const t = CachingProvider.parse((await this.http.request({ method: 'POST', path: '/access_token', form }, signal)).body, 'POST /access_token');
        if (t.refresh) this.refreshToken = t.refresh;
        return t;
      } catch {
        this.refreshToken = undefined;
      }
    }
    const mint = async (personalToken: string) =>
      this.http.request(
        {
          method: 'POST',
          path: `/applications/${encodeURIComponent(this.appId)}/token`,
          token: personalToken,
          json: { clientId: this.clientId, clientSecret: this.clientSecret, targetOrgId: this.targetOrgId },
        },
        signal,
      );
    const personalToken = await this.personal.token(signal);
    const res = await mint(personalToken).catch(async (e: unknown) => {
      if (!(e instanceof WebexApiError) || e.status !== 401) throw e;
      this.personal.invalidate(personalToken);
      return mint(await this.personal.token(signal));
    });
    const t = CachingProvider.parse(res.body, 'POST /applications/{id}/token');
    this.refreshToken = t.refresh;
    return t;
  }
}

/** Builds the provider `auth` describes, with its secrets read from the environment (missing: an error naming the variable). */
export function createTokenProvider(auth: DataSourceAuth, http: WebexHttp, env: NodeJS.ProcessEnv = process.env, key = 'data_source.auth'): TokenProvider {
  switch (auth.type) {
    case 'static':
      return new StaticTokenProvider(envValue(env, auth.access_token_env, `${key}.access_token_env`));
    case 'oauth_refresh':
      return new RefreshTokenProvider(
        http,
        envValue(env, auth.client_id_env, `${key}.client_id_env`),
        envValue(env, auth.client_secret_env, `${key}.client_secret_env`),
        envValue(env, auth.refresh_token_env, `${key}.refresh_token_env`),
      );
    case 'service_app': {
      if (!auth.personal_auth) throw new Error(`${key}.personal_auth: required for service_app`);
      return new ServiceAppTokenProvider(
        http,
        envValue(env, auth.app_id_env, `${key}.app_id_env`),
        envValue(env, auth.client_id_env, `${key}.client_id_env`),
        envValue(env, auth.client_secret_env, `${key}.client_secret_env`),
        envValue(env, auth.target_org_id_env, `${key}.target_org_id_env`),
        createTokenProvider(auth.personal_auth, http, env, `${key}.personal_auth`),
      );
    }
  }
}
