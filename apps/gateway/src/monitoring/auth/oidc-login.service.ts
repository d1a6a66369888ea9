import { Inject, Injectable } from '@nestjs/common';
import * as oidc from 'openid-client';
import { LOGGER, type Logger, type OidcSettings } from '@app/config';
import type { MonitoringPrincipal } from './auth.types';
import { MonitoringAuthService } from './monitoring-auth.service';

/** A login must come back from the provider within this long. */
export const LOGIN_WINDOW_SECONDS = 600;
/** Each request to the provider (discovery, token, keys). */
const PROVIDER_TIMEOUT_SECONDS = 10;

/** What the login cookie carries between /auth/login and the callback. */
interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  exp: number;
}

/** A login refused: `status` 400 (a broken or forged callback), 403 (not allowed), 502 (the provider failed). */
export class LoginError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const isLoopback = (u: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

/**
 * OpenID Connect login (openid-client): authorization code with PKCE, a fresh state and nonce per login kept in a
 * short-lived signed cookie, the id-token's signature checked against the provider's JWKS along with iss, aud,
 * exp and nonce, then the allow-lists.
 */
@Injectable()
export class OidcLoginService {
  private config?: Promise<oidc.Configuration>;
  private readonly log: Logger;

  constructor(
    private readonly auth: MonitoringAuthService,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ source: 'monitoring-auth' });
  }

  get settings(): OidcSettings | undefined {
    return this.auth.enabled ? this.auth.settings.auth.oidc : undefined;
  }

  /** Discovery once per process; a failure is not kept, so the next login tries again. */
  private provider(o: OidcSettings): Promise<oidc.Configuration> {
    this.config ??= (async () => {
      const issuer = new URL(o.issuer_url);
      const secret = o.client_secret_env ? process.env[o.client_secret_env] : undefined;
      // http only for a provider on this machine (development, tests); the library refuses it otherwise.
      const execute = [oidc.enableNonRepudiationChecks, ...(issuer.protocol === 'http:' && isLoopback(issuer) ? [oidc.allowInsecureRequests] : [])];
      return oidc.discovery(issuer, o.client_id, secret ? { client_secret: secret } : undefined, secret ? oidc.ClientSecretPost(secret) : oidc.None(), {
        execute,
        timeout: PROVIDER_TIMEOUT_SECONDS,
      });
    })();
    this.config.catch(() => (this.config = undefined));
    return this.config;
  }

  /** Start-up check: a confidential client's secret must be there. */
  checkSecret(): void {
    const o = this.settings;
    if (o?.client_secret_env && !process.env[o.client_secret_env]) {
      throw new Error(`monitoring.auth.oidc.client_secret_env: environment variable ${o.client_secret_env} is not set`);
    }
  }

  /** The provider's authorization URL and the login cookie value to set. */
  async begin(returnTo: string): Promise<{ url: string; loginCookie: string }> {
    const o = this.settings!;
    const config = await this.provider(o).catch((e: Error) => {
      this.log.warn({ err: e.message, issuer: o.issuer_url }, 'OIDC discovery failed');
      throw new LoginError(502, 'the login provider cannot be reached; try again later');
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const login: LoginState = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier,
      returnTo,
      exp: Math.floor(Date.now() / 1000) + LOGIN_WINDOW_SECONDS,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: o.redirect_uri,
      scope: o.scopes,
      state: login.state,
      nonce: login.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, loginCookie: this.auth.sign({ ...login }, 'login') };
  }

  /** Checks the provider's answer (query string of the callback) against the login cookie; returns the user. */
  async complete(query: string, loginCookie: string | undefined): Promise<{ principal: Omit<MonitoringPrincipal, 'via'>; returnTo: string }> {
    const o = this.settings!;
    const login = loginCookie ? this.auth.verify<LoginState>(loginCookie, 'login') : undefined;
    if (!login) throw new LoginError(400, 'no login in progress (or it took too long): start again at /auth/login');
    const params = new URLSearchParams(query);
    const providerError = params.get('error');
    if (providerError) throw new LoginError(403, `the login provider refused: ${providerError.slice(0, 100)}`);
    if (params.get('state') !== login.state) throw new LoginError(400, 'login state does not match: start again at /auth/login');
    const config = await this.provider(o).catch(() => {
      throw new LoginError(502, 'the login provider cannot be reached; try again later');
    });
    const current = new URL(o.redirect_uri);
    current.search = params.toString();
    let claims: oidc.IDToken | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (e) {
      // openid-client wraps the precise check that failed (nonce, exp, signature) as the cause.
      const err = e as Error & { code?: string; cause?: unknown };
      const inner = err.cause instanceof Error ? (err.cause as Error & { code?: string }) : err;
      const network = [err.name, inner.name].some((n) => n === 'TypeError' || n === 'TimeoutError' || n === 'AbortError');
      this.log.warn({ err: inner.message, code: inner.code ?? err.code }, 'OIDC login refused');
      throw network ? new LoginError(502, 'the login provider cannot be reached; try again later') : new LoginError(400, `login failed: ${inner.message}`);
    }
    if (!claims) throw new LoginError(400, 'login failed: the provider sent no id-token');
    const email = typeof claims.email === 'string' && claims.email_verified !== false ? claims.email.toLowerCase() : undefined;
    const orgId = typeof claims[o.org_claim] === 'string' ? (claims[o.org_claim] as string) : undefined;
    const byOrg = orgId !== undefined && o.allowed_org_ids.includes(orgId);
    const byEmail = email !== undefined && o.allowed_emails.some((e) => e.toLowerCase() === email);
    if (!byOrg && !byEmail) {
      this.log.warn({ sub: claims.sub, orgId }, 'OIDC login refused: organisation or email not allowed');
      throw new LoginError(403, 'your organisation or email is not allowed to see this gateway');
    }
    const admin = o.role === 'admin' || (email !== undefined && o.admin_emails.some((e) => e.toLowerCase() === email));
    const name = typeof claims.name === 'string' ? claims.name : (email ?? claims.sub);
    this.log.info({ sub: claims.sub, orgId, role: admin ? 'admin' : 'viewer' }, 'monitoring login');
    return { principal: { role: admin ? 'admin' : 'viewer', name, email, orgId }, returnTo: login.returnTo };
  }
}
