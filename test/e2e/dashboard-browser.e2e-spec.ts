import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { FakeOidcProvider } from '../support/fake-oidc-provider';
import { freePort, LOCAL_AGENT, localConnector, ok, REPO, startTestGateway, type TestGateway } from './harness';

const CHROMIUM = '/usr/bin/chromium';
const XSS = '<img src=x onerror=alert(1)>';
/** Screenshots for review (gitignored). */
const SHOTS = resolve(REPO, 'test-output/dashboard');
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** Debian's chromium, headless, with a fresh profile (playwright passes it as --user-data-dir). */
function launch(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 800 },
  });
}

/**
 * The dashboard in a real headless browser (Debian's chromium driven by playwright-core): no console errors,
 * blocked requests or CSP violations; calls appear and change live over SSE without a reload; the XSS id is
 * text; keyboard focus is visible; dark mode renders.
 */
describe('dashboard in a real browser', () => {
  let t: TestGateway;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const problems: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
    mkdirSync(SHOTS, { recursive: true });
    t = await startTestGateway({ connectors: { local: localConnector(), other: localConnector({}, { agent_id: 'Other line' }) } });
    base = `http://${t.gw.httpAddress}`;
    profile = mkdtempSync(join(tmpdir(), 'dash-chromium-'));
    context = await launch(profile);
    // CSP violations reported by the page itself (besides the console message Chromium logs for each).
    // (Browser code as strings: the project's TypeScript has no DOM types.)
    await context.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      // Leaving a page aborts its event stream and a live refresh in flight: expected. A blocked request is not.
      if (['eventsource', 'fetch'].includes(r.resourceType()) && r.failure()?.errorText === 'net::ERR_ABORTED') return;
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void (d.type() === 'confirm' ? d.accept() : d.dismiss());
    });
  });
  afterAll(async () => {
    await context?.close();
    await t?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Loads a page and waits until its event stream is open. */
  async function open(path: string) {
    await page.goto(base + path);
    await page.locator('#live-status', { hasText: 'Live updates on' }).waitFor({ timeout: 10_000 });
  }

  it('loads the overview with no console errors, failed requests or CSP violations; light and dark mode', async () => {
    await open('/dashboard');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(await page.locator('svg.chart').count()).toBe(2);
    const background = () => page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor');
    const light = await background();
    expect(light).toBe('rgb(255, 255, 255)');
    await shot(page, 'overview-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    expect(dark).toBe('rgb(20, 22, 26)');
    expect(dark).not.toBe(light);
    await shot(page, 'overview-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(problems).toEqual([]);
  });

  it('keyboard: Tab reaches the skip link, then the nav links, each with a visible focus ring', async () => {
    await open('/dashboard');
    const focused = () =>
      page.evaluate<{ text?: string; outline: string; width: string }>(
        '(() => { const el = document.activeElement; const cs = getComputedStyle(el); return { text: el.textContent.trim(), outline: cs.outlineStyle, width: cs.outlineWidth }; })()',
      );
    await page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ text: 'Skip to main content', outline: 'solid' });
    expect(await page.locator('.skip-link').boundingBox()).toMatchObject({ y: expect.any(Number) });
    const seen: string[] = [];
    for (let i = 0; i < 8 && !seen.includes('Configuration'); i++) {
      await page.keyboard.press('Tab');
      const f = await focused();
      expect(f.outline).toBe('solid');
      seen.push(f.text ?? '');
    }
    expect(seen).toEqual(expect.arrayContaining(['Overview', 'Active calls', 'History', 'Agents', 'Configuration']));
    // The skip link moves focus to the main content.
    await page.keyboard.press('Shift+Tab');
    await page.goto(`${base}/dashboard/calls`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('main');
    expect(problems).toEqual([]);
  });

  it('a call appears live on the active calls page, its timeline fills in turn by turn, it ends and moves to the history', async () => {
    await open('/dashboard/calls');
    await page.evaluate('window.notReloaded = true');
    // The list's stream pushes its rows: the page fetches nothing to show them.
    const fetched: string[] = [];
    const onRequest = (r: { resourceType(): string; url(): string }) => void (r.resourceType() === 'fetch' && fetched.push(r.url()));
    page.on('request', onRequest);
    const caller = t.caller({ conversationId: 'browser-call-1', customerOrgId: 'org-b' });
    ok(await caller.startSession());
    const row = page.locator('a.call-id', { hasText: 'browser-call-1' });
    await row.waitFor({ timeout: 10_000 });
    expect(await page.evaluate<boolean>('window.notReloaded === true')).toBe(true);
    page.off('request', onRequest);
    expect(fetched).toEqual([]);
    await shot(page, 'calls');

    await row.click();
    await page.locator('#live-status', { hasText: 'Live updates on' }).waitFor({ timeout: 10_000 });
    await page.evaluate('window.notReloaded = true');
    await page.locator('#rpc-1').waitFor();
    expect(await page.locator('#rpc-1 h3').textContent()).toContain('SESSION_START');
    expect(await page.locator('#rpc-3').count()).toBe(0);
    ok(await caller.sendDtmf('1'));
    await page.locator('#rpc-3 h3', { hasText: 'DTMF (1 digit)' }).waitFor({ timeout: 10_000 });
    ok(await caller.sendDtmf('2'));
    await page.locator('#rpc-5').waitFor({ timeout: 10_000 });
    expect(await page.locator('#call-turns').textContent()).toBe('5');
    await shot(page, 'call-detail');
    ok(await caller.sendDtmf('6')); // the local agent says goodbye and ends the call
    await page.locator('#call-end-reason', { hasText: 'agent_ended' }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate<boolean>('window.notReloaded === true')).toBe(true);

    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('a.call-id', { hasText: 'browser-call-1' }).waitFor();
    expect(await page.locator('tr', { hasText: 'browser-call-1' }).textContent()).toContain('agent_ended');
    await shot(page, 'history');
    expect(problems).toEqual([]);
  });

  it('the End call button ends a running call (POST to the API), and the page shows it ended', async () => {
    const caller = t.caller({ conversationId: 'browser-stuck-1' });
    ok(await caller.startSession());
    await open('/dashboard/calls/browser-stuck-1');
    await page.getByRole('button', { name: 'End call' }).click();
    await page.locator('#end-call-status', { hasText: 'Call ended.' }).waitFor({ timeout: 10_000 });
    await page.locator('#call-end-reason', { hasText: 'admin_ended' }).waitFor({ timeout: 10_000 });
    expect(dialogs).toEqual(['confirm: End this call now? The caller is disconnected.']);
    expect(await page.getByRole('button', { name: 'End call' }).count()).toBe(0);
    expect(problems).toEqual([]);
    dialogs.splice(0);
  });

  it('renders the id <img src=x onerror=alert(1)> as text: visible, no image element, no dialog', async () => {
    const caller = t.caller({ conversationId: XSS });
    ok(await caller.startSession());
    await open('/dashboard/calls');
    await page.getByText(XSS, { exact: true }).waitFor();
    expect(await page.getByText(XSS, { exact: true }).isVisible()).toBe(true);
    expect(await page.locator('img').count()).toBe(0);
    await page.getByText(XSS, { exact: true }).click();
    await page.getByRole('heading', { level: 1, name: `Call ${XSS}` }).waitFor();
    expect(await page.locator('img').count()).toBe(0);
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    ok(await caller.endSession());
    expect(problems).toEqual([]);
  });

  it('agents, configuration and an unknown call render (screenshots)', async () => {
    // A few calls running, for the overview's picture.
    const callers = ['a', 'b', 'c'].map((s, i) => t.caller({ conversationId: `shot-${s}`, agentId: i === 2 ? 'Local Audio: Other line' : LOCAL_AGENT }));
    for (const c of callers) ok(await c.startSession());
    await page.goto(`${base}/dashboard/agents`);
    await page.getByRole('heading', { level: 1, name: 'Agents and connectors' }).waitFor();
    await shot(page, 'agents');
    await page.goto(`${base}/dashboard/config`);
    expect(await page.locator('pre.config').textContent()).toContain('history_size: 1000');
    await shot(page, 'config');
    await open('/dashboard');
    await shot(page, 'overview-with-calls');
    for (const c of callers) ok(await c.endSession());
    const res = await page.goto(`${base}/dashboard/calls/nobody-here`);
    expect(res?.status()).toBe(404);
    await page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
    // That 404 was asked for; nothing else may have gone wrong.
    expect(problems.filter((p) => !p.includes('/dashboard/calls/nobody-here') && !p.includes('404 (Not Found)'))).toEqual([]);
  });
});

describe('dashboard in a real browser with auth on: OIDC login (fake provider), then End call with the CSRF token', () => {
  const ORG = 'org-dash-1';
  let idp: FakeOidcProvider;
  let t: TestGateway;
  let base: string;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
    idp = await new FakeOidcProvider().start();
    idp.idToken = { claims: { org_id: ORG, email: 'boss@example.com' } };
    process.env.TEST_DASH_OIDC_SECRET = idp.clientSecret;
    const port = await freePort();
    t = await startTestGateway({
      monitoring: {
        port,
        auth: {
          enabled: true,
          oidc: {
            issuer_url: idp.issuer,
            client_id: idp.clientId,
            client_secret_env: 'TEST_DASH_OIDC_SECRET',
            redirect_uri: `http://127.0.0.1:${port}/auth/callback`,
            allowed_org_ids: [ORG],
            admin_emails: ['boss@example.com'],
          },
        },
      },
    });
    base = `http://127.0.0.1:${port}`;
    profile = mkdtempSync(join(tmpdir(), 'dash-chromium-'));
    context = await launch(profile);
  });
  afterAll(async () => {
    await context?.close();
    await t?.stop();
    await idp?.stop();
    delete process.env.TEST_DASH_OIDC_SECRET;
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('an anonymous browser is sent through the login and back to the page; the admin ends the call', async () => {
    const problems: string[] = [];
    const page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('dialog', (d) => void d.accept());
    const caller = t.caller({ conversationId: 'oidc-call-1' });
    ok(await caller.startSession());

    const hops: string[] = [];
    page.on('response', (r) => hops.push(`${r.status()} ${new URL(r.url()).pathname}`));
    await page.goto(`${base}/dashboard/calls/oidc-call-1`);
    expect(hops.slice(0, 4)).toEqual(['302 /dashboard/calls/oidc-call-1', '302 /auth/login', '302 /authorize', '302 /auth/callback']);
    expect(new URL(page.url()).pathname).toBe('/dashboard/calls/oidc-call-1');
    await page.getByRole('heading', { level: 1, name: 'Call oidc-call-1' }).waitFor();
    expect(await page.locator('.session').textContent()).toContain('boss@example.com (admin)');
    expect(await page.locator('meta[name="csrf-token"]').getAttribute('content')).toMatch(/^[\w-]{20,}$/);

    await page.getByRole('button', { name: 'End call' }).click();
    await page.locator('#end-call-status', { hasText: 'Call ended.' }).waitFor({ timeout: 10_000 });
    await page.locator('#call-end-reason', { hasText: 'admin_ended' }).waitFor({ timeout: 10_000 });
    expect(problems).toEqual([]);

    await page.getByRole('link', { name: 'Log out' }).click();
    expect(await page.textContent('body')).toContain('Logged out.');
    const res = await page.request.get(`${base}/dashboard`, { headers: { accept: 'application/json' }, maxRedirects: 0 });
    expect(res.status()).toBe(401);
  });
});
