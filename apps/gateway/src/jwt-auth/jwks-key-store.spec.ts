import { exportJWK, generateKeyPair } from 'jose';
import { buildGatewayConfig, createLogger } from '@app/config';
import { FakeWebexIdBroker } from '../../../../test/support/fake-webex-idbroker';
import { JwksKeyStore, jwksUrlOf, MAX_KEYS_PER_ISSUER } from './jwks-key-store';
import { JwtMetrics } from './jwt-metrics.service';
import { JwtRefusal } from './jwt-refusal';

const log = createLogger('silent');

function storeFor(broker: FakeWebexIdBroker, extra: Record<string, unknown> = {}) {
  const settings = buildGatewayConfig({
    jwt_validation: { enabled: true, datasource_url: 'https://gw.example.com', issuers: [broker.issuer], jwks_refresh_min_interval_seconds: 0, jwks_timeout_ms: 500, ...extra },
  }).jwt_validation;
  const metrics = new JwtMetrics();
  return { store: new JwksKeyStore(settings, metrics, log), metrics };
}

const reasonOf = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (e instanceof JwtRefusal ? e.reason : `unexpected: ${e}`));

describe('JwksKeyStore against a fake identity broker', () => {
  let broker: FakeWebexIdBroker;
  beforeEach(async () => {
    broker = await new FakeWebexIdBroker().start();
  });
  afterEach(() => broker.stop());

  it('derives the key URL from the issuer as Webex publishes it', () => {
    expect(jwksUrlOf('https://idbroker.webex.com/idb')).toBe('https://idbroker.webex.com/idb/oauth2/v2/keys/verificationjwk');
    expect(jwksUrlOf('https://idbroker.webex.com/idb/')).toBe('https://idbroker.webex.com/idb/oauth2/v2/keys/verificationjwk');
  });

  it('concurrent first tokens share one fetch; later ones use the cache', async () => {
    const { store, metrics } = storeFor(broker);
    const found = await Promise.all(Array.from({ length: 20 }, () => store.candidates(broker.issuer, 'key-1')));
    expect(found.every((f) => f.keys.length === 1)).toBe(true);
    await store.candidates(broker.issuer, 'key-1');
    expect(broker.jwksRequests).toBe(1);
    expect(metrics.snapshot().keyFetches).toEqual({ ok: 1, failed: 0 });
  });

  it('keeps RS256 signing keys only, skips unreadable ones, and keeps at most MAX_KEYS_PER_ISSUER', async () => {
    const ec = await generateKeyPair('ES256', { extractable: true });
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const rsaJwk = await exportJWK(rsa.publicKey);
    broker.extraJwks = [
      { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' },
      { ...rsaJwk, kid: 'enc', use: 'enc' },
      { ...rsaJwk, kid: 'ps', alg: 'PS256' },
      { kty: 'RSA', kid: 'broken', n: 'AA', e: 'AQAB' },
      'not a key',
      ...Array.from({ length: MAX_KEYS_PER_ISSUER + 5 }, (_, i) => ({ ...rsaJwk, kid: `many-${i}` })),
    ];
    const { store } = storeFor(broker);
    for (const kid of ['ec', 'enc', 'ps', 'broken']) expect({ kid, r: await reasonOf(store.candidates(broker.issuer, kid)) }).toEqual({ kid, r: 'unknown key' });
    // No kid: every key kept is a candidate, and no more than the limit.
    expect((await store.candidates(broker.issuer, undefined)).keys).toHaveLength(MAX_KEYS_PER_ISSUER);
  });

  it('a key set without a usable key, a body over the limit (announced or sent), or a timeout: keys unavailable', async () => {
    for (const mode of ['huge', 'huge-announced', 'hang', 'error', 'down'] as const) {
      broker.mode = mode;
      const { store, metrics } = storeFor(broker);
      const t0 = Date.now();
      expect({ mode, r: await reasonOf(store.candidates(broker.issuer, 'key-1')) }).toEqual({ mode, r: 'keys unavailable' });
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(metrics.snapshot().keyFetches).toEqual({ ok: 0, failed: 1 });
    }
    broker.mode = 'ok';
    broker.published = [];
    broker.extraJwks = [{ kty: 'oct', k: 'c2VjcmV0' }];
    expect(await reasonOf(storeFor(broker).store.candidates(broker.issuer, 'key-1'))).toBe('keys unavailable');
  });

  it('an issuer it was not configured with gets nothing fetched', async () => {
    const { store } = storeFor(broker);
    expect(await reasonOf(store.candidates(`${broker.origin}/other`, 'key-1'))).toBe('unknown issuer');
    expect(broker.requests).toEqual([]);
  });

  it('a new key set makes tokens verified under the old one stale (version)', async () => {
    const { store } = storeFor(broker);
    const first = await store.candidates(broker.issuer, 'key-1');
    expect(store.isCurrent(broker.issuer, first.version)).toBe(true);
    await broker.rotate('key-2', true);
    const second = await store.candidates(broker.issuer, 'key-2');
    expect(second.version).toBe(first.version + 1);
    expect(store.isCurrent(broker.issuer, first.version)).toBe(false);
  });
});
