import { buildGatewayConfig, createLogger } from '@app/config';
import { FakeWebexIdBroker, TEST_DATASOURCE_URL } from '../../../../test/support/fake-webex-idbroker';
import { JwksKeyStore } from './jwks-key-store';
import { JwtMetrics } from './jwt-metrics.service';
import { JwtValidator, VERIFIED_CACHE_SIZE } from './jwt-validator.service';

const now = () => Math.floor(Date.now() / 1000);

describe('JwtValidator', () => {
  it('reads the token of an authorization value: Bearer in any case, or bare', () => {
    expect(JwtValidator.tokenOf('Bearer abc')).toBe('abc');
    expect(JwtValidator.tokenOf('bearer  abc ')).toBe('abc');
    expect(JwtValidator.tokenOf('BEARER\tabc')).toBe('abc');
    expect(JwtValidator.tokenOf('abc')).toBe('abc');
    expect(JwtValidator.tokenOf('Bearer')).toBeUndefined();
    expect(JwtValidator.tokenOf('Bearerabc')).toBe('Bearerabc');
    expect(JwtValidator.tokenOf('Bearer ')).toBeUndefined();
    expect(JwtValidator.tokenOf('')).toBeUndefined();
    expect(JwtValidator.tokenOf(undefined)).toBeUndefined();
  });

  describe('against a fake identity broker', () => {
    let broker: FakeWebexIdBroker;
    let validator: JwtValidator;
    const make = (extra: Record<string, unknown> = {}) => {
      const settings = buildGatewayConfig({
        jwt_validation: { enabled: true, datasource_url: TEST_DATASOURCE_URL, issuers: [broker.issuer], jwks_refresh_min_interval_seconds: 0, ...extra },
      }).jwt_validation;
      return new JwtValidator(settings, new JwksKeyStore(settings, new JwtMetrics(), createLogger('silent')));
    };
    beforeAll(async () => {
      broker = await new FakeWebexIdBroker().start();
      validator = make();
    });
    afterAll(() => broker.stop());

    it('a token without kid is tried against each key of its issuer', async () => {
      const other = await broker.rotate('key-2', true);
      const first = broker.published[0];
      for (const key of [first, other]) {
        const token = await broker.token({ key, header: { kid: undefined } });
        expect(await make().check(token)).toEqual({ ok: true, verified: true });
      }
      const stray = await FakeWebexIdBroker.newKey('x');
      expect(await make().check(await broker.token({ key: stray, header: { kid: undefined } }))).toEqual({ ok: false, reason: 'signature invalid' });
    });

    it('a published key without kid serves tokens without kid only', async () => {
      const bare = await FakeWebexIdBroker.newKey('unused');
      const { kid: _kid, ...jwk } = bare.jwk;
      broker.extraJwks = [jwk];
      try {
        expect(await make().check(await broker.token({ key: bare, header: { kid: undefined } }))).toEqual({ ok: true, verified: true });
        expect(await make().check(await broker.token({ key: bare }))).toEqual({ ok: false, reason: 'unknown key' });
      } finally {
        broker.extraJwks = [];
      }
    });

    it('a verified token is remembered until it expires (leeway included), then refused without a signature check', async () => {
      const v = make({ leeway_seconds: 0 });
      const token = await broker.token({ claims: { exp: now() + 1 } });
      expect(await v.check(token)).toEqual({ ok: true, verified: true });
      expect(await v.check(token)).toEqual({ ok: true, verified: false });
      await new Promise((r) => setTimeout(r, 2100));
      expect(await v.check(token)).toEqual({ ok: false, reason: 'token expired' });
    });

    it(`remembers at most ${VERIFIED_CACHE_SIZE} tokens, dropping the oldest`, async () => {
      const tokens = await Promise.all(Array.from({ length: VERIFIED_CACHE_SIZE + 1 }, () => broker.token()));
      for (const t of tokens) expect((await validator.check(t)).ok).toBe(true);
      expect(await validator.check(tokens[VERIFIED_CACHE_SIZE])).toEqual({ ok: true, verified: false });
      expect(await validator.check(tokens[0])).toEqual({ ok: true, verified: true });
    }, 30_000);

    it('a token with a kid of another type is malformed', async () => {
      expect(await validator.check(await broker.token({ header: { kid: 7 } }))).toEqual({ ok: false, reason: 'malformed token' });
    });
  });
});
