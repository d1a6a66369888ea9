import { createHash } from 'node:crypto';
import { buildGatewayConfig, createLogger } from '@app/config';
import { safeReturnPath } from './auth-gate';
import type { AuthRequest } from './auth.types';
import { MonitoringAuthService, parseCookies } from './monitoring-auth.service';

const TOKEN = 'a-long-enough-viewer-token';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function service(auth: Record<string, unknown> = {}) {
  const m = buildGatewayConfig({ monitoring: { auth: { enabled: true, api_tokens: [{ name: 'v', role: 'viewer', sha256: sha(TOKEN) }], ...auth } } }).monitoring;
  return new MonitoringAuthService(m, createLogger('silent'));
}
const request = (headers: Record<string, string> = {}, extra: Partial<AuthRequest> = {}): AuthRequest => ({ method: 'GET', path: '/x', headers, ...extra });

describe('MonitoringAuthService', () => {
  it('matches a bearer token by its SHA-256, case-insensitive scheme, and refuses others', () => {
    const s = service();
    expect(s.authenticate(request({ authorization: `bearer ${TOKEN}` })).principal).toEqual({ via: 'token', role: 'viewer', name: 'v' });
    expect(s.authenticate(request({ authorization: `Bearer ${TOKEN}x` }))).toEqual({ problem: 'unknown bearer token' });
    expect(s.authenticate(request({ authorization: 'Bearer' })).problem).toMatch(/must be "Bearer <token>"/);
    expect(s.authenticate(request())).toEqual({});
  });

  it('signed values: tampering, another purpose, another key and expiry are all refused', () => {
    const s = service();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const v = s.sign({ a: 1, exp }, 'session');
    expect(s.verify(v, 'session')).toEqual({ a: 1, exp });
    expect(s.verify(v, 'login')).toBeUndefined();
    expect(s.verify(`${v.split('.')[0]}x.${v.split('.')[1]}`, 'session')).toBeUndefined();
    expect(service().verify(v, 'session')).toBeUndefined(); // a per-process key differs
    expect(s.verify(s.sign({ exp: exp - 120 }, 'session'), 'session')).toBeUndefined();
  });

  it('a session carries its CSRF token; a revoked session is refused', () => {
    const s = service();
    const { value, maxAgeSeconds } = s.issueSession({ role: 'admin', name: 'n', email: 'e@x' });
    expect(maxAgeSeconds).toBe(8 * 3600);
    const auth = s.authenticate(request({ cookie: `other=1; byova_mon_session=${encodeURIComponent(value)}` }));
    expect(auth.principal).toMatchObject({ via: 'session', role: 'admin', name: 'n' });
    expect(auth.csrfToken).toBe(s.csrfToken(auth.principal!.sid!));
    s.revoke(auth.principal);
    expect(s.authenticate(request({ cookie: `byova_mon_session=${value}` })).principal).toBeUndefined();
  });

  it('cross-site check: own origin (Host, X-Forwarded-*, the OIDC redirect URI\'s) and the CSRF token', () => {
    const s = service({ oidc: { client_id: 'c', redirect_uri: 'https://gw.example.com/auth/callback', allowed_org_ids: ['o'] } });
    const csrf = s.csrfToken('sid1');
    const auth = { csrfToken: csrf };
    const post = (h: Record<string, string>) => s.crossSiteProblem(request({ host: 'internal:8080', 'x-csrf-token': csrf, ...h }, { method: 'POST' }), auth);
    expect(post({ origin: 'http://internal:8080' })).toBeUndefined();
    expect(post({ origin: 'https://gw.example.com' })).toBeUndefined();
    expect(post({ origin: 'https://proxy.example', 'x-forwarded-host': 'proxy.example', 'x-forwarded-proto': 'https' })).toBeUndefined();
    expect(post({ origin: 'https://evil.example' })).toMatch(/Origin/);
    expect(post({ origin: 'null' })).toMatch(/Origin/);
    expect(post({})).toMatch(/Origin/);
    expect(s.crossSiteProblem(request({ host: 'internal:8080', origin: 'http://internal:8080' }, { method: 'POST', body: { _csrf: csrf } }), auth)).toBeUndefined();
    expect(s.crossSiteProblem(request({ host: 'internal:8080', origin: 'http://internal:8080' }, { method: 'POST' }), auth)).toMatch(/CSRF/);
  });

  it('cookies: HttpOnly, SameSite=Lax, Secure only over TLS or with an https redirect URI', () => {
    expect(service().cookie(request(), 'c', 'v', 60)).toBe('c=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax');
    expect(service().cookie(request({ 'x-forwarded-proto': 'https' }), 'c', 'v', 60)).toMatch(/; Secure$/);
    const https = service({ oidc: { client_id: 'c', redirect_uri: 'https://gw.example.com/auth/callback', allowed_org_ids: ['o'] } });
    expect(https.cookie(request(), 'c', 'v', 60)).toMatch(/; Secure$/);
  });
});

describe('helpers', () => {
  it('parseCookies keeps the first value of a name and skips malformed ones', () => {
    expect([...parseCookies('a=1; b=%ZZ; a=2; =x; c=%20y')]).toEqual([
      ['a', '1'],
      ['c', ' y'],
    ]);
  });

  it('safeReturnPath allows local paths only', () => {
    expect(['/a?b=1', '//evil', '/\\evil', 'https://evil', 'x', undefined, '/'.padEnd(3000, 'a')].map(safeReturnPath)).toEqual(['/a?b=1', '/', '/', '/', '/', '/', '/']);
  });
});
