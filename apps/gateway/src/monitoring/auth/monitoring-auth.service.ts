import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Observable, Subject } from 'rxjs';
import { LOGGER, type Logger, MonitoringSection, type MonitoringRole } from '@app/config';
import { type AuthRequest, header, type MonitoringPrincipal, MUTATING_METHODS, type RequestAuth } from './auth.types';

export const SESSION_COOKIE = 'byova_mon_session';
export const LOGIN_COOKIE = 'byova_mon_login';
/** Logged-out sessions remembered until they expire; beyond this many the oldest are forgotten. */
const MAX_REVOKED = 10_000;
const MIN_SECRET_CHARS = 32;
const MIN_TOKEN_CHARS = 16;

interface TokenEntry {
  name: string;
  role: MonitoringRole;
  digest: Buffer;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Reads a Cookie header into a map (first value of a name wins). */
export function parseCookies(h: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of (h ?? '').split(';')) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const k = part.slice(0, eq).trim();
    if (!out.has(k)) {
      try {
        out.set(k, decodeURIComponent(part.slice(eq + 1).trim()));
      } catch {
        // A malformed value is as good as none.
      }
    }
  }
  return out;
}

/**
 * Credentials of the monitoring server: bearer tokens (compared by SHA-256 in constant time), signed session
 * cookies and their CSRF tokens, and the gateway's own origin for cross-site checks. Fails at start-up, naming
 * the entry, when a token's env variable is missing or too short; never logs a token.
 */
@Injectable()
export class MonitoringAuthService {
  readonly enabled: boolean;
  private readonly tokens: TokenEntry[] = [];
  private readonly secret: Buffer;
  private readonly revoked = new Map<string, number>();
  private readonly revokedSubject = new Subject<string>();
  /** Session ids as they log out: whatever a session holds open (a live dashboard stream) closes. */
  readonly revocations: Observable<string> = this.revokedSubject.asObservable();
  private readonly oidcOrigin?: string;

  constructor(
    readonly settings: MonitoringSection,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const auth = settings.auth;
    this.enabled = settings.enabled && auth.enabled;
    const log = logger.child({ source: 'monitoring-auth' });
    if (settings.enabled && !auth.enabled) {
      log.warn(
        { host: settings.host },
        isLoopback(settings.host)
          ? 'monitoring auth is off: the monitoring server listens on loopback only'
          : 'monitoring auth is off and the monitoring server listens beyond loopback: anyone who reaches it sees calls and may end them',
      );
    }
    if (!this.enabled) {
      this.secret = randomBytes(32);
      return;
    }
    auth.api_tokens.forEach((t, i) => {
      const where = `monitoring.auth.api_tokens.${i} (token "${t.name}")`;
      let digest: Buffer;
      if (t.sha256 !== undefined) digest = Buffer.from(t.sha256, 'hex');
      else {
        const value = process.env[t.env ?? ''];
        if (!value) throw new Error(`${where}: environment variable ${t.env} is not set`);
        if (value.length < MIN_TOKEN_CHARS) throw new Error(`${where}: the token in ${t.env} is shorter than ${MIN_TOKEN_CHARS} characters`);
        digest = sha256(value);
      }
      this.tokens.push({ name: t.name, role: t.role, digest });
    });
    const fromEnv = process.env[auth.session.secret_env];
    if (fromEnv !== undefined && fromEnv.length < MIN_SECRET_CHARS) {
      throw new Error(`monitoring.auth.session.secret_env: ${auth.session.secret_env} must hold at least ${MIN_SECRET_CHARS} characters`);
    }
    if (fromEnv) this.secret = Buffer.from(fromEnv, 'utf8');
    else {
      this.secret = randomBytes(32);
      if (auth.oidc) {
        log.warn(`${auth.session.secret_env} is not set: sessions are signed with a key made for this process (logins end on restart and are not shared between replicas)`);
      }
    }
    if (auth.oidc) this.oidcOrigin = new URL(auth.oidc.redirect_uri).origin;
    if (!this.tokens.length && !auth.oidc) log.warn('monitoring auth is on with no api_tokens and no oidc: only /health and /ready can be used');
  }

  /** Reads the request's bearer token or session cookie. No credentials: an empty result (not an error). */
  authenticate(req: AuthRequest): RequestAuth {
    const authz = header(req, 'authorization');
    if (authz !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
      if (!m) return { problem: 'the Authorization header must be "Bearer <token>"' };
      const t = this.matchToken(m[1]);
      return t ? { principal: { via: 'token', role: t.role, name: t.name } } : { problem: 'unknown bearer token' };
    }
    const cookie = parseCookies(header(req, 'cookie')).get(SESSION_COOKIE);
    if (cookie === undefined) return {};
    const s = this.verify<MonitoringPrincipal>(cookie, 'session');
    if (!s || !s.sid || this.revoked.has(s.sid)) return { problem: 'session expired or invalid: log in again' };
    const principal: MonitoringPrincipal = { via: 'session', role: s.role, name: s.name, email: s.email, orgId: s.orgId, sid: s.sid, exp: s.exp };
    return { principal, csrfToken: this.csrfToken(s.sid) };
  }

