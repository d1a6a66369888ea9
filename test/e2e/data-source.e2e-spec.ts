import { status as grpcStatus } from '@grpc/grpc-js';
import { BYOVA_SERVICE } from '@app/proto';
import { DataSourceStatus } from '../../apps/gateway/src/data-source/data-source-status.service';
import { DATA_SOURCE_HEALTH_SERVICE, HealthService } from '../../apps/gateway/src/health/health.service';
import { FakeWebexApi } from '../support/fake-webex-api';
import { HealthClient, ServingStatus as S } from '../support/grpc-clients';
import { eventually, sleep, startTestGateway, type TestGateway } from './harness';

// The whole gateway (NestJS app, gRPC listener) with data_source on, against a fake Webex API over real HTTP.

const URL_ = 'https://gw.example.com';

describe('BYODS data source lifecycle in the running gateway', () => {
  let fake: FakeWebexApi;
  const gateways: TestGateway[] = [];
  const clients: HealthClient[] = [];

  beforeEach(async () => {
    fake = await new FakeWebexApi().start();
    fake.secondsPerMinute = 1;
    Object.assign(process.env, { E2E_BYODS_ID: fake.clientId, E2E_BYODS_SECRET: fake.clientSecret, E2E_BYODS_REFRESH: fake.refreshToken });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(gateways.splice(0).map((g) => g.stop()));
    await fake.stop();
  });

  const dataSource = (over: Record<string, unknown> = {}) => ({
    enabled: true,
    url: URL_,
    api_base_url: fake.baseUrl,
    token_lifetime_minutes: 60,
    renewal_lead_time_minutes: 1 / 60,
    retry_initial_seconds: 0.05,
    retry_interval_seconds: 0.3,
    startup_timeout_seconds: 3,
    request_timeout_seconds: 0.5,
    auth: { type: 'oauth_refresh', client_id_env: 'E2E_BYODS_ID', client_secret_env: 'E2E_BYODS_SECRET', refresh_token_env: 'E2E_BYODS_REFRESH' },
    ...over,
  });

  async function start(over: Record<string, unknown> = {}): Promise<{ t: TestGateway; health: HealthClient; status: DataSourceStatus }> {
    const t = await startTestGateway({ data_source: dataSource(over) });
    gateways.push(t);
    const health = new HealthClient(t.target);
    clients.push(health);
    return { t, health, status: t.gw.app.get(DataSourceStatus) };
  }

  it('registers before serving; health reports the data source SERVING', async () => {
    const { t, health, status } = await start();
    expect(fake.dataSources.size).toBe(1);
    const ds = [...fake.dataSources.values()][0];
    expect(status.snapshot()).toMatchObject({ enabled: true, phase: 'ready', healthy: true, dataSourceId: ds.id, tokenExpiresAt: ds.tokenExpiryTime });
    expect(await health.check(DATA_SOURCE_HEALTH_SERVICE)).toEqual({ status: S.SERVING });
    expect(t.gw.app.get(HealthService).dataSource()).toMatchObject({ healthy: true, dataSourceId: ds.id });
    // The monitoring API's status shows it too.
    const apiStatus = (await (await fetch(`http://${t.gw.httpAddress}/api/status`)).json()) as { data_source: Record<string, unknown> };
    expect(apiStatus.data_source).toMatchObject({ enabled: true, phase: 'ready', healthy: true, dataSourceId: ds.id, tokenExpiresAt: ds.tokenExpiryTime });
    expect((await health.list()).statuses).toEqual({ '': { status: S.SERVING }, [BYOVA_SERVICE]: { status: S.SERVING }, [DATA_SOURCE_HEALTH_SERVICE]: { status: S.SERVING } });
  });

  it('Webex down at start-up: the gateway still starts and serves calls; health and status show the data source failing, then recovered', async () => {
    fake.down = true;
    const t0 = Date.now();
    const { t, health, status } = await start({ startup_timeout_seconds: 0.5 });
    expect(Date.now() - t0).toBeLessThan(3000);
    const call = await t.caller().startSession();
    expect(call.status.code).toBe(grpcStatus.OK);
    expect(call.responses[0].prompts[0].text).toMatch(/welcome/i);
    expect(await health.check('')).toEqual({ status: S.SERVING });
    expect(await health.check(DATA_SOURCE_HEALTH_SERVICE)).toEqual({ status: S.NOT_SERVING });
    expect(status.snapshot()).toMatchObject({ phase: 'failing', healthy: false, lastError: { message: expect.stringMatching(/ECONNRESET|socket|other side closed|fetch failed/i) } });

    const watch = health.watch(DATA_SOURCE_HEALTH_SERVICE);
    expect(await watch.next(1)).toEqual([S.NOT_SERVING]);
    fake.down = false;
    expect(await watch.next(2, 5000)).toEqual([S.NOT_SERVING, S.SERVING]);
    expect(status.snapshot()).toMatchObject({ phase: 'ready', healthy: true });
    watch.cancel();
  });

  it('health turns NOT_SERVING when the token expires and cannot be renewed', async () => {
    const { health } = await start({ token_lifetime_minutes: 1, renewal_lead_time_minutes: 0.4 / 60 });
    const watch = health.watch(DATA_SOURCE_HEALTH_SERVICE);
    expect(await watch.next(1)).toEqual([S.SERVING]);
    fake.down = true;
    expect(await watch.next(2, 3000)).toEqual([S.SERVING, S.NOT_SERVING]);
    watch.cancel();
  });

  it('an unknown configured id stops start-up with a message naming it', async () => {
    await expect(startTestGateway({ data_source: dataSource({ id: 'DS-nope' }) })).rejects.toThrow(/data source DS-nope not found in Webex/);
  });

  it('two gateways starting and renewing together: one data source, the token never lapses, both agree with Webex', async () => {
    // Both register at the same moment: the fake answers the two registrations together.
    fake.registrationBarrier = 2;
    const cfg = { token_lifetime_minutes: 2, renewal_lead_time_minutes: 0.7 / 60 };
    const [a, b] = await Promise.all([start(cfg), start(cfg)]);
    expect(fake.count('POST', /^\/dataSources$/)).toBe(2);
    await eventually(() => fake.dataSources.size === 1, 3000);
    const id = [...fake.dataSources.keys()][0];
    expect(a.status.snapshot().dataSourceId).toBe(id);
    expect(b.status.snapshot().dataSourceId).toBe(id);

    let lapsed = 0;
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      const ds = fake.dataSources.get(id);
      if (!ds || Date.parse(ds.tokenExpiryTime) <= Date.now()) lapsed++;
      await sleep(20);
    }
    expect(lapsed).toBe(0);
    expect(fake.dataSources.size).toBe(1);
    expect(fake.count('PUT', /^\/dataSources\//)).toBeGreaterThanOrEqual(2);
    // Neither kept a token another replica replaced: both show the expiry Webex holds now (or renew within the lead).
    const now = fake.dataSources.get(id)!.tokenExpiryTime;
    await eventually(() => a.status.snapshot().tokenExpiresAt === fake.dataSources.get(id)!.tokenExpiryTime && b.status.snapshot().tokenExpiresAt === fake.dataSources.get(id)!.tokenExpiryTime, 3000);
    expect(Date.parse(fake.dataSources.get(id)!.tokenExpiryTime)).toBeGreaterThanOrEqual(Date.parse(now));
    expect(a.status.snapshot().healthy && b.status.snapshot().healthy).toBe(true);
  });
});
