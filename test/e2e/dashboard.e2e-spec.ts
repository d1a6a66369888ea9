import { request as httpRequest, type IncomingMessage } from 'node:http';
import { DASHBOARD_CSP } from '../../apps/gateway/src/monitoring/dashboard/dashboard.controller';
import { COALESCE_MS } from '../../apps/gateway/src/monitoring/dashboard/dashboard-events.service';
import { eventually, LOCAL_AGENT, localConnector, ok, scriptedConnector, sleep, startTestGateway, type TestGateway } from './harness';

const XSS = '<img src=x onerror=alert(1)>';
const SECURE_AGENT = 'Local Audio: Secure';
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** An open Server-Sent Events stream: its raw text so far, and its events parsed. */
interface Stream {
  res: IncomingMessage;
  text(): string;
  events(name: string): Array<Record<string, any>>;
  ended: Promise<void>;
  close(): void;
}

function openStream(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (buf += c));
      const ended = new Promise<void>((r) => res.on('close', () => r()));
      resolve({
        res,
        text: () => buf,
        events: (name) =>
          buf
            .split('\n\n')
            .filter((block) => block.split('\n').includes(`event: ${name}`))
            .map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6))),
        ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** No inline script or style anywhere in a page (the CSP would block them; a page must not need them). */
function expectNoInline(html: string) {
  expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
  expect(html).not.toMatch(/<style[\s>]/i);
  expect(html).not.toMatch(/\sstyle=/i);
  expect(html).not.toMatch(/<[^>]*\son[a-z]+="/i);
  // Nothing loaded from elsewhere (configured URLs may show as text on the configuration page).
  expect(html).not.toMatch(/\s(?:src|href|action|srcset)="(?:https?:)?\/\//i);
}

describe('dashboard (real HTTP against the running gateway)', () => {
  let t: TestGateway;
  let base: string;

  async function page(path: string, status = 200): Promise<string> {
    const res = await fetch(base + path, { headers: { accept: 'text/html' } });
    const html = await res.text();
    expect({ path, status: res.status }).toEqual({ path, status });
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expectNoInline(html);
    return html;
  }
  const rows = (html: string) => [...html.matchAll(/<a class="call-id" href="\/dashboard\/calls\/([^"]+)">/g)].map((m) => decodeURIComponent(m[1]));

  beforeAll(async () => {
    t = await startTestGateway({
      connectors: {
        local: localConnector(),
        secure: localConnector({}, { agent_id: 'Secure' }),
        scripted: { ...scriptedConnector({ client_secret: 'hunter2-secret', degraded: true }), timeouts: { turn_ms: 20_000, end_ms: 300 } },
      },
    });
    base = `http://${t.gw.httpAddress}`;
  });
  afterAll(() => t.stop());

  it('sends / to the dashboard; the CSP constant is the strict one', async () => {
    const res = await fetch(`${base}/`, { redirect: 'manual' });
    expect([res.status, res.headers.get('location')]).toEqual([302, '/dashboard']);
    expect(DASHBOARD_CSP).toBe(CSP);
  });

  it('renders every page with its content, strict CSP and no inline script or style', async () => {
    const overview = await page('/dashboard');
    expect(overview).toContain('<h1>Overview</h1>');
    expect(overview).toMatch(/<nav aria-label="Dashboard">/);
    expect(overview).toContain('<a href="/dashboard" aria-current="page">Overview</a>');
    expect(overview).toContain('class="skip-link" href="#main"');
    expect(overview).toMatch(/<svg class="chart"[^>]*role="img"/);
    expect(overview).toContain('Calls started per minute');
    expect(overview).toContain('end of input → first reply');
    expect(overview).toContain(LOCAL_AGENT);
    expect(overview).toContain('1 degraded'); // the scripted connector reports itself degraded
    expect(overview).toMatch(/<script src="\/dashboard\/assets\/dashboard\.js\?v=[0-9a-f]{12}" defer><\/script>/);

    const calls = await page('/dashboard/calls');
    expect(calls).toContain('<h1>Active calls</h1>');
    expect(calls).toContain('No active calls.');
    expect(calls).toMatch(/<th scope="col">Conversation<\/th>/);

    const history = await page('/dashboard/history');
    expect(history).toContain('<h1>History</h1>');

    const agents = await page('/dashboard/agents');
    expect(agents).toContain(SECURE_AGENT);
    expect(agents).toMatch(/<th scope="row">scripted<\/th><td>scripted<\/td><td>1<\/td>\s*<td><span class="badge tone-warn">degraded<\/span>/);

    const config = await page('/dashboard/config');
    expect(config).toContain('<h1>Configuration</h1>');
    expect(config).toContain('client_secret: &quot;[redacted]&quot;');
    expect(config).not.toContain('hunter2');
  });

  it('serves its own CSS, script and icon (no CDN); other names are 404', async () => {
    for (const [name, type] of [
      ['dashboard.css', 'text/css; charset=utf-8'],
      ['dashboard.js', 'text/javascript; charset=utf-8'],
      ['favicon.svg', 'image/svg+xml'],
    ]) {
      const res = await fetch(`${base}/dashboard/assets/${name}`);
      expect([name, res.status, res.headers.get('content-type')]).toEqual([name, 200, type]);
      expect(await res.text()).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    }
    for (const bad of ['nope.js', '..%2Fdashboard.controller.ts', '%2E%2E%2Fviews%2Flayout.eta']) {
      const res = await fetch(`${base}/dashboard/assets/${bad}`);
      expect([bad, res.status]).toEqual([bad, 404]);
    }
  });

  it('shows a conversation id like <img src=x onerror=alert(1)> as text on every page', async () => {
    const caller = t.caller({ conversationId: XSS, customerOrgId: '"><script>alert(2)</script>' });
    ok(await caller.startSession());
    const escapedId = '&lt;img src=x onerror=alert(1)&gt;';
    const calls = await page('/dashboard/calls');
    expect(calls).toContain(escapedId);
    expect(calls).toContain('&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(calls).not.toContain(XSS);
    expect(rows(calls)).toEqual([XSS]);
    const detail = await page(`/dashboard/calls/${encodeURIComponent(XSS)}`);
    expect(detail).toContain(`<span class="call-id" id="call-title">${escapedId}</span>`);
    expect(detail).not.toContain(XSS);
    ok(await caller.endSession());
    const history = await page('/dashboard/history');
    expect(rows(history)).toContain(XSS);
    expect(history).not.toContain(XSS);
  });

  it("a call's page shows its timeline turn by turn, the End call button while it runs, and its end reason", async () => {
    const caller = t.caller({ conversationId: 'dash-timeline-1', customerOrgId: 'org-1' });
    ok(await caller.startSession());
    let html = await page('/dashboard/calls/dash-timeline-1');
    expect(html).toContain('RPC 1: SESSION_START');
    expect(html).toMatch(/<q>[^<]*welcome[^<]*<\/q>/i);
    expect(html).toContain('first reply after');
    expect(html).toContain('<form class="end-call" method="post" action="/api/conversations/dash-timeline-1/end" data-end-call>');
    expect(html).toContain('data-live="call" data-call-id="dash-timeline-1"');
    ok(await caller.sendDtmf('1'));
    html = await page('/dashboard/calls/dash-timeline-1');
    expect(html).toContain('RPC 2: START_OF_DTMF');
    expect(html).toContain('RPC 3: DTMF (1 digit)');
    expect(html).not.toContain('RPC 4');
    ok(await caller.sendDtmf('6')); // the local agent says goodbye
    html = await page('/dashboard/calls/dash-timeline-1');
    expect(html).toContain('<span class="badge reason" id="call-end-reason">agent_ended</span>');
    expect(html).toContain('SESSION_END session_ended');
    expect(html).not.toContain('data-end-call');
    expect(await page('/dashboard/history')).toMatch(/dash-timeline-1[\s\S]*agent_ended/);
  });

  it('an unknown call is a 404 page; bad paging values are a 400 page', async () => {
    const html = await page(`/dashboard/calls/${encodeURIComponent('no-such-<b>call')}`, 404);
    expect(html).toContain('<h1>Not found</h1>');
    expect(html).toContain('no conversation &quot;no-such-&lt;b&gt;call&quot;');
    for (const bad of ['page=0', 'page=abc', 'page=1.5', 'page=-1', 'page=9999999']) {
      expect(await page(`/dashboard/calls?${bad}`, 400)).toContain('page must be a whole number');
    }
    expect(await page('/dashboard/history?page=x', 400)).toContain('<h1>Bad request</h1>');
  });

  it('pages 50 calls at a time with previous/next links, filtered by agent', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `many-${String(i).padStart(3, '0')}`);
    const callers = ids.map((id, i) => t.caller({ conversationId: id, agentId: i % 4 === 0 ? SECURE_AGENT : LOCAL_AGENT }));
    for (let i = 0; i < callers.length; i += 20) await Promise.all(callers.slice(i, i + 20).map(async (c) => ok(await c.startSession())));
    try {
      const first = await page('/dashboard/calls');
      expect(first).toContain('Showing 1–50 of 120 active calls.');
      expect(rows(first)).toEqual(ids.slice(0, 50));
      expect(first).toContain('<a href="/dashboard/calls?page=2" rel="next">');
      expect(first).toContain('Page 1 of 3');
      const third = await page('/dashboard/calls?page=3');
      expect(rows(third)).toEqual(ids.slice(100));
      expect(third).toContain('<a href="/dashboard/calls?page=2" rel="prev">');
      expect(third).not.toContain('rel="next"');
      // Past the end: the last page.
      expect(rows(await page('/dashboard/calls?page=7'))).toEqual(ids.slice(100));
      const secure = await page(`/dashboard/calls?agent=${encodeURIComponent(SECURE_AGENT)}`);
      expect(secure).toContain(`Showing 1–30 of 30 active calls of ${SECURE_AGENT}.`);
      expect(rows(secure)).toEqual(ids.filter((_, i) => i % 4 === 0));
      expect(secure).toContain(`<option value="${SECURE_AGENT}" selected>`);
    } finally {
      for (let i = 0; i < callers.length; i += 20) await Promise.all(callers.slice(i, i + 20).map(async (c) => ok(await c.endSession())));
    }
    const hist = await page('/dashboard/history?page=2');
    expect(hist).toMatch(/Showing 51–100 of \d+ ended calls\./);
  });

  it('streams a coalesced `calls` event when a call starts, changes and ends', async () => {
    const s = await openStream(`${base}/dashboard/events`);
    try {
      expect([s.res.statusCode, s.res.headers['content-type'], s.res.headers['cache-control']]).toEqual([200, 'text/event-stream; charset=utf-8', 'no-store']);
      await eventually(() => s.text().includes('retry: 3000'), 2000);
      const caller = t.caller({ conversationId: 'sse-1' });
      ok(await caller.startSession());
      await eventually(() => s.events('calls').some((e) => e.ids.includes('sse-1') && e.started === 1), 2 * COALESCE_MS + 1000);
      // Ten calls one after another (some 50 changes within a few hundred ms): a handful of events, not one per change.
      const before = s.events('calls').length;
      const burst = Array.from({ length: 10 }, (_, i) => t.caller({ conversationId: `sse-burst-${i}` }));
      const t0 = Date.now();
      for (const c of burst) {
        ok(await c.startSession());
        await sleep(20);
      }
      expect(Date.now() - t0).toBeLessThan(900);
      const started = () => s.events('calls').slice(before).reduce((n, e) => n + e.started, 0);
      await eventually(() => started() >= 10, 2 * COALESCE_MS + 1000);
      expect(started()).toBe(10);
      expect(s.events('calls').slice(before).length).toBeLessThanOrEqual(3);
      ok(await caller.endSession());
      await eventually(() => s.events('calls').some((e) => e.ids.includes('sse-1') && e.ended >= 1), 2 * COALESCE_MS + 1000);
      await Promise.all(burst.map(async (c) => ok(await c.endSession())));
    } finally {
      s.close();
    }
  });

  it("a list page's own event stream pushes its live region on each update (the page fetches nothing); a bad view is a 400", async () => {
    const html = await page(`/dashboard/calls?agent=${encodeURIComponent(SECURE_AGENT)}`);
    const events = /<main [^>]*data-events="([^"]*)"/.exec(html)![1].replaceAll('&amp;', '&');
    expect(events).toBe(`/dashboard/events?view=calls&agent=${encodeURIComponent(SECURE_AGENT).replaceAll('%20', '+')}`);
    expect(html).toMatch(/<main [^>]*data-live="calls"/);
    expect(await page('/dashboard')).toMatch(/<main [^>]*data-events="\/dashboard\/events\?view=overview"/);
    expect(await page('/dashboard/history?page=2')).toMatch(/<main [^>]*data-events="\/dashboard\/events\?view=history&amp;page=2"/);
    const s = await openStream(base + events);
    const regions = () => s.events('region') as Array<{ id: string; html: string }>;
    const caller = t.caller({ conversationId: 'push-1', agentId: SECURE_AGENT });
    const other = t.caller({ conversationId: 'push-other' });
    try {
      // At once: the region as it is now.
      await eventually(() => regions().length === 1, 2000);
      expect(regions()[0].id).toBe('calls-live');
      expect(regions()[0].html).toMatch(/^<div id="calls-live" data-region>/);
      ok(await caller.startSession());
      ok(await other.startSession());
      await eventually(() => rows(regions().at(-1)!.html).includes('push-1'), 2 * COALESCE_MS + 1000);
      // The view's filter holds: a call of another agent is not in this list.
      expect(rows(regions().at(-1)!.html)).not.toContain('push-other');
      expect(regions().at(-1)!.html).toContain(`of ${SECURE_AGENT}.`);
      ok(await caller.endSession());
      await eventually(() => !rows(regions().at(-1)!.html).includes('push-1'), 2 * COALESCE_MS + 1000);
    } finally {
      s.close();
      ok(await other.endSession());
    }
    for (const q of ['view=nope', 'view=calls&page=0', 'view=history&agent=a&agent=b']) {
      const res = await fetch(`${base}/dashboard/events?${q}`);
      expect([q, res.status, await res.json()]).toEqual([q, 400, { statusCode: 400, message: expect.any(String) }]);
    }
  });
});

