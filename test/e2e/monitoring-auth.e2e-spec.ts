import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { FakeOidcProvider } from '../support/fake-oidc-provider';
import { freePort, startTestGateway, type TestGateway } from './harness';

const VIEWER_TOKEN = `viewer-${randomBytes(12).toString('hex')}`;
const ADMIN_TOKEN = `admin-${randomBytes(12).toString('hex')}`;
const ADMIN_ENV = 'TEST_MONITORING_ADMIN_TOKEN';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const ORG = 'org-allowed-1';
/** Probe routes for each kind of protection, loaded into the monitoring HTTP application (its own thread) by file. */
const AUTH_PROBE = [{ file: require.resolve('../fixtures/auth-probe/auth-probe.module'), export: 'AuthProbeModule' }];

type Init = RequestInit & { headers?: Record<string, string> };

/** One gateway with auth on: a viewer token by hash, an admin token by env, OIDC against the fake provider. */
async function authGateway(idp: FakeOidcProvider, monitoring: Record<string, unknown> = {}, oidcFor: (port: number) => Record<string, unknown> = () => ({})) {
  // The redirect URI names the port, so it is picked before the gateway binds it: another test may take it first.
  for (let attempt = 1; ; attempt++) {
    try {
      return await authGatewayOn(await freePort(), idp, monitoring, oidcFor);
    } catch (e) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String((e as Error).message))) throw e;
    }
  }
}

