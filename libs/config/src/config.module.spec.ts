import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { stringify } from 'yaml';
import { ConfigPaths, GatewayConfigModule, LOADED_CONFIG, LOGGER, sectionToken, type GatewayConfigService } from './config.module';
import { ConnectorsSection, GatewayConfig, GatewaySection, SessionsSection, VadSection } from './gateway-config';
import { buildGatewayConfig, ConfigError, loadGatewayConfig, type LoadedConfig } from './load-config';
import { createLogger } from './logger';

/** A consumer elsewhere in the app: it asks for the sections it uses, nothing else. */
@Injectable()
class SessionsUser {
  constructor(
    readonly sessions: SessionsSection,
    readonly vad: VadSection,
    readonly connectors: ConnectorsSection,
    readonly paths: ConfigPaths,
    @Inject(sectionToken('gateway')) readonly gateway: GatewaySection,
  ) {}
}
@Module({ providers: [SessionsUser] })
class ConsumerModule {}

const silent = createLogger('silent');
const given = (raw: Record<string, unknown>): LoadedConfig => ({ config: buildGatewayConfig(raw), file: '(test)', baseDir: '/base', warnings: [] });

async function app(loaded?: LoadedConfig) {
  const mod = await Test.createTestingModule({ imports: [GatewayConfigModule.forRoot(loaded, loaded && silent), ConsumerModule] }).compile();
  return mod;
}

/** The ConfigError that starting the module fails with (fails the test if it starts). */
async function refusal(loaded?: LoadedConfig): Promise<ConfigError> {
  try {
    await (await app(loaded)).close();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('GatewayConfigModule with a configuration already loaded', () => {
  it('injects each section, validated and with its defaults, where it is asked for', async () => {
    const mod = await app(given({ sessions: { max_sessions: 5 }, voice_activity_detection: { engine: 'energy' }, connectors: { a: { type: 'local_audio' } } }));
    const user = mod.get(SessionsUser);
    expect(user.sessions).toBeInstanceOf(SessionsSection);
    expect(user.sessions).toMatchObject({ max_sessions: 5, timeout: 600 });
    expect(user.vad.engine).toBe('energy');
    expect(Object.keys(user.connectors)).toEqual(['a']);
    expect(user.connectors.a.defaults.reply_mode).toBe('wav');
    expect(user.gateway.port).toBe(50051);
    expect([user.paths.file, user.paths.baseDir]).toEqual(['(test)', '/base']);
    await mod.close();
  });

  it('ConfigService serves the same sections, and nothing from the environment', async () => {
    const mod = await app(given({ sessions: { max_sessions: 5 } }));
    const config = mod.get<GatewayConfigService>(ConfigService);
    expect(config.get('sessions', { infer: true })).toBe(mod.get(SessionsSection));
    expect(config.get('sessions.max_sessions', { infer: true })).toBe(5);
    expect(config.get('PATH' as never)).toBeUndefined();
    await mod.close();
  });

  it('gives the logger and the config paths, but not the whole config: consumers take the sections they use', async () => {
    const mod = await app(given({ gateway: { port: 1234 } }));
    expect(mod.get(LOGGER)).toBe(silent);
    expect(mod.get(ConfigPaths)).toMatchObject({ file: '(test)', baseDir: '/base' });
    expect(() => mod.get(GatewayConfig)).toThrow();
    await mod.close();
  });

  it('refuses a bad value with the message the file loader gives for it', async () => {
    const loaded = given({});
    loaded.config.sessions.max_sessions = -1;
    loaded.config.gateway.port = 70000;
    const e = await refusal(loaded);
    expect(e.problems).toEqual(['gateway.port: value must not be greater than 65535', 'sessions.max_sessions: value must not be less than 1']);
    expect(e.message).toBe('Invalid configuration in (test):\n  - gateway.port: value must not be greater than 65535\n  - sessions.max_sessions: value must not be less than 1');
  });

  it('refuses an unknown key and a connector entry without a type by name, as the loader does', async () => {
    const loaded = given({});
    Object.assign(loaded.config.sessions, { max_session: 1 });
    loaded.config.connectors.x = {} as never;
    expect((await refusal(loaded)).problems).toEqual(['sessions.max_session: unknown key', 'connectors.x: needs a type (e.g. local_audio) or a module']);
  });
});

describe('GatewayConfigModule reading the file itself', () => {
  let dir: string;
  const saved = process.env.GATEWAY_CONFIG;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'byova-config-module-'));
    process.env.GATEWAY_CONFIG = join(dir, 'gateway.yaml');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.GATEWAY_CONFIG;
    else process.env.GATEWAY_CONFIG = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (raw: object) => writeFileSync(join(dir, 'gateway.yaml'), stringify(raw));

  it('loads GATEWAY_CONFIG through ConfigModule and injects its sections', async () => {
    write({ sessions: { timeout: 42 }, logging: { gateway: { level: 'silent' } } });
    const mod = await app();
    expect(mod.get(SessionsUser).sessions.timeout).toBe(42);
    expect(mod.get(ConfigPaths).file).toBe(join(dir, 'gateway.yaml'));
    await mod.close();
  });

  it('refuses a bad file with the same error as loadGatewayConfig', async () => {
    write({ sessions: { max_sessions: -1 }, gateway: { prot: 1 } });
    let expected: unknown;
    try {
      loadGatewayConfig();
    } catch (e) {
      expected = e;
    }
    expect(expected).toBeInstanceOf(ConfigError);
    const e = await refusal();
    expect(e.message).toBe((expected as ConfigError).message);
    expect(e.message).toContain(join(dir, 'gateway.yaml'));
  });
});
