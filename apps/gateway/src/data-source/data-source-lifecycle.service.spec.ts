import { buildGatewayConfig, createLogger, type DataSourceSection } from '@app/config';
import { FakeWebexApi } from '../../../../test/support/fake-webex-api';
import { DataSourceLifecycle } from './data-source-lifecycle.service';
import { DataSourceStatus } from './data-source-status.service';
import { createTokenProvider } from './webex-auth';
import { WebexDataSourcesClient } from './webex-data-sources.client';
import { WebexHttp } from './webex-http';

// The real lifecycle, client and token providers against a fake Webex API over real HTTP on loopback.

const URL_ = 'https://gw.example.com';
const SCHEMA = '5397013b-7920-4ffc-807c-e8a3e0a18f43';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually(fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

interface Started {
  lc: DataSourceLifecycle;
  status: DataSourceStatus;
  cfg: DataSourceSection;
  logs: Record<string, unknown>[];
  boot: Promise<void>;
}

describe('DataSourceLifecycle against a fake Webex API', () => {
  let fake: FakeWebexApi;
  const running: Started[] = [];

  beforeEach(async () => {
    fake = await new FakeWebexApi().start();
    // Data source tokens live seconds, not minutes, so renewals happen within a test.
    fake.secondsPerMinute = 1;
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.lc.onModuleDestroy();
    await fake.stop();
  });

  function env(): NodeJS.ProcessEnv {
    return { T_CLIENT_ID: fake.clientId, T_CLIENT_SECRET: fake.clientSecret, T_REFRESH: fake.refreshToken, T_APP: fake.appId, T_ORG: fake.orgId, T_PERSONAL: fake.personalToken };
  }

  function start(over: Record<string, unknown> = {}, processEnv = env()): Started {
    const cfg = buildGatewayConfig({
      data_source: {
        enabled: true,
        url: URL_,
        api_base_url: fake.baseUrl,
        token_lifetime_minutes: 60,
        renewal_lead_time_minutes: 1 / 60,
        retry_initial_seconds: 0.05,
        retry_interval_seconds: 0.4,
        startup_timeout_seconds: 3,
        request_timeout_seconds: 0.5,
        auth: { type: 'oauth_refresh', client_id_env: 'T_CLIENT_ID', client_secret_env: 'T_CLIENT_SECRET', refresh_token_env: 'T_REFRESH' },
        ...over,
      },
    }).data_source;
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line)) });
    const http = new WebexHttp(cfg.api_base_url, cfg.request_timeout_seconds * 1000);
    const status = new DataSourceStatus(cfg);
    const lc = new DataSourceLifecycle(cfg, status, new WebexDataSourcesClient(http, createTokenProvider(cfg.auth, http, processEnv)), logger);
    const r = { lc, status, cfg, logs, boot: lc.onApplicationBootstrap() };
    running.push(r);
    return r;
  }

  const writes = () => fake.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/dataSources'));

  it('registers the data source when Webex has none, with the configured fields', async () => {
    const { status, boot } = start();
    await boot;
    expect(fake.dataSources.size).toBe(1);
    const ds = [...fake.dataSources.values()][0];
    expect(ds).toMatchObject({ url: URL_, schemaId: SCHEMA, audience: 'BYOVAGateway', subject: 'callAudioData', status: 'active' });
    const post = fake.requests.find((r) => r.method === 'POST' && r.path === '/dataSources')!;
    expect(post.body).toMatchObject({ tokenLifetimeMinutes: 60, nonce: expect.any(String) });
    expect(status.snapshot()).toMatchObject({ phase: 'ready', healthy: true, dataSourceId: ds.id, tokenExpiresAt: ds.tokenExpiryTime, lastRenewalAt: expect.any(String) });
  });

  it('finds the data source by the configured id (not by url), and writes nothing when it matches', async () => {
    const byUrl = fake.seed({ url: URL_ });
    const configured = fake.seed({ url: URL_ });
    const { status, boot } = start({ id: configured.id });
    await boot;
    expect(status.snapshot().dataSourceId).toBe(configured.id);
    expect(byUrl.id).not.toBe(configured.id);
    expect(writes()).toEqual([]);
    expect(fake.count('GET', /^\/dataSources$/)).toBe(0);
  });

  it('takes the id from the environment variable id_env names', async () => {
    fake.seed({ url: URL_ });
    const mine = fake.seed({ url: URL_ });
    process.env.T_BYODS_ID = mine.id;
    try {
      const { status, boot } = start({ id_env: 'T_BYODS_ID' });
      await boot;
      expect(status.snapshot().dataSourceId).toBe(mine.id);
    } finally {
      delete process.env.T_BYODS_ID;
    }
  });

  it('finds the data source by url and schema among others, across pages', async () => {
    fake.pageSize = 1;
    fake.seed({ url: 'https://other.example.com' });
    fake.seed({ url: URL_, schemaId: 'a38a10b7-43e4-4676-a076-a7d6dce9387d' });
    const mine = fake.seed({ url: URL_ });
    const { status, boot } = start();
    await boot;
    expect(status.snapshot()).toMatchObject({ phase: 'ready', dataSourceId: mine.id });
    expect(fake.count('GET', /^\/dataSources$/)).toBe(3);
    expect(writes()).toEqual([]);
  });

  it('updates the data source when its url, audience, subject or status differ, keeping its id', async () => {
    const stale = fake.seed({ url: 'https://old.example.com', audience: 'Old', subject: 'old', status: 'disabled', errorMessage: 'disabled by admin' });
    const { status, boot } = start({ id: stale.id });
    await boot;
    const put = fake.requests.find((r) => r.method === 'PUT')!;
    expect(put.path).toBe(`/dataSources/${stale.id}`);
    expect(put.body).toMatchObject({ url: URL_, audience: 'BYOVAGateway', subject: 'callAudioData', schemaId: SCHEMA, status: 'active', tokenLifetimeMinutes: 60 });
    expect(fake.dataSources.get(stale.id)).toMatchObject({ url: URL_, audience: 'BYOVAGateway', subject: 'callAudioData', status: 'active' });
    expect(status.snapshot()).toMatchObject({ healthy: true, dataSourceId: stale.id, status: 'active' });
    expect(fake.dataSources.size).toBe(1);
  });

  it.each([
    ['url', { url: 'https://old.example.com' }],
    ['audience', { audience: 'Other' }],
    ['subject', { subject: 'other' }],
    ['schemaId', { schemaId: 'a38a10b7-43e4-4676-a076-a7d6dce9387d' }],
  ])('updates a data source whose %s alone differs', async (_field, diff) => {
    const ds = fake.seed({ url: URL_, ...diff });
    const { boot } = start({ id: ds.id });
    await boot;
    expect(fake.count('PUT', /^\/dataSources\//)).toBe(1);
    expect(fake.dataSources.get(ds.id)).toMatchObject({ url: URL_, schemaId: SCHEMA, audience: 'BYOVAGateway', subject: 'callAudioData' });
  });

  it('no-op while everything matches: periodic checks read, never write', async () => {
    fake.seed({ url: URL_ });
    const { status, boot } = start({ check_interval_minutes: 0.1 / 60 });
    await boot;
    const reads = fake.count('GET', /^\/dataSources$/);
    await sleep(700);
    expect(fake.count('GET', /^\/dataSources$/)).toBeGreaterThanOrEqual(reads + 3);
    expect(writes()).toEqual([]);
    expect(status.snapshot().lastRenewalAt).toBeUndefined();
  });

  it('a periodic check notices a data source disabled by someone else and re-activates it', async () => {
    const ds = fake.seed({ url: URL_ });
    const { status, boot } = start({ check_interval_minutes: 0.1 / 60 });
    await boot;
    Object.assign(fake.dataSources.get(ds.id)!, { status: 'disabled', errorMessage: 'paused' });
    await eventually(() => fake.count('PUT', /^\/dataSources\//) === 1 && status.snapshot().status === 'active');
    expect(fake.dataSources.get(ds.id)!.status).toBe('active');
  });

  it('re-activates a data source found by url that an administrator disabled', async () => {
    const ds = fake.seed({ url: URL_, status: 'disabled' });
    const { status, boot } = start();
    await boot;
    expect(fake.dataSources.get(ds.id)!.status).toBe('active');
    expect(status.snapshot().healthy).toBe(true);
  });

  it('renews the token before it expires, on schedule, with a new nonce, and the token never lapses', async () => {
    const { status, boot } = start({ token_lifetime_minutes: 2, renewal_lead_time_minutes: 0.8 / 60 });
    await boot;
    const first = status.snapshot().tokenExpiresAt!;
    const ds = [...fake.dataSources.values()][0];
    const nonces = new Set([ds.nonce]);
    let lapsed = false;
    const end = Date.now() + 4500;
    while (Date.now() < end) {
      if (Date.parse(fake.dataSources.get(ds.id)!.tokenExpiryTime) <= Date.now()) lapsed = true;
      nonces.add(fake.dataSources.get(ds.id)!.nonce);
      await sleep(20);
    }
    expect(lapsed).toBe(false);
    // A 2 s token renewed 0.8 s before expiry: about every 1.2 s.
    expect(fake.count('PUT', /^\/dataSources\//)).toBeGreaterThanOrEqual(2);
    // Every renewal carried a new nonce: one still in flight when the loop ended is applied after a short wait.
    const puts = fake.count('PUT', /^\/dataSources\//);
    await sleep(200);
    nonces.add(fake.dataSources.get(ds.id)!.nonce);
    expect(nonces.size).toBeGreaterThanOrEqual(puts + 1);
    expect(Date.parse(status.snapshot().tokenExpiresAt!)).toBeGreaterThan(Date.parse(first));
    expect(status.snapshot().tokenExpiresAt).toBe(fake.dataSources.get(ds.id)!.tokenExpiryTime);
  });

  it('two replicas whose renewals cross: the token never lapses and neither believes it lives longer than it does', async () => {
    const ds = fake.seed({ url: URL_ }, 2);
    // Both renew at about the same moment and each PUT takes 300 ms: the second reads before the first lands.
    fake.faults.push({ method: 'PUT', delayMs: 300, times: 2 });
    const cfg = { token_lifetime_minutes: 2, renewal_lead_time_minutes: 1 / 60 };
    const a = start(cfg);
    const b = start(cfg);
    await Promise.all([a.boot, b.boot]);
    const violations: string[] = [];
    const end = Date.now() + 3500;
    while (Date.now() < end) {
      const real = Date.parse(fake.dataSources.get(ds.id)!.tokenExpiryTime);
      if (real <= Date.now()) violations.push('lapsed');
      for (const [name, r] of [['a', a], ['b', b]] as const) {
        const believed = Date.parse(r.status.snapshot().tokenExpiresAt!);
        if (believed > real) violations.push(`${name} believes ${believed - real} ms too long`);
      }
      await sleep(10);
    }
    expect(violations).toEqual([]);
    const puts = fake.requests.filter((r) => r.method === 'PUT');
    expect(puts.length).toBeGreaterThanOrEqual(2);
    // The first two PUTs overlapped (both sent before either was answered).
    expect(Math.abs(puts[1].at - puts[0].at)).toBeLessThan(300);
    await eventually(() => [a, b].every((r) => r.status.snapshot().tokenExpiresAt === fake.dataSources.get(ds.id)!.tokenExpiryTime), 3000);
  });

  it('skips its renewal when another replica renewed the token just before', async () => {
    const ds = fake.seed({ url: URL_ }, 3);
    const { status, boot } = start({ token_lifetime_minutes: 3, renewal_lead_time_minutes: 1 / 60 });
    await boot;
    // Due at about 2 s (3 s token, 1 s lead, up to 0.1 s earlier); another replica renews at 1 s.
    await sleep(1000);
    fake.renewElsewhere(ds.id, 3);
    await sleep(1600);
    expect(fake.count('PUT', /^\/dataSources\//)).toBe(0);
    expect(status.snapshot().tokenExpiresAt).toBe(fake.dataSources.get(ds.id)!.tokenExpiryTime);
  });

  it('another writer shortens the token: the next check notices and renews before it lapses', async () => {
    const { status, boot } = start({ token_lifetime_minutes: 30, renewal_lead_time_minutes: 0.5 / 60, check_interval_minutes: 0.3 / 60 });
    await boot;
    const id = status.snapshot().dataSourceId!;
    expect(fake.count('PUT', /^\/dataSources\//)).toBe(0);
    fake.renewElsewhere(id, 1.5);
    let lapsed = false;
    const end = Date.now() + 2500;
    while (Date.now() < end) {
      if (Date.parse(fake.dataSources.get(id)!.tokenExpiryTime) <= Date.now()) lapsed = true;
      await sleep(10);
    }
    expect(lapsed).toBe(false);
    expect(fake.count('PUT', /^\/dataSources\//)).toBeGreaterThanOrEqual(1);
  });

  it('retries 500s with exponential backoff, then succeeds; status shows the failures meanwhile', async () => {
    fake.faults.push({ method: 'GET', path: /^\/dataSources$/, status: 500, times: 4 });
    const { status, boot } = start();
    const failing = new Promise<void>((resolve) => status.changes.subscribe(() => status.snapshot().phase === 'failing' && resolve()));
    await failing;
    expect(status.snapshot()).toMatchObject({ phase: 'failing', healthy: false, lastError: { message: expect.stringContaining('HTTP 500') } });
    await boot;
    expect(status.snapshot()).toMatchObject({ phase: 'ready', healthy: true, consecutiveFailures: 0 });
    // Four failed lists, the fifth answered (then one more after registering, to settle with other replicas).
    const at = fake.requests.filter((r) => r.method === 'GET' && r.path === '/dataSources').map((r) => r.at).slice(0, 5);
    expect(fake.requests.filter((r) => r.status === 500)).toHaveLength(4);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    // Steps of 50, 100, 200, 400 ms (capped at 400), each waited 50-100% of: at least 25, 50, 100, 200 ms.
    // Lower bounds only, so a loaded machine cannot fail it; a constant 50 ms backoff would.
    expect(gaps[1]).toBeGreaterThanOrEqual(48);
    expect(gaps[2]).toBeGreaterThanOrEqual(98);
    expect(gaps[3]).toBeGreaterThanOrEqual(198);
  });

  it('waits as long as a 429 Retry-After says', async () => {
    fake.faults.push({ method: 'GET', path: /^\/dataSources$/, status: 429, headers: { 'retry-after': '1' }, times: 1 });
    const { boot } = start();
    await boot;
    const at = fake.requests.filter((r) => r.method === 'GET' && r.path === '/dataSources').map((r) => r.at);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(990);
  });

  it('gives up on a request that hangs after request_timeout_seconds and retries', async () => {
    fake.faults.push({ method: 'GET', path: /^\/dataSources$/, delayMs: 3000, status: 200, times: 1 });
    const { status, boot } = start({ request_timeout_seconds: 0.3 });
    const t0 = Date.now();
    await boot;
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(status.snapshot()).toMatchObject({ phase: 'ready', lastError: { message: expect.stringContaining('no answer within 300 ms') } });
  });

  it('refuses a response over the size limit', async () => {
    fake.faults.push({ method: 'GET', path: /^\/dataSources$/, status: 200, body: { items: [], pad: 'x'.repeat(1_100_000) }, times: 1 });
    const { status, boot } = start({ fail_startup_on_error: false });
    await boot;
    await eventually(() => status.snapshot().lastError !== undefined);
    expect(status.snapshot().lastError!.message).toContain('response too large');
  });

  it('on a 401 gets a new access token with the refresh token and retries once; secrets are never logged', async () => {
    const { status, boot, logs } = start({ token_lifetime_minutes: 2, renewal_lead_time_minutes: 0.6 / 60 });
    await boot;
    expect(fake.count('POST', /^\/access_token$/)).toBe(1);
    fake.revokeAccessTokens();
    const before = fake.count('PUT', /^\/dataSources\//);
    await eventually(() => status.snapshot().phase === 'ready' && fake.count('PUT', /^\/dataSources\//) > before);
    expect(fake.count('POST', /^\/access_token$/)).toBe(2);
    expect(fake.requests.filter((r) => r.status === 401)).toHaveLength(1);
    expect(status.snapshot().consecutiveFailures).toBe(0);
    const all = JSON.stringify(logs);
    for (const secret of [fake.clientSecret, fake.refreshToken, ...[...fake.dataSources.values()].map((d) => d.jwsToken)]) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/AT-[0-9a-f]{24}/);
  });

  it('a refused refresh token stops start-up with a clear message (fail_startup_on_error), naming no secret', async () => {
    const { boot } = start({}, { ...env(), T_REFRESH: 'RT-wrong' });
    const e = (await boot.catch((err: Error) => err)) as Error;
    expect(e.message).toMatch(/refresh token refused \(HTTP 400\).*fail_startup_on_error/);
    expect(e.message).not.toContain('RT-wrong');
  });

  it('an unknown configured id stops start-up; with fail_startup_on_error false it serves and reports it', async () => {
    const a = start({ id: 'DS-missing' });
    await expect(a.boot).rejects.toThrow('data source DS-missing not found in Webex');
    const b = start({ id: 'DS-missing', fail_startup_on_error: false });
    await b.boot;
    expect(b.status.snapshot()).toMatchObject({ phase: 'failing', healthy: false, lastError: { message: expect.stringContaining('DS-missing not found') } });
    expect(fake.dataSources.size).toBe(0);
  });

  it('Webex down at start-up: start-up goes on after startup_timeout_seconds, then the lifecycle recovers', async () => {
    fake.down = true;
    const t0 = Date.now();
    const { status, boot } = start({ startup_timeout_seconds: 0.5 });
    await boot;
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(status.snapshot()).toMatchObject({ phase: 'failing', healthy: false, lastError: { message: expect.any(String) } });
    fake.down = false;
    await eventually(() => status.snapshot().healthy);
    expect(fake.dataSources.size).toBe(1);
  });

  it('service app: mints its token with the personal token, then uses it for the data source API', async () => {
    const { status, boot } = start({
      auth: {
        type: 'service_app',
        app_id_env: 'T_APP',
        client_id_env: 'T_CLIENT_ID',
        client_secret_env: 'T_CLIENT_SECRET',
        target_org_id_env: 'T_ORG',
        personal_auth: { type: 'static', access_token_env: 'T_PERSONAL' },
      },
    });
    await boot;
    expect(fake.count('POST', /^\/applications\/APP-1\/token$/)).toBe(1);
    expect(fake.requests.find((r) => r.path === '/applications/APP-1/token')!.body).toEqual({ clientId: fake.clientId, clientSecret: fake.clientSecret, targetOrgId: fake.orgId });
    expect(status.snapshot().healthy).toBe(true);
  });

  it('a missing secret variable is an error naming the variable', () => {
    expect(() => start({}, { T_CLIENT_ID: 'x', T_REFRESH: 'y' })).toThrow('data_source.auth.client_secret_env: environment variable T_CLIENT_SECRET is not set');
  });
});
