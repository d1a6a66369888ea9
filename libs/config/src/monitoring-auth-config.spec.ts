import { buildGatewayConfig, ConfigError } from './load-config';

const SHA = 'a'.repeat(64);

function problems(raw: Record<string, unknown>): string[] {
  try {
    buildGatewayConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}
const auth = (a: Record<string, unknown>) => ({ monitoring: { auth: { enabled: true, ...a } } });

describe('monitoring.auth', () => {
  it('defaults: off, no tokens, no OIDC, 8 h sessions signed with MONITORING_SESSION_SECRET; /metrics not public', () => {
    const m = buildGatewayConfig({}).monitoring;
    expect(m.auth).toMatchObject({ enabled: false, api_tokens: [], session: { secret_env: 'MONITORING_SESSION_SECRET', timeout_hours: 8 } });
    expect(m.auth.oidc).toBeUndefined();
    expect(m.metrics_public).toBe(false);
  });

  it('accepts tokens by hash or by env, and an OIDC block with Webex as the default issuer', () => {
    const m = buildGatewayConfig(
      auth({
        api_tokens: [
          { name: 'a', role: 'viewer', sha256: SHA },
          { name: 'b', role: 'admin', env: 'B_TOKEN' },
        ],
        oidc: { client_id: 'c', redirect_uri: 'https://gw.example.com/auth/callback', allowed_org_ids: ['o'] },
      }),
    ).monitoring;
    expect(m.auth.api_tokens.map((t) => t.name)).toEqual(['a', 'b']);
    expect(m.auth.oidc).toMatchObject({ issuer_url: 'https://webexapis.com/v1/.well-known/openid-configuration', scopes: 'openid email profile', org_claim: 'org_id', role: 'viewer' });
  });

  it('names the entry for bad hex, an unknown role, both or neither of sha256/env, and duplicate names', () => {
    expect(
      problems(
        auth({
          api_tokens: [
            { name: 'short', role: 'viewer', sha256: 'abc' },
            { name: 'boss', role: 'root', sha256: SHA },
            { name: 'both', role: 'viewer', sha256: SHA, env: 'X' },
            { name: 'neither', role: 'viewer' },
            { name: 'neither', role: 'viewer', env: 'bad name' },
          ],
        }),
      ),
    ).toEqual([
      'monitoring.auth.api_tokens: token names must be unique',
      'monitoring.auth.api_tokens.0.sha256: value (token "short") must be the SHA-256 of the token as 64 hex digits',
      'monitoring.auth.api_tokens.1.role: value (token "boss") must be viewer or admin',
      'monitoring.auth.api_tokens.2.env: value (token "both"): give either sha256 or env, not both',
      'monitoring.auth.api_tokens.4.env: value (token "neither") must be the name of an environment variable',
      'monitoring.auth.api_tokens.3: token "neither" needs sha256 or env',
    ]);
  });

  it('refuses an OIDC login open to everyone, a bad redirect URI and unknown keys', () => {
    expect(problems(auth({ oidc: { client_id: 'c', redirect_uri: 'not a url', tenant: 'x' } }))).toEqual([
      'monitoring.auth.oidc.tenant: unknown key',
      'monitoring.auth.oidc.redirect_uri: value must be a URL address',
      'monitoring.auth.oidc: name allowed_org_ids or allowed_emails (otherwise anyone with an account at the provider could log in)',
    ]);
  });
});

describe('monitoring.host when the file names none', () => {
  it('binds to loopback while auth is off, to every interface with auth on', () => {
    expect(buildGatewayConfig({}).monitoring.host).toBe('127.0.0.1');
    expect(buildGatewayConfig({ monitoring: { port: 9000 } }).monitoring.host).toBe('127.0.0.1');
    expect(buildGatewayConfig(auth({})).monitoring.host).toBe('0.0.0.0');
  });

  it('keeps a host the file names, auth or not', () => {
    expect(buildGatewayConfig({ monitoring: { host: '0.0.0.0' } }).monitoring.host).toBe('0.0.0.0');
    expect(buildGatewayConfig({ monitoring: { host: '10.1.2.3', auth: { enabled: true } } }).monitoring.host).toBe('10.1.2.3');
  });
});