async function authGatewayOn(port: number, idp: FakeOidcProvider, monitoring: Record<string, unknown>, oidcFor: (port: number) => Record<string, unknown>) {
  const oidc = oidcFor(port);
  process.env[ADMIN_ENV] = ADMIN_TOKEN;
  process.env.TEST_OIDC_SECRET = idp.clientSecret;
  const t = await startTestGateway(
    {
      monitoring: {
        port,
        auth: {
          enabled: true,
          api_tokens: [
            { name: 'ci-viewer', role: 'viewer', sha256: sha(VIEWER_TOKEN) },
            { name: 'ops-admin', role: 'admin', env: ADMIN_ENV },
          ],
          oidc: {
            issuer_url: idp.issuer,
            client_id: idp.clientId,
            client_secret_env: 'TEST_OIDC_SECRET',
            redirect_uri: `http://127.0.0.1:${port}/auth/callback`,
            allowed_org_ids: [ORG],
            allowed_emails: ['guest@partner.example'],
            admin_emails: ['boss@example.com'],
            ...oidc,
          },
        },
        ...monitoring,
      },
    },
    { httpModules: AUTH_PROBE },
  );
  const base = `http://${t.gw.httpAddress}`;
  const req = (path: string, init: Init = {}) => fetch(base + path, { redirect: 'manual', ...init });
  return { t, base, port, req };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const cookieOf = (res: Response, name: string) =>
  res.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${name}=`));
const cookiePair = (setCookie: string | undefined) => setCookie?.split(';')[0] ?? '';

/** A browser login through the fake provider: /auth/login → provider → /auth/callback. Returns each step. */
async function login(base: string, opts: { returnTo?: string; tamperState?: boolean } = {}) {
  const start = await fetch(`${base}/auth/login?return_to=${encodeURIComponent(opts.returnTo ?? '/probe/read')}`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const loginCookie = cookiePair(cookieOf(start, 'byova_mon_login'));
  const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
  expect(atProvider.status).toBe(302);
  const callback = new URL(atProvider.headers.get('location')!);
  if (opts.tamperState) callback.searchParams.set('state', 'forged-state');
  const done = await fetch(callback, { redirect: 'manual', headers: { cookie: loginCookie } });
  const session = cookieOf(done, 'byova_mon_session');
  return { start, authorizeUrl: new URL(start.headers.get('location')!), loginCookie, done, session, cookie: cookiePair(session) };
}

let idp: FakeOidcProvider;
beforeAll(async () => {
  idp = await new FakeOidcProvider().start();
});
afterAll(async () => {
  await idp.stop();
  delete process.env[ADMIN_ENV];
  delete process.env.TEST_OIDC_SECRET;
});

describe('monitoring auth: bearer tokens, roles, public routes', () => {
  let g: Awaited<ReturnType<typeof authGateway>>;
  beforeAll(async () => {
    g = await authGateway(idp);
  });
  afterAll(() => g.t.stop());

  it('refuses an anonymous API request with 401 { statusCode, message } and a Bearer challenge', async () => {
    const res = await g.req('/probe/read');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['message', 'statusCode']);
    expect(body).toEqual({ statusCode: 401, message: expect.stringContaining('authentication required') });
  });

  it('refuses an unknown token and a malformed Authorization header, never echoing the token', async () => {
    const wrong = await g.req('/probe/read', { headers: bearer('not-a-known-token-123') });
    const malformed = await g.req('/probe/read', { headers: { authorization: `Basic ${VIEWER_TOKEN}` } });
    expect([wrong.status, malformed.status]).toEqual([401, 401]);
    expect(await wrong.text()).not.toContain('not-a-known-token-123');
    expect(await malformed.text()).not.toContain(VIEWER_TOKEN);
  });

  it('a viewer token can GET but not POST (403); an admin token can POST', async () => {
    const read = await g.req('/probe/read', { headers: bearer(VIEWER_TOKEN) });
    expect([read.status, await read.json()]).toEqual([200, { ok: 'read' }]);
    const post = await g.req('/probe/write', { method: 'POST', headers: { ...bearer(VIEWER_TOKEN), 'content-type': 'application/json' }, body: '{}' });
    expect([post.status, await post.json()]).toEqual([403, { statusCode: 403, message: 'this needs the admin role' }]);
    const admin = await g.req('/probe/write', { method: 'POST', headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' }, body: '{"a":1}' });
    expect([admin.status, await admin.json()]).toEqual([201, { ok: 'write', body: { a: 1 } }]);
    // @Roles('viewer') opens a POST to viewers; admins satisfy any role.
    const viewerPost = await g.req('/probe/viewer-write', { method: 'POST', headers: bearer(VIEWER_TOKEN) });
    const adminRead = await g.req('/probe/read', { headers: bearer(ADMIN_TOKEN) });
    expect([viewerPost.status, adminRead.status]).toEqual([201, 200]);
  });

  it('protects handlers mounted on Express outside Nest (as Swagger UI is) and unknown paths alike', async () => {
    expect((await g.req('/probe/raw')).status).toBe(401);
    expect((await g.req('/probe/raw', { headers: bearer(VIEWER_TOKEN) })).status).toBe(200);
    for (const path of ['/no-such-route', '/api/docs', '/api/docs-json', '/static/app.js']) {
      expect({ path, status: (await g.req(path)).status }).toEqual({ path, status: 401 });
    }
    // Authenticated, an unknown path is an ordinary 404.
    expect((await g.req('/no-such-route', { headers: bearer(VIEWER_TOKEN) })).status).toBe(404);
  });

  it('lets @Public() routes through without credentials (a parameter in the path included), and only those', async () => {
    const open = await g.req('/probe/open/abc');
    expect([open.status, await open.json()]).toEqual([200, { ok: 'open', id: 'abc' }]);
    // Not a prefix match: a longer path under the public one is not public.
    expect((await g.req('/probe/open/abc/more')).status).toBe(401);
    // /health and /ready carry @Public() where they are served (the monitoring module): open once registered.
    const express = g.t.gw.app.getHttpAdapter().getInstance() as { router: { stack: Array<{ route?: { path: string } }> } };
    const served = express.router.stack.flatMap((l) => (l.route ? [l.route.path] : []));
    for (const path of ['/health', '/ready'].filter((p) => served.includes(p))) {
      expect({ path, status: (await g.req(path)).status }).toEqual({ path, status: 200 });
    }
  });

  it('refuses /metrics anonymously unless metrics_public', async () => {
    expect((await g.req('/metrics')).status).toBe(401);
    const open = await authGateway(idp, { metrics_public: true });
    try {
      expect((await open.req('/metrics')).status).not.toBe(401);
      expect((await open.req('/probe/read')).status).toBe(401);
    } finally {
      await open.t.stop();
    }
  });

  it('sends a browser asking for a page to the login instead of a 401', async () => {
    const res = await g.req('/dashboard?x=1', { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/auth/login?return_to=${encodeURIComponent('/dashboard?x=1')}`);
  });

  it('leaves gRPC alone: the guard applies to HTTP only', async () => {
    const agents = await g.t.caller().listAgents();
    expect(agents.virtualAgents.length).toBe(1);
  });
});

