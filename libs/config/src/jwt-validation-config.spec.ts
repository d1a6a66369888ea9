import { VOICE_VIRTUAL_AGENT_SCHEMA_ID, WEBEX_ID_BROKERS } from './jwt-validation-config';
import { buildGatewayConfig, ConfigError } from './load-config';

function problems(raw: Record<string, unknown>): string[] {
  try {
    buildGatewayConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}
const jwt = (j: Record<string, unknown>) => ({ jwt_validation: j });

describe('jwt_validation', () => {
  it('defaults: off; enforced once on; Webex\'s brokers, VoiceVirtualAgent schema, 60 min keys, 60 s leeway, BYOVAGateway / callAudioData', () => {
    expect(buildGatewayConfig({}).jwt_validation).toEqual({
      enabled: false,
      enforce_validation: true,
      datasource_url: '',
      datasource_schema_uuid: VOICE_VIRTUAL_AGENT_SCHEMA_ID,
      cache_duration_minutes: 60,
      issuers: [...WEBEX_ID_BROKERS],
      jwks_url_overrides: {},
      leeway_seconds: 60,
      audience: 'BYOVAGateway',
      subject: 'callAudioData',
      jwks_refresh_min_interval_seconds: 30,
      jwks_timeout_ms: 5000,
    });
    expect(WEBEX_ID_BROKERS).toContain('https://idbrokerbts-eu.webex.com/idb');
  });

  it('loads the Python gateway\'s keys as they are', () => {
    const j = buildGatewayConfig(
      jwt({ enabled: true, enforce_validation: false, datasource_url: 'https://gw.example.com:443', datasource_schema_uuid: VOICE_VIRTUAL_AGENT_SCHEMA_ID, cache_duration_minutes: 30 }),
    ).jwt_validation;
    expect(j).toMatchObject({ enabled: true, enforce_validation: false, datasource_url: 'https://gw.example.com:443', cache_duration_minutes: 30 });
    // Its shipped "off" form, with an empty URL, too.
    expect(buildGatewayConfig(jwt({ enabled: false, datasource_url: '' })).jwt_validation.enabled).toBe(false);
  });

  it('stops start-up with a message naming the key', () => {
    expect(problems(jwt({ enabled: true }))).toEqual([
      'jwt_validation.datasource_url: required when jwt_validation.enabled is true (the data source URL registered with Webex)',
    ]);
    expect(problems(jwt({ datasource_url: 'gw.example.com/x' }))).toEqual(['jwt_validation.datasource_url: must be an absolute URL, got "gw.example.com/x"']);
    expect(problems(jwt({ datasource_schema_uuid: 'abc' }))).toEqual(['jwt_validation.datasource_schema_uuid: value must be a UUID']);
    expect(problems(jwt({ enabled: true, datasource_url: 'https://gw.example.com', issuers: [] }))).toEqual([
      'jwt_validation.issuers: list at least one issuer (no token could be accepted)',
    ]);
    expect(problems(jwt({ issuers: ['http://idbroker.example.com/idb', 'nope'] }))).toEqual([
      'jwt_validation.issuers.0: must be an https URL (http only on loopback), got "http://idbroker.example.com/idb"',
      'jwt_validation.issuers.1: must be an absolute URL, got "nope"',
    ]);
    expect(problems(jwt({ jwks_url_overrides: { 'https://other.example.com/idb': 'http://10.0.0.1/keys' } }))).toEqual([
      'jwt_validation.jwks_url_overrides: "https://other.example.com/idb" is not in jwt_validation.issuers',
      'jwt_validation.jwks_url_overrides."https://other.example.com/idb": must be an https URL (http only on loopback), got "http://10.0.0.1/keys"',
    ]);
    expect(problems(jwt({ leeway_seconds: -1, audience: '', lifetime: 3 }))).toEqual([
      'jwt_validation.lifetime: unknown key',
      'jwt_validation.leeway_seconds: value must not be less than 0',
      'jwt_validation.audience: value must be longer than or equal to 1 characters',
    ]);
  });

  it('a loopback issuer over http is accepted (a local key server)', () => {
    const j = buildGatewayConfig(jwt({ issuers: ['http://127.0.0.1:9000/idb'], jwks_url_overrides: { 'http://127.0.0.1:9000/idb': 'http://localhost:9001/keys' } })).jwt_validation;
    expect(j.issuers).toEqual(['http://127.0.0.1:9000/idb']);
  });

});
