import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServiceError, status } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { BYOVA_SERVICE } from '@app/proto';
import type { TurnResult } from '@app/simulator';
import { runCli } from '../../libs/simulator/src/cli';
import { JwtMetrics } from '../../apps/gateway/src/jwt-auth/jwt-metrics.service';
import { b64json, FakeWebexIdBroker, TEST_DATASOURCE_URL, TEST_SCHEMA_ID } from '../support/fake-webex-idbroker';
import { HealthClient, ServingStatus } from '../support/grpc-clients';
import { ReflectionClient } from '../support/reflection-client';
import { eventually, LOCAL_AGENT, sleep, startTestGateway, type TestGateway } from './harness';

const WEBEX_US = 'https://idbroker.webex.com/idb';

type Outcome = { code: number; details: string };

/** The token settings of a gateway trusting `broker` (under its own name and, through an override, as Webex's US broker). */
function jwtSettings(broker: FakeWebexIdBroker, extra: Record<string, unknown> = {}) {
  return {
    enabled: true,
    datasource_url: TEST_DATASOURCE_URL,
    issuers: [broker.issuer, WEBEX_US],
    jwks_url_overrides: { [WEBEX_US]: `${broker.origin}${broker.overridePath}` },
    jwks_refresh_min_interval_seconds: 0,
    jwks_timeout_ms: 500,
    ...extra,
  };
}

async function start(broker: FakeWebexIdBroker, extra: Record<string, unknown> = {}, logs?: Record<string, unknown>[]) {
  return startTestGateway({ jwt_validation: jwtSettings(broker, extra) }, { logs });
}

/** ListVirtualAgents with this authorization value (none: no header). */
async function listAgents(t: TestGateway, authorization?: string): Promise<Outcome> {
  const c = t.caller({ metadata: authorization === undefined ? {} : { authorization } });
  try {
    const res = await c.listAgents();
    expect(res.virtualAgents.map((a) => a.virtualAgentId)).toContain(LOCAL_AGENT);
    return { code: status.OK, details: '' };
  } catch (e) {
    return { code: (e as ServiceError).code, details: (e as ServiceError).details };
  } finally {
    c.close();
  }
}

/** SESSION_START of a new call (ProcessCallerInput) with this authorization value. */
async function sessionStart(t: TestGateway, authorization?: string): Promise<Outcome & { turn: TurnResult }> {
  const c = t.caller({ agentId: LOCAL_AGENT, metadata: authorization === undefined ? {} : { authorization } });
  try {
    const turn = await c.startSession();
    return { code: turn.status.code, details: turn.status.code === status.OK ? '' : turn.status.details, turn };
  } finally {
    c.close();
  }
}

/** Both methods with `token` as `Bearer <token>`: the same outcome expected from each. */
async function both(t: TestGateway, token: string | undefined): Promise<Outcome[]> {
  const auth = token === undefined ? undefined : `Bearer ${token}`;
  const list = await listAgents(t, auth);
  const { code, details } = await sessionStart(t, auth);
  return [list, { code, details }];
}

const OK: Outcome = { code: status.OK, details: '' };
const refused = (reason: string): Outcome => ({ code: status.UNAUTHENTICATED, details: reason });
const now = () => Math.floor(Date.now() / 1000);

