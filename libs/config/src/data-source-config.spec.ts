import { buildGatewayConfig, ConfigError } from './load-config';
import { VOICE_VIRTUAL_AGENT_SCHEMA_ID } from './jwt-validation-config';

const problems = (raw: Record<string, unknown>): string[] => {
  try {
    buildGatewayConfig(raw);
    return [];
  } catch (e) {
    return (e as ConfigError).problems;
  }
};

describe('data_source section', () => {
  it('has the Python gateway\'s keys and defaults, off by default', () => {
    const ds = buildGatewayConfig({}).data_source;
    expect(ds).toMatchObject({
      enabled: false,
      fail_startup_on_error: true,
      id: '',
      id_env: 'WEBEX_BYODS_DATA_SOURCE_ID',
      audience: 'BYOVAGateway',
      subject: 'callAudioData',
      token_lifetime_minutes: 1440,
      renewal_lead_time_minutes: 60,
      retry_interval_seconds: 60,
      schema_id: VOICE_VIRTUAL_AGENT_SCHEMA_ID,
      auth: { type: 'oauth_refresh', client_id_env: 'WEBEX_BYODS_CLIENT_ID', client_secret_env: 'WEBEX_BYODS_CLIENT_SECRET', refresh_token_env: 'WEBEX_BYODS_REFRESH_TOKEN' },
    });
  });

  it('loads a Python gateway data_source block as written', () => {
    const ds = buildGatewayConfig({
      data_source: {
        enabled: true,
        fail_startup_on_error: false,
        id: '',
        id_env: 'WEBEX_BYODS_DATA_SOURCE_ID',
        url: 'https://gw.example.com:443',
        schema_id: '',
        audience: 'BYOVAGateway',
        subject: 'callAudioData',
        token_lifetime_minutes: 1440,
        renewal_lead_time_minutes: 60,
        retry_interval_seconds: 60,
        auth: { type: 'oauth_refresh', client_id_env: 'A', client_secret_env: 'B', refresh_token_env: 'C' },
      },
    }).data_source;
    expect(ds).toMatchObject({ enabled: true, url: 'https://gw.example.com:443', schema_id: VOICE_VIRTUAL_AGENT_SCHEMA_ID });
  });

  it('takes url and schema from jwt_validation when not written, and refuses a mismatch', () => {
    const jwt = { enabled: true, datasource_url: 'https://gw.example.com', datasource_schema_uuid: VOICE_VIRTUAL_AGENT_SCHEMA_ID };
    expect(buildGatewayConfig({ jwt_validation: jwt, data_source: { enabled: true } }).data_source.url).toBe('https://gw.example.com');
    expect(problems({ jwt_validation: jwt, data_source: { enabled: true, url: 'https://gw.example.com:443' } })).toEqual([
      'data_source.url must exactly match jwt_validation.datasource_url',
    ]);
  });

  it('names what is wrong', () => {
    expect(problems({ data_source: { enabled: true } })).toEqual([
      'data_source.url: required when the data source is enabled (or set jwt_validation.datasource_url)',
    ]);
    expect(problems({ data_source: { enabled: true, url: 'https://x', token_lifetime_minutes: 30, renewal_lead_time_minutes: 30 } })).toEqual([
      'data_source.renewal_lead_time_minutes must be shorter than token_lifetime_minutes',
    ]);
    expect(problems({ data_source: { enabled: true, url: 'http://gw.example.com' } })).toEqual(['data_source.url: must be an https:// URL, got "http://gw.example.com"']);
    expect(problems({ data_source: { token_lifetime_minutes: 2000 } })).toEqual(['data_source.token_lifetime_minutes: value must not be greater than 1440']);
    expect(problems({ data_source: { auth: { type: 'password' } } })).toEqual([
      'data_source.auth.type: value must be one of the following values: oauth_refresh, service_app, static',
    ]);
    expect(problems({ data_source: { auth: { client_secret_env: 'not a name' } } })).toEqual([
      'data_source.auth.client_secret_env: value must be the name of an environment variable',
    ]);
    expect(problems({ data_source: { enabled: true, url: 'https://x', auth: { type: 'service_app' } } })).toEqual([
      "data_source.auth.personal_auth: required for service_app (the token that may mint the service app's token)",
    ]);
    expect(problems({ data_source: { secret: 'x' } })).toEqual(['data_source.secret: unknown key']);
  });
});