describe('monitoring auth: cross-site requests with a session cookie', () => {
  let g: Awaited<ReturnType<typeof authGateway>>;
  beforeAll(async () => {
    g = await authGateway(idp);
  });
  afterAll(() => g.t.stop());

  it('refuses a POST from another origin or without the CSRF token; accepts same-origin with the token', async () => {
    idp.idToken = { claims: { org_id: ORG, email: 'boss@example.com' } };
    const { cookie } = await login(g.base);
    const me = (await (await g.req('/auth/me', { headers: { cookie } })).json()) as { role: string; csrfToken: string };
    expect(me).toMatchObject({ role: 'admin', via: 'session', email: 'boss@example.com', csrfToken: expect.any(String) });
    const post = (headers: Record<string, string>) => g.req('/probe/write', { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{}' });

    const evil = await post({ origin: 'https://evil.example', 'x-csrf-token': me.csrfToken });
    expect([evil.status, ((await evil.json()) as { message: string }).message]).toEqual([403, expect.stringContaining('cross-site')]);
    expect((await post({ 'x-csrf-token': me.csrfToken })).status).toBe(403); // no Origin nor Referer
    expect((await post({ origin: g.base })).status).toBe(403); // no token
    expect((await post({ origin: g.base, 'x-csrf-token': 'x'.repeat(me.csrfToken.length) })).status).toBe(403);
    expect((await post({ referer: `${g.base}/dashboard`, 'x-csrf-token': me.csrfToken })).status).toBe(201);
    expect((await post({ origin: g.base, 'x-csrf-token': me.csrfToken })).status).toBe(201);
    // A bearer-token POST is not cross-site prone: no Origin or token needed.
    expect((await g.req('/probe/write', { method: 'POST', headers: bearer(ADMIN_TOKEN) })).status).toBe(201);
  });

  it('a viewer session cannot POST even from the same origin', async () => {
    idp.idToken = { claims: { org_id: ORG, email: 'someone@example.com' } };
    const { cookie } = await login(g.base);
    const me = (await (await g.req('/auth/me', { headers: { cookie } })).json()) as { role: string; csrfToken: string };
    expect(me.role).toBe('viewer');
    const res = await g.req('/probe/write', { method: 'POST', headers: { cookie, origin: g.base, 'x-csrf-token': me.csrfToken } });
    expect(res.status).toBe(403);
  });
});

describe('monitoring auth: OIDC login against a fake provider', () => {
  let g: Awaited<ReturnType<typeof authGateway>>;
  beforeAll(async () => {
    g = await authGateway(idp);
  });
  afterAll(() => g.t.stop());
  beforeEach(() => {
    idp.idToken = { claims: { org_id: ORG } };
  });

  it('logs in: PKCE and a fresh state and nonce per login, a signed HttpOnly SameSite=Lax session cookie with an expiry', async () => {
    const a = await login(g.base, { returnTo: '/probe/read?page=2' });
    const q = a.authorizeUrl.searchParams;
    expect(a.authorizeUrl.origin + a.authorizeUrl.pathname).toBe(`${idp.issuer}/authorize`);
    expect({
      client_id: q.get('client_id'),
      redirect_uri: q.get('redirect_uri'),
      response_type: q.get('response_type'),
      scope: q.get('scope'),
      code_challenge_method: q.get('code_challenge_method'),
    }).toEqual({ client_id: idp.clientId, redirect_uri: `http://127.0.0.1:${g.port}/auth/callback`, response_type: 'code', scope: 'openid email profile', code_challenge_method: 'S256' });
    expect(q.get('state')!.length).toBeGreaterThanOrEqual(20);
    expect(q.get('nonce')!.length).toBeGreaterThanOrEqual(20);
    expect(idp.tokenRequests.at(-1)!.get('code_verifier')!.length).toBeGreaterThanOrEqual(43);

    expect(a.done.status).toBe(302);
    expect(a.done.headers.get('location')).toBe('/probe/read?page=2');
    expect(a.session).toMatch(/^byova_mon_session=[^;]+; Path=\/; Max-Age=28800; HttpOnly; SameSite=Lax$/);
    expect(cookieOf(a.done, 'byova_mon_login')).toMatch(/Max-Age=0/); // single-use login state
    const read = await g.req('/probe/read', { headers: { cookie: a.cookie } });
    expect(read.status).toBe(200);
    expect(await (await g.req('/auth/me', { headers: { cookie: a.cookie } })).json()).toMatchObject({ name: 'Ops Person', orgId: ORG, role: 'viewer', via: 'session' });

    const b = await login(g.base);
    expect(b.authorizeUrl.searchParams.get('state')).not.toBe(q.get('state'));
    expect(b.authorizeUrl.searchParams.get('nonce')).not.toBe(q.get('nonce'));
    expect(b.authorizeUrl.searchParams.get('code_challenge')).not.toBe(q.get('code_challenge'));
  });

  it('a tampered session cookie is refused', async () => {
    const { cookie } = await login(g.base);
    const [name, value] = cookie.split('=');
    const tampered = `${name}=${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await g.req('/probe/read', { headers: { cookie: tampered } })).status).toBe(401);
  });

  it('refuses a callback whose state is not the login\'s, and one with no login cookie', async () => {
    const r = await login(g.base, { tamperState: true });
    expect([r.done.status, ((await r.done.json()) as { message: string }).message]).toEqual([400, expect.stringContaining('state')]);
    expect(r.session).toBeUndefined();
    const noCookie = await g.req('/auth/callback?code=abc&state=def');
    expect([noCookie.status, noCookie.headers.getSetCookie().some((c) => c.startsWith('byova_mon_session=') && !/Max-Age=0/.test(c))]).toEqual([400, false]);
  });

  it('refuses an id-token whose nonce is not the login\'s', async () => {
    idp.idToken = { claims: { org_id: ORG }, nonce: 'some-other-nonce' };
    const r = await login(g.base);
    expect([r.done.status, ((await r.done.json()) as { message: string }).message]).toEqual([400, expect.stringContaining('nonce')]);
    expect(r.session).toBeUndefined();
  });

  it('refuses an expired id-token', async () => {
    idp.idToken = { claims: { org_id: ORG }, expiresIn: -120 };
    const r = await login(g.base);
    expect([r.done.status, ((await r.done.json()) as { message: string }).message]).toEqual([400, expect.stringMatching(/exp/)]);
    expect(r.session).toBeUndefined();
  });

  it('refuses an id-token not signed by the provider\'s keys', async () => {
    idp.idToken = { claims: { org_id: ORG }, foreignKey: true };
    const r = await login(g.base);
    expect(r.done.status).toBe(400);
    expect(r.session).toBeUndefined();
  });

  it('refuses a user whose organisation is not allowed (403); allows one listed by email', async () => {
    idp.idToken = { claims: { org_id: 'some-other-org', email: 'stranger@example.com' } };
    const r = await login(g.base);
    expect([r.done.status, await r.done.json()]).toEqual([403, { statusCode: 403, message: 'your organisation or email is not allowed to see this gateway' }]);
    expect(r.session).toBeUndefined();
    idp.idToken = { claims: { org_id: 'some-other-org', email: 'Guest@Partner.example' } };
    const ok = await login(g.base);
    expect(ok.done.status).toBe(302);
    idp.idToken = { claims: { org_id: 'some-other-org', email: 'guest@partner.example', email_verified: false } };
    expect((await login(g.base)).done.status).toBe(403);
  });

  it('logs out: the cookie is cleared, the old session is refused even if replayed, and its live dashboard stream closes', async () => {
    const { cookie } = await login(g.base);
    expect((await g.req('/probe/read', { headers: { cookie } })).status).toBe(200);
    const stream = await fetch(`${g.base}/dashboard/events?view=calls`, { headers: { cookie, accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    const read = stream.text(); // resolves when the gateway ends the stream
    const out = await g.req('/auth/logout', { method: 'POST', headers: { cookie, origin: g.base } });
    expect(out.status).toBe(204);
    expect(cookieOf(out, 'byova_mon_session')).toMatch(/^byova_mon_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax/);
    expect((await g.req('/probe/read', { headers: { cookie } })).status).toBe(401);
    const text = await Promise.race([read, new Promise<string>((_, reject) => setTimeout(() => reject(new Error('stream still open after logout')), 2000))]);
    expect(text).toContain('event: region');
  });

  it('closes a live dashboard stream when its session expires', async () => {
    // A session that expires in 2 s, signed by the gateway's own service as a login would (a real login lasts hours).
    const exp = Math.floor(Date.now() / 1000) + 2;
    const signed = await g.t.gw.monitoringHttp!.call<string>('signSession', { role: 'viewer', name: 'Short Session', orgId: ORG, sid: 'short-session-sid', exp }, 'session');
    const cookie = `byova_mon_session=${signed}`;
    const stream = await fetch(`${g.base}/dashboard/events?view=overview`, { headers: { cookie, accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    const text = await Promise.race([stream.text(), new Promise<string>((_, reject) => setTimeout(() => reject(new Error('stream still open well after the session expired')), 5000))]);
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 50); // closed at expiry, not at once
    expect(text).toContain('event: region');
    expect((await g.req('/dashboard/events?view=overview', { headers: { cookie, accept: 'text/event-stream' } })).status).toBe(401); // and it cannot reconnect
  });

  it('never sends a return_to outside the gateway', async () => {
    for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const r = await login(g.base, { returnTo: evil });
      expect(r.done.headers.get('location')).toBe('/');
    }
  });

  it('serves the Python gateway\'s callback path /oauth too, for an integration registered with it', async () => {
    const py = await authGateway(idp, {}, (port) => ({ redirect_uri: `http://127.0.0.1:${port}/oauth` }));
    try {
      const r = await login(py.base);
      expect(new URL(r.authorizeUrl.searchParams.get('redirect_uri')!).pathname).toBe('/oauth');
      expect([r.done.status, r.session]).toEqual([302, expect.stringMatching(/^byova_mon_session=/)]);
    } finally {
      await py.t.stop();
    }
  });

  it('marks the cookie Secure behind a TLS proxy', async () => {
    const start = await g.req('/auth/login', { headers: { 'x-forwarded-proto': 'https' } });
    expect(cookieOf(start, 'byova_mon_login')).toMatch(/; Secure$/);
  });
});

describe('monitoring auth off: what a web page could make a local browser do is still refused', () => {
  let t: TestGateway;
  let base: string;
  beforeAll(async () => {
    t = await startTestGateway({}, { httpModules: AUTH_PROBE });
    base = `http://${t.gw.httpAddress}`;
  });
  afterAll(() => t.stop());

  it('scripts (no Origin) may read and POST; a POST from another site is refused', async () => {
    expect((await fetch(`${base}/probe/read`)).status).toBe(200);
    expect((await fetch(`${base}/probe/write`, { method: 'POST' })).status).toBe(201);
    expect((await fetch(`${base}/probe/write`, { method: 'POST', headers: { origin: base } })).status).toBe(201);
    const evil = await fetch(`${base}/probe/write`, { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect([evil.status, await evil.json()]).toEqual([403, { statusCode: 403, message: 'cross-site request refused (Origin is not this gateway)' }]);
    expect((await fetch(`${base}/probe/write`, { method: 'POST', headers: { referer: 'http://evil.example/page' } })).status).toBe(403);
  });

  it('a loopback-only server answers only to a loopback Host name (DNS rebinding)', async () => {
    const port = Number(t.gw.httpAddress!.split(':')[1]);
    // fetch sets Host itself: node:http sends the one given.
    const statusWithHost = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const r = request({ host: '127.0.0.1', port, path: '/probe/read', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        r.setTimeout(5000, () => r.destroy(new Error('timeout')));
        r.on('error', reject);
        r.end();
      });
    expect(await statusWithHost(`localhost:${port}`)).toBe(200);
    expect(await statusWithHost(`evil.example:${port}`)).toBe(403);
  });
});

describe('monitoring auth: start-up', () => {
  const startWith = (auth: Record<string, unknown>) => startTestGateway({ monitoring: { auth: { enabled: true, ...auth } } });

  it('stops with an error naming the entry when a token\'s env variable is missing or too short, never printing the token', async () => {
    delete process.env.TEST_MISSING_TOKEN;
    await expect(startWith({ api_tokens: [{ name: 'deploy-bot', role: 'admin', env: 'TEST_MISSING_TOKEN' }] })).rejects.toThrow(
      'monitoring.auth.api_tokens.0 (token "deploy-bot"): environment variable TEST_MISSING_TOKEN is not set',
    );
    process.env.TEST_SHORT_TOKEN = 'short-secret';
    try {
      const err = await startWith({ api_tokens: [{ name: 'x', role: 'viewer', env: 'TEST_SHORT_TOKEN' }] }).catch((e: Error) => e);
      expect((err as Error).message).toBe('monitoring.auth.api_tokens.0 (token "x"): the token in TEST_SHORT_TOKEN is shorter than 16 characters');
      expect((err as Error).message).not.toContain('short-secret');
    } finally {
      delete process.env.TEST_SHORT_TOKEN;
    }
  });

  it('stops when the OIDC client secret\'s env variable is missing or the session secret is too short', async () => {
    const oidc = { issuer_url: 'http://127.0.0.1:9/', client_id: 'c', client_secret_env: 'TEST_NO_SUCH_SECRET', redirect_uri: 'http://127.0.0.1:9/auth/callback', allowed_org_ids: ['o'] };
    await expect(startWith({ oidc })).rejects.toThrow('monitoring.auth.oidc.client_secret_env: environment variable TEST_NO_SUCH_SECRET is not set');
    process.env.TEST_WEAK_SESSION_SECRET = 'too-short';
    try {
      await expect(startWith({ session: { secret_env: 'TEST_WEAK_SESSION_SECRET' } })).rejects.toThrow('TEST_WEAK_SESSION_SECRET must hold at least 32 characters');
    } finally {
      delete process.env.TEST_WEAK_SESSION_SECRET;
    }
  });

  it('with auth off and no host named, listens on 127.0.0.1 and warns; a named host is kept, with a louder warning', async () => {
    const logs: Record<string, unknown>[] = [];
    const t = await startTestGateway({ monitoring: { host: undefined } }, { logs });
    try {
      expect(t.gw.httpAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(logs).toContainEqual(expect.objectContaining({ level: 40, msg: 'monitoring auth is off: the monitoring server listens on loopback only' }));
    } finally {
      await t.stop();
    }
    const wideLogs: Record<string, unknown>[] = [];
    const wide = await startTestGateway({ monitoring: { host: '0.0.0.0' } }, { logs: wideLogs });
    try {
      expect(wide.gw.httpAddress).toMatch(/^0\.0\.0\.0:\d+$/);
      expect(wideLogs).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringContaining('listens beyond loopback') }));
    } finally {
      await wide.stop();
    }
  });

  it('with auth on and no host named, listens on every interface', async () => {
    const t = await startTestGateway({ monitoring: { host: undefined, auth: { enabled: true } } });
    try {
      expect(t.gw.httpAddress).toMatch(/^0\.0\.0\.0:\d+$/);
      expect((await fetch(`http://127.0.0.1:${t.gw.httpAddress!.split(':')[1]}/auth/me`)).status).toBe(401);
    } finally {
      await t.stop();
    }
  });
});