describe('dashboard: auth, and shutdown with viewers connected', () => {
  it('with auth on, anonymous requests are refused and tokens see the pages; only admins get the End call button', async () => {
    process.env.TEST_DASH_ADMIN = 'admin-token-0123456789';
    process.env.TEST_DASH_VIEWER = 'viewer-token-0123456789';
    const t = await startTestGateway({
      monitoring: {
        auth: {
          enabled: true,
          api_tokens: [
            { name: 'ops', role: 'admin', env: 'TEST_DASH_ADMIN' },
            { name: 'watch', role: 'viewer', env: 'TEST_DASH_VIEWER' },
          ],
        },
      },
    });
    try {
      const base = `http://${t.gw.httpAddress}`;
      for (const path of ['/dashboard', '/dashboard/calls', '/dashboard/events', '/dashboard/assets/dashboard.css', '/dashboard/calls/x']) {
        const res = await fetch(base + path, { headers: { accept: 'text/html' }, redirect: 'manual' });
        expect([path, res.status]).toEqual([path, 401]);
      }
      const caller = t.caller({ conversationId: 'auth-1' });
      ok(await caller.startSession());
      const as = async (token: string) => {
        const res = await fetch(`${base}/dashboard/calls/auth-1`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        return res.text();
      };
      const admin = await as(process.env.TEST_DASH_ADMIN);
      expect(admin).toContain('data-end-call');
      expect(admin).toContain('ops (admin)');
      const viewer = await as(process.env.TEST_DASH_VIEWER);
      expect(viewer).not.toContain('data-end-call');
      ok(await caller.endSession());
    } finally {
      await t.stop();
      delete process.env.TEST_DASH_ADMIN;
      delete process.env.TEST_DASH_VIEWER;
    }
  });

  it('the gateway shuts down promptly with dashboard event streams open, closing them', async () => {
    const t = await startTestGateway();
    const base = `http://${t.gw.httpAddress}`;
    const streams = await Promise.all([1, 2, 3].map(() => openStream(`${base}/dashboard/events`)));
    await eventually(() => streams.every((s) => s.text().includes('retry:')), 2000);
    const t0 = Date.now();
    await t.stop();
    expect(Date.now() - t0).toBeLessThan(1500);
    await Promise.all(streams.map((s) => s.ended));
  });
});