  /** Every entry is compared, so the time taken does not tell which one (or whether any) matched. */
  private matchToken(token: string): TokenEntry | undefined {
    const digest = sha256(token);
    let found: TokenEntry | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.digest, digest) && !found) found = t;
    return found;
  }

  /** A new session for a user who just logged in: the cookie value and when it expires. */
  issueSession(p: Omit<MonitoringPrincipal, 'via' | 'sid' | 'exp'>): { value: string; maxAgeSeconds: number } {
    const maxAgeSeconds = Math.round(this.settings.auth.session.timeout_hours * 3600);
    const exp = Math.floor(Date.now() / 1000) + maxAgeSeconds;
    const body = { role: p.role, name: p.name, email: p.email, orgId: p.orgId, sid: b64url(randomBytes(16)), exp };
    return { value: this.sign(body, 'session'), maxAgeSeconds };
  }

  /** Logout: the cookie is cleared, and the session refused from now on even if replayed. */
  revoke(p: MonitoringPrincipal | undefined): void {
    if (!p?.sid || !p.exp) return;
    const now = Date.now() / 1000;
    for (const [sid, exp] of this.revoked) if (exp < now) this.revoked.delete(sid);
    while (this.revoked.size >= MAX_REVOKED) this.revoked.delete(this.revoked.keys().next().value as string);
    this.revoked.set(p.sid, p.exp);
    this.revokedSubject.next(p.sid);
  }

  csrfToken(sid: string): string {
    return b64url(createHmac('sha256', this.secret).update(`csrf:${sid}`).digest());
  }

  /**
   * Cross-site check of a state-changing request made with a session cookie: it must come from the gateway's own
   * origin (Origin, else Referer) and carry the session's CSRF token (`X-CSRF-Token` header or `_csrf` form field).
   * Returns why it is refused, or undefined.
   */
  crossSiteProblem(req: AuthRequest, auth: RequestAuth): string | undefined {
    const origin = header(req, 'origin')?.toLowerCase() ?? originOf(header(req, 'referer'));
    if (origin === undefined || origin === 'null' || !this.ownOrigins(req).has(origin)) return 'cross-site request refused (Origin is not this gateway)';
    const body = req.body as Record<string, unknown> | undefined;
    const sent = header(req, 'x-csrf-token') ?? (typeof body?._csrf === 'string' ? body._csrf : undefined);
    const want = auth.csrfToken;
    if (!sent || !want || sent.length !== want.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(want))) {
      return 'cross-site request refused (missing or wrong CSRF token)';
    }
    return undefined;
  }

  /**
   * With auth off, the server still refuses what a web page could make a local browser do: a page served under
   * another name (DNS rebinding) reading the loopback-only server, and a cross-site POST (Origin of another site).
   * Scripts (no Origin) are unaffected.
   */
  unauthenticatedProblem(req: AuthRequest): string | undefined {
    if (isLoopback(this.settings.host)) {
      const host = header(req, 'host') ?? '';
      if (!isLoopback(host.replace(/:\d+$/, ''))) return 'this monitoring server (auth off) answers only to localhost';
    }
    if (MUTATING_METHODS.has(req.method)) {
      const origin = header(req, 'origin')?.toLowerCase() ?? originOf(header(req, 'referer'));
      if (origin !== undefined && !this.ownOrigins(req).has(origin)) return 'cross-site request refused (Origin is not this gateway)';
    }
    return undefined;
  }

  /** This gateway's origin as the browser sees it: the Host it was asked for, and the OIDC redirect URI's. */
  ownOrigins(req: AuthRequest): Set<string> {
    const out = new Set<string>();
    const host = header(req, 'x-forwarded-host')?.split(',')[0].trim() ?? header(req, 'host');
    if (host) out.add(`${this.isTls(req) ? 'https' : 'http'}://${host}`.toLowerCase());
    if (this.oidcOrigin) out.add(this.oidcOrigin);
    return out;
  }

  /** Served over TLS, or behind a proxy that terminated it (X-Forwarded-Proto). */
  isTls(req: AuthRequest): boolean {
    return !!req.socket?.encrypted || header(req, 'x-forwarded-proto')?.split(',')[0].trim().toLowerCase() === 'https';
  }

  /** Set-Cookie value: HttpOnly, SameSite=Lax, Secure over TLS (or when the login's redirect URI is https). */
  cookie(req: AuthRequest, name: string, value: string, maxAgeSeconds: number): string {
    const secure = this.isTls(req) || this.oidcOrigin?.startsWith('https:');
    return `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  }

  clearCookie(req: AuthRequest, name: string): string {
    return this.cookie(req, name, '', 0);
  }

  /** A small signed, expiring value (session, login state): `payload.hmac`, HMAC-SHA256 with a purpose label. */
  sign(payload: Record<string, unknown> & { exp: number }, purpose: string): string {
    const body = b64url(JSON.stringify(payload));
    return `${body}.${b64url(createHmac('sha256', this.secret).update(`${purpose}.${body}`).digest())}`;
  }

  verify<T>(value: string, purpose: string): (T & { exp: number }) | undefined {
    const dot = value.indexOf('.');
    if (dot < 1) return undefined;
    const body = value.slice(0, dot);
    const mac = Buffer.from(value.slice(dot + 1), 'base64url');
    const want = createHmac('sha256', this.secret).update(`${purpose}.${body}`).digest();
    if (mac.length !== want.length || !timingSafeEqual(mac, want)) return undefined;
    try {
      const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T & { exp: number };
      return typeof p.exp === 'number' && p.exp > Date.now() / 1000 ? p : undefined;
    } catch {
      return undefined;
    }
  }
}

const isLoopback = (host: string) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin.toLowerCase();
  } catch {
    return undefined;
  }
}
