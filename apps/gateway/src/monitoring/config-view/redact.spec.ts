import { REDACTED, redactConfig } from './redact';

describe('redactConfig', () => {
  it('redacts secrets by key, by look, and in URLs; keeps the rest', () => {
    const out = redactConfig({
      gateway: { host: '0.0.0.0', port: 50051, keepalive: { time_ms: 30000 } },
      connectors: {
        bot: {
          config: {
            region_name: 'eu-west-2',
            client_secret: 's3cr3t',
            api_key: 'abc',
            password: 'pw',
            auth_token: 't',
            private_key: '-----BEGIN',
            endpoint_url: 'https://user:pass@lex.example.com/path',
            opaque: 'AKIAABCDEFGHIJKLMNOP',
            header: 'Bearer abc.def',
            model_path: '/opt/models/silero_vad_v5.onnx',
            empty_secret: '',
          },
        },
      },
      monitoring: { auth: { api_tokens: [{ name: 'ci', role: 'viewer', sha256: 'ab'.repeat(32) }], oidc: { client_secret_env: 'OIDC_SECRET', client_id: 'id' } } },
      list: ['0123456789abcdef0123456789abcdef', 'plain'],
    }) as any;
    expect(out.gateway).toEqual({ host: '0.0.0.0', port: 50051, keepalive: { time_ms: 30000 } });
    const c = out.connectors.bot.config;
    for (const k of ['client_secret', 'api_key', 'password', 'auth_token', 'private_key', 'opaque', 'header']) expect([k, c[k]]).toEqual([k, REDACTED]);
    expect(c.endpoint_url).toBe(`https://${REDACTED}@lex.example.com/path`);
    expect(c.region_name).toBe('eu-west-2');
    expect(c.model_path).toBe('/opt/models/silero_vad_v5.onnx');
    expect(c.empty_secret).toBe('');
    expect(out.monitoring.auth.api_tokens).toBe(REDACTED);
    expect(out.monitoring.auth.oidc).toEqual({ client_secret_env: REDACTED, client_id: 'id' });
    expect(out.list).toEqual([REDACTED, 'plain']);
    expect(JSON.stringify(out)).not.toMatch(/s3cr3t|"pw"|pass@|AKIA|abc\.def|OIDC_SECRET/);
  });
});