describe('jwt_validation over real gRPC, against a fake Webex identity broker', () => {
  let broker: FakeWebexIdBroker;
  let t: TestGateway;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    broker = await new FakeWebexIdBroker().start();
    t = await start(broker, {}, logs);
  });
  afterAll(async () => {
    await t.stop();
    await broker.stop();
  });

  it('a valid token opens both methods and a whole call; Bearer (any case) or bare', async () => {
    const token = await broker.token();
    const accepted = t.gw.app.get(JwtMetrics).snapshot().accepted;
    expect(await both(t, token)).toEqual([OK, OK]);
    expect(t.gw.app.get(JwtMetrics).snapshot().accepted).toBe(accepted + 2);
    expect(await listAgents(t, token)).toEqual(OK);
    expect(await listAgents(t, `bearer ${token}`)).toEqual(OK);
    const c = t.caller({ agentId: LOCAL_AGENT, metadata: { authorization: `Bearer ${token}` } });
    try {
      const welcome = await c.startSession();
      expect(welcome.status.code).toBe(status.OK);
      expect(welcome.prompts.length).toBeGreaterThan(0);
      expect((await c.sendDtmf('1')).status.code).toBe(status.OK);
      expect((await c.endSession()).status.code).toBe(status.OK);
    } finally {
      c.close();
    }
  });

  it('no authorization header, or an empty one: missing token', async () => {
    expect(await both(t, undefined)).toEqual([refused('missing token'), refused('missing token')]);
    expect(await listAgents(t, 'Bearer ')).toEqual(refused('missing token'));
  });

  it('a refused SESSION_START starts no conversation', async () => {
    const before = t.gw.engine.conversationCount;
    const r = await sessionStart(t, 'Bearer nope');
    expect(r.code).toBe(status.UNAUTHENTICATED);
    expect(r.turn.prompts).toEqual([]);
    expect(t.gw.engine.conversationCount).toBe(before);
  });

  it('expired: refused beyond the leeway (60 s), accepted within it', async () => {
    expect(await both(t, await broker.token({ claims: { exp: now() - 120, iat: now() - 3600 } }))).toEqual([refused('token expired'), refused('token expired')]);
    expect(await both(t, await broker.token({ claims: { exp: now() - 30, iat: now() - 3600 } }))).toEqual([OK, OK]);
  });

  it('not yet valid (nbf, iat in the future): refused beyond the leeway, accepted within it', async () => {
    expect(await both(t, await broker.token({ claims: { nbf: now() + 120 } }))).toEqual([refused('token not yet valid'), refused('token not yet valid')]);
    expect(await both(t, await broker.token({ claims: { iat: now() + 120 } }))).toEqual([refused('token not yet valid'), refused('token not yet valid')]);
    expect(await both(t, await broker.token({ claims: { nbf: now() + 30, iat: now() + 30 } }))).toEqual([OK, OK]);
  });

  it('an issuer off the allow-list is refused before any key is fetched for it', async () => {
    const evil = `${broker.origin}/evil`;
    const token = await broker.token({}, evil);
    expect(await both(t, token)).toEqual([refused('unknown issuer'), refused('unknown issuer')]);
    expect(await both(t, await broker.token({ claims: { iss: undefined } }))).toEqual([refused('unknown issuer'), refused('unknown issuer')]);
    expect(broker.requests.filter((p) => p.startsWith('/evil'))).toEqual([]);
  });

  it('Webex\'s issuer name with its keys from jwks_url_overrides', async () => {
    const metrics = t.gw.app.get(JwtMetrics);
    const accepted = metrics.snapshot().accepted;
    expect(await both(t, await broker.token({}, WEBEX_US))).toEqual([OK, OK]);
    expect(broker.requests).toContain(broker.overridePath);
    expect(metrics.snapshot().accepted).toBe(accepted + 2);
  });

  it('wrong audience, subject, schema id', async () => {
    expect(await both(t, await broker.token({ claims: { aud: 'SomethingElse' } }))).toEqual([refused('audience mismatch'), refused('audience mismatch')]);
    expect(await both(t, await broker.token({ claims: { sub: 'otherData' } }))).toEqual([refused('subject mismatch'), refused('subject mismatch')]);
    const ws = 'a38a10b7-43e4-4676-a076-a7d6dce9387d';
    expect(await both(t, await broker.token({ claims: { 'com.cisco.datasource.schema.uuid': ws } }))).toEqual([refused('schema id mismatch'), refused('schema id mismatch')]);
    expect(await listAgents(t, `Bearer ${await broker.token({ claims: { 'com.cisco.datasource.schema.uuid': undefined } })}`)).toEqual(refused('schema id mismatch'));
    expect(await listAgents(t, `Bearer ${await broker.token({ claims: { 'com.cisco.datasource.schema.uuid': TEST_SCHEMA_ID.toUpperCase() } })}`)).toEqual(OK);
  });

  it('data source url: equal character for character, as Webex compares it (the default port written out is another URL)', async () => {
    const url = (u: string | undefined) => broker.token({ claims: { 'com.cisco.datasource.url': u } });
    expect(await both(t, await url('https://gateway.example.com/byova'))).toEqual([OK, OK]);
    const wrong = [
      'https://gateway.example.com:443/byova',
      'https://GATEWAY.example.com/byova',
      'https://gateway.example.com/byova/',
      'https://gateway.example.com:8443/byova',
      'https://gateway.example.com/other',
      'http://gateway.example.com/byova',
      'https://evil.example.com/byova',
      'not a url',
      undefined,
    ];
    for (const bad of wrong) {
      expect({ bad, outcome: await listAgents(t, `Bearer ${await url(bad)}`) }).toEqual({ bad, outcome: refused('data source url mismatch') });
    }
    expect((await sessionStart(t, `Bearer ${await url('https://gateway.example.com:443/byova')}`)).details).toBe('data source url mismatch');
  });

  it('required claims: exp and jti', async () => {
    expect(await both(t, await broker.token({ claims: { exp: undefined } }))).toEqual([refused('missing claim'), refused('missing claim')]);
    expect(await listAgents(t, `Bearer ${await broker.token({ claims: { jti: undefined } })}`)).toEqual(refused('missing claim'));
    expect(await listAgents(t, `Bearer ${await broker.token({ claims: { jti: '' } })}`)).toEqual(refused('missing claim'));
  });

  it('alg none is refused', async () => {
    const payload = JSON.parse(Buffer.from((await broker.token()).split('.')[1], 'base64url').toString());
    const none = `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(payload)}.`;
    expect(await both(t, none)).toEqual([refused('unsupported algorithm'), refused('unsupported algorithm')]);
  });

  it('HS256 "signed" with the issuer\'s public key is refused', async () => {
    const pem = await broker.publicKeyPem();
    const payload = JSON.parse(Buffer.from((await broker.token()).split('.')[1], 'base64url').toString());
    for (const secret of [pem, JSON.stringify(broker.currentKey.jwk)]) {
      const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: broker.currentKey.kid }).sign(new TextEncoder().encode(secret));
      expect(await both(t, forged)).toEqual([refused('unsupported algorithm'), refused('unsupported algorithm')]);
    }
  });

  it('a forged signature or a changed payload is refused', async () => {
    const foreign = await FakeWebexIdBroker.newKey(broker.currentKey.kid);
    expect(await both(t, await broker.token({ key: foreign }))).toEqual([refused('signature invalid'), refused('signature invalid')]);
    const [h, p, s] = (await broker.token()).split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const tampered = `${h}.${b64json({ ...claims, sub: 'callAudioData', exp: claims.exp + 86400 })}.${s}`;
    expect(await both(t, tampered)).toEqual([refused('signature invalid'), refused('signature invalid')]);
  });

  it('garbage and oversized tokens are refused unparsed', async () => {
    for (const garbage of ['not-a-jwt', 'a.b.c', '...', `${b64json({ alg: 'RS256' })}.%%%.x`]) {
      expect({ garbage, outcome: await listAgents(t, `Bearer ${garbage}`) }).toEqual({ garbage, outcome: refused('malformed token') });
    }
    expect(await both(t, 'e'.repeat(8 * 1024 + 1))).toEqual([refused('token too large'), refused('token too large')]);
    expect(await both(t, 'e'.repeat(32 * 1024))).toEqual([refused('token too large'), refused('token too large')]);
  });

  it('an unknown kid makes the keys be fetched again: a rotated key is accepted, a key never published is not', async () => {
    const before = broker.jwksRequests;
    const old = broker.currentKey;
    const rotated = await broker.rotate('key-2');
    expect(await both(t, await broker.token({ key: rotated }))).toEqual([OK, OK]);
    expect(broker.jwksRequests).toBe(before + 1);
    // The old key is withdrawn: tokens verified under it are checked again, and refused.
    expect(await listAgents(t, `Bearer ${await broker.token({ key: old })}`)).toEqual(refused('unknown key'));
    const stray = await FakeWebexIdBroker.newKey('never-published');
    expect(await both(t, await broker.token({ key: stray }))).toEqual([refused('unknown key'), refused('unknown key')]);
  });

  it('the simulator sends a token from BYOVA_TOKEN, --token-file or --token', async () => {
    const token = await broker.token();
    const dir = await mkdtemp(join(tmpdir(), 'jwt-sim-'));
    try {
      const out: string[] = [];
      const print = (s: string) => void out.push(s);
      const call = ['--target', t.target, '--agent', LOCAL_AGENT, '--dtmf', '1', '--out', dir];
      expect(await runCli(call, print, { BYOVA_TOKEN: token })).toBe(0);
      await writeFile(join(dir, 'token'), `${token}\n`);
      expect(await runCli(['--target', t.target, '--list', '--token-file', join(dir, 'token')], print, {})).toBe(0);
      expect(await runCli(['--target', t.target, '--list', '--token', `Bearer ${token}`], print, {})).toBe(0);
      out.length = 0;
      expect(await runCli(['--target', t.target, '--list'], print, {})).toBe(1);
      expect(out).toEqual(['ListVirtualAgents failed: UNAUTHENTICATED missing token']);
      out.length = 0;
      expect(await runCli(call, print, {})).toBe(1);
      expect(out[1]).toMatch(/^#1 SESSION_START {2}UNAUTHENTICATED \(missing token\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('health and reflection need no token', async () => {
    const health = new HealthClient(t.target);
    const reflection = new ReflectionClient(t.target);
    try {
      expect(await health.check(BYOVA_SERVICE)).toEqual({ status: ServingStatus.SERVING });
      const [res] = await reflection.ask([{ listServices: '' }]);
      expect(res.listServicesResponse!.service.map((s) => s.name)).toContain(BYOVA_SERVICE);
    } finally {
      health.close();
      reflection.close();
    }
  });

  it('every refusal is logged once with its reason and counted; the token is never logged', async () => {
    logs.length = 0;
    const metrics = t.gw.app.get(JwtMetrics);
    const before = metrics.snapshot();
    const token = await broker.token({ claims: { aud: 'x' } });
    expect(await both(t, token)).toEqual([refused('audience mismatch'), refused('audience mismatch')]);
    const refusals = logs.filter((l) => l.context === 'JwtAuth' && l.reason);
    expect(refusals.map((l) => [l.reason, l.method])).toEqual([
      ['audience mismatch', 'ListVirtualAgents'],
      ['audience mismatch', 'ProcessCallerInput'],
    ]);
    expect(JSON.stringify(logs)).not.toContain(token.split('.')[2]);
    expect(metrics.snapshot().refused['audience mismatch']).toBe(before.refused['audience mismatch'] + 2);
    expect(metrics.snapshot().accepted).toBe(before.accepted);
    // ... and exported to Prometheus, the reason as a label (a fixed set).
    const text = await (await fetch(`http://${t.gw.httpAddress}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('byova_jwt_refused_total{reason="audience mismatch",enforced="true"}'));
    expect(Number(line?.split(' ').at(-1))).toBe(metrics.snapshot().refused['audience mismatch']);
  });

  it('a valid token is verified once, then found among recent ones', async () => {
    const metrics = t.gw.app.get(JwtMetrics);
    const token = await broker.token();
    const before = metrics.snapshot();
    expect(await both(t, token)).toEqual([OK, OK]);
    expect(await both(t, token)).toEqual([OK, OK]);
    const after = metrics.snapshot();
    expect([after.accepted - before.accepted, after.verified - before.verified]).toEqual([4, 1]);
  });
});

describe('jwt_validation: the key server failing', () => {
  let broker: FakeWebexIdBroker;
  beforeEach(async () => {
    broker = await new FakeWebexIdBroker().start();
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('expired keys keep serving while the key server is down, throttled or erroring, and are replaced once it answers', async () => {
    // 0.01 minute: the keys expire 0.6 s after each fetch.
    const t = await start(broker, { cache_duration_minutes: 0.01 });
    try {
      const token = await broker.token();
      expect(await listAgents(t, `Bearer ${token}`)).toEqual(OK);
      const metrics = t.gw.app.get(JwtMetrics);
      for (const mode of ['down', 'throttled', 'error', 'hang'] as const) {
        broker.mode = mode;
        await sleep(700);
        // A new token each time: a verified one would not even need the keys.
        expect({ mode, outcome: await both(t, await broker.token()) }).toEqual({ mode, outcome: [OK, OK] });
      }
      expect(metrics.snapshot().staleKeyUses).toBeGreaterThan(0);
      expect(metrics.snapshot().keyFetches.failed).toBeGreaterThan(0);
      // Back up, with a rotated key: fetched again (in the background, then for the unknown kid).
      broker.mode = 'ok';
      const rotated = await broker.rotate('key-2');
      // Once the fetch still hanging from the last round gives up (jwks_timeout_ms), the next one gets the new key.
      const token2 = await broker.token({ key: rotated });
      await eventually(async () => (await listAgents(t, `Bearer ${token2}`)).code === status.OK, 5000);
    } finally {
      await t.stop();
    }
  }, 20_000);

  it('no keys cached and the key server unreachable: UNAVAILABLE (keys unavailable), bounded by jwks_timeout_ms', async () => {
    broker.mode = 'hang';
    const t = await start(broker, { jwks_timeout_ms: 300 });
    try {
      const t0 = Date.now();
      const outcome = await listAgents(t, `Bearer ${await broker.token()}`);
      expect(outcome).toEqual({ code: status.UNAVAILABLE, details: 'keys unavailable' });
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      await t.stop();
    }
  });

  it('an oversized key set is not read', async () => {
    broker.mode = 'huge';
    const t = await start(broker);
    try {
      expect(await listAgents(t, `Bearer ${await broker.token()}`)).toEqual({ code: status.UNAVAILABLE, details: 'keys unavailable' });
    } finally {
      await t.stop();
    }
  });

  it('429 with Retry-After: no new fetch before it passes', async () => {
    broker.mode = 'throttled';
    broker.retryAfterSeconds = 30;
    const t = await start(broker, { issuers: [broker.issuer], jwks_url_overrides: {} });
    try {
      expect(await listAgents(t, `Bearer ${await broker.token()}`)).toEqual({ code: status.UNAVAILABLE, details: 'keys unavailable' });
      const fetched = broker.jwksRequests;
      expect(fetched).toBeGreaterThanOrEqual(1);
      broker.mode = 'ok';
      expect(await listAgents(t, `Bearer ${await broker.token()}`)).toEqual({ code: status.UNAVAILABLE, details: 'keys unavailable' });
      expect(broker.jwksRequests).toBe(fetched);
    } finally {
      await t.stop();
    }
  });

  it('unknown kids refresh the keys at most every jwks_refresh_min_interval_seconds', async () => {
    const t = await start(broker, { issuers: [broker.issuer], jwks_url_overrides: {}, jwks_refresh_min_interval_seconds: 30 });
    try {
      expect(await listAgents(t, `Bearer ${await broker.token()}`)).toEqual(OK);
      const fetched = broker.jwksRequests;
      for (let i = 0; i < 5; i++) {
        const stray = await FakeWebexIdBroker.newKey(`stray-${i}`);
        expect(await listAgents(t, `Bearer ${await broker.token({ key: stray })}`)).toEqual(refused('unknown key'));
      }
      expect(broker.jwksRequests).toBe(fetched);
    } finally {
      await t.stop();
    }
  });
});

describe('jwt_validation with enforce_validation false', () => {
  it('logs and counts what would have been refused, and lets it through', async () => {
    const broker = await new FakeWebexIdBroker().start();
    const logs: Record<string, unknown>[] = [];
    const t = await start(broker, { enforce_validation: false }, logs);
    try {
      const expired = await broker.token({ claims: { exp: now() - 3600 } });
      expect(await both(t, expired)).toEqual([OK, OK]);
      expect(await both(t, undefined)).toEqual([OK, OK]);
      const lines = logs.filter((l) => l.context === 'JwtAuth' && l.reason).map((l) => [l.reason, l.msg]);
      expect(lines).toEqual([
        ['token expired', expect.stringContaining('enforce_validation is false')],
        ['token expired', expect.stringContaining('enforce_validation is false')],
        ['missing token', expect.stringContaining('enforce_validation is false')],
        ['missing token', expect.stringContaining('enforce_validation is false')],
      ]);
      const m = t.gw.app.get(JwtMetrics).snapshot();
      expect([m.notEnforced['token expired'], m.notEnforced['missing token'], m.refused['token expired']]).toEqual([2, 2, 0]);
    } finally {
      await t.stop();
      await broker.stop();
    }
  });
});

describe('jwt_validation off (the default)', () => {
  it('calls need no token', async () => {
    const t = await startTestGateway();
    try {
      expect(await listAgents(t)).toEqual(OK);
      expect((await sessionStart(t)).code).toBe(status.OK);
    } finally {
      await t.stop();
    }
  });
});
