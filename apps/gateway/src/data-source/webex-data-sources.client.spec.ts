import { FakeWebexApi } from '../../../../test/support/fake-webex-api';
import { RefreshTokenProvider } from './webex-auth';
import { WebexDataSourcesClient } from './webex-data-sources.client';
import { parseRetryAfter, WebexApiError, WebexHttp } from './webex-http';

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, caps at an hour, ignores garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('999999', now)).toBe(3600_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('WebexDataSourcesClient against the fake Webex API', () => {
  let fake: FakeWebexApi;
  let client: WebexDataSourcesClient;
  beforeEach(async () => {
    fake = await new FakeWebexApi().start();
    const http = new WebexHttp(fake.baseUrl, 500);
    client = new WebexDataSourcesClient(http, new RefreshTokenProvider(http, fake.clientId, fake.clientSecret, fake.refreshToken));
  });
  afterEach(() => fake.stop());

  it('a 401 after a fresh token is final, and says to check the credentials', async () => {
    fake.faults.push({ method: 'GET', path: /^\/dataSources$/, status: 401, times: 2 });
    const e = (await client.list().catch((err: unknown) => err)) as WebexApiError;
    expect(e).toBeInstanceOf(WebexApiError);
    expect(e).toMatchObject({ status: 401, transient: false });
    expect(e.message).toMatch(/after a new access token.*credentials/);
    expect(fake.count('POST', /^\/access_token$/)).toBe(2);
    expect(fake.count('GET', /^\/dataSources$/)).toBe(2);
  });

  it('follows Link: next on the same origin only (the token is not sent elsewhere)', async () => {
    fake.faults.push({ method: 'GET', path: /^\/dataSources$/, status: 200, body: { items: [] }, headers: { link: '<http://elsewhere.example/v1/dataSources?cursor=1>; rel="next"' } });
    await expect(client.list()).rejects.toThrow('refusing to follow a link to http://elsewhere.example');
  });

  it('a 404 on read is "absent", a 403 is a permanent error with Webex\'s message', async () => {
    expect(await client.get('DS-none')).toBeUndefined();
    fake.faults.push({ method: 'GET', status: 403, body: { message: 'missing scope spark-admin:datasource_read' } });
    await expect(client.get('DS-x')).rejects.toMatchObject({ status: 403, transient: false, message: expect.stringContaining('missing scope') });
  });
});
