import { randomBytes } from 'node:crypto';
import { FakeOidcProvider } from '../support/fake-oidc-provider';
import { freePort, startTestGateway, type TestGateway } from './harness';

/**
 * Every HTTP route the application registers, read at run time, must refuse an anonymous request, except this
 * list. A route added later without protection (or marked public by mistake) fails here.
 */
const PUBLIC = new Set(['GET /health', 'GET /ready', 'GET /auth/login', 'GET /auth/callback', 'GET /oauth', 'GET /auth/logout', 'POST /auth/logout']);
/** Served by Express middleware, not controllers (Swagger UI and its documents), plus paths no route matches. */
const NOT_CONTROLLERS = [
  '/api/docs',
  '/api/docs/',
  '/api/docs-json',
  '/api/docs-yaml',
  '/api/docs/swagger-ui.css',
  '/api/docs/swagger-ui-bundle.js',
  '/api/docs/swagger-ui-init.js',
  '/static/app.js',
  '/favicon.ico',
  '/no-such-route',
  '/api/no-such-route',
];

/** The Express router's routes in the monitoring HTTP application (its own thread): Nest's controllers and anything mounted on the app with get()/post(). */
const registeredRoutes = (t: TestGateway) => t.gw.monitoringHttp!.call<Array<{ method: string; path: string }>>('routes');

/** A concrete URL for a route pattern: parameters and wildcards filled with a plain value. */
const concrete = (path: string) => path.replace(/\{[^}]*\}/g, '').replace(/[:*][A-Za-z0-9_]+/g, 'x1');

describe('every monitoring route refuses an anonymous request (auth on)', () => {
  let idp: FakeOidcProvider;
  let t: TestGateway;
  let base: string;
  beforeAll(async () => {
    idp = await new FakeOidcProvider().start();
    const port = await freePort();
    process.env.TEST_ROUTES_TOKEN = randomBytes(16).toString('hex');
    t = await startTestGateway({
      monitoring: {
        port,
        auth: {
          enabled: true,
          api_tokens: [{ name: 'ops', role: 'admin', env: 'TEST_ROUTES_TOKEN' }],
          oidc: { issuer_url: idp.issuer, client_id: idp.clientId, redirect_uri: `http://127.0.0.1:${port}/auth/callback`, allowed_org_ids: ['o1'] },
        },
      },
    });
    base = `http://${t.gw.httpAddress}`;
  });
  afterAll(async () => {
    await t?.stop();
    await idp?.stop();
    delete process.env.TEST_ROUTES_TOKEN;
  });

  it('finds the routes at run time', async () => {
    const names = (await registeredRoutes(t)).map((r) => `${r.method} ${r.path}`);
    // The enumeration itself works (an empty list would prove nothing).
    expect(names).toEqual(expect.arrayContaining(['GET /auth/me', 'GET /auth/login', 'POST /auth/logout']));
  });

  it('each registered route, Swagger path and unknown path answers 401 without credentials, the public ones excepted', async () => {
    const results: string[] = [];
    const expected: string[] = [];
    const targets = [...(await registeredRoutes(t)), ...NOT_CONTROLLERS.map((path) => ({ method: 'GET', path }))];
    for (const { method, path } of targets) {
      const res = await fetch(base + concrete(path), { method, redirect: 'manual', headers: { 'content-type': 'application/json' }, body: method === 'GET' || method === 'HEAD' ? undefined : '{}' });
      const key = `${method} ${path}`;
      const isPublic = PUBLIC.has(key);
      results.push(`${key} → ${isPublic ? (res.status === 401 ? 'refused' : 'open') : res.status}`);
      expected.push(`${key} → ${isPublic ? 'open' : 401}`);
    }
    expect(results).toEqual(expected);
  });

  it('the same requests with a token get past the auth layer', async () => {
    const headers = { authorization: `Bearer ${process.env.TEST_ROUTES_TOKEN}` };
    for (const { method, path } of (await registeredRoutes(t)).filter((r) => r.method === 'GET')) {
      const res = await fetch(base + concrete(path), { headers, redirect: 'manual' });
      expect({ path, status: res.status }).not.toEqual({ path, status: 401 });
      void method;
    }
  });
});
