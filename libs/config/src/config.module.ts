import { DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { ConfigModule, ConfigService, getConfigToken, registerAs } from '@nestjs/config';
import { instanceToPlain } from 'class-transformer';
import type { Logger } from 'pino';
import { DataSourceSection } from './data-source-config';
import { ConnectorsSection, GatewayConfig, GatewaySection, LoggingSection, MonitoringSection, SessionsSection, VadSection } from './gateway-config';
import { JwtValidationSection } from './jwt-validation-config';
import { buildGatewayConfig, loadGatewayConfig, type LoadedConfig } from './load-config';
import { createLogger, LogLevelControl } from './logger';

/** The whole load result (config, file, base folder, warnings): for code not yet injecting its sections. */
export const LOADED_CONFIG = Symbol.for('byova.loaded-config');
export const LOGGER = Symbol.for('byova.logger');

/**
 * The YAML sections and the classes they are injected as: a consumer asks for `SessionsSection`, not the whole
 * config. ConfigService serves them under the same keys (`config.get('sessions')`).
 */
export const CONFIG_SECTIONS = {
  gateway: GatewaySection,
  sessions: SessionsSection,
  voice_activity_detection: VadSection,
  connectors: ConnectorsSection,
  monitoring: MonitoringSection,
  logging: LoggingSection,
  jwt_validation: JwtValidationSection,
  data_source: DataSourceSection,
} as const;
export type ConfigSectionKey = keyof typeof CONFIG_SECTIONS;

/** The @nestjs/config token of a section (registered with registerAs), for `@Inject(sectionToken('sessions'))`. */
export const sectionToken = (key: ConfigSectionKey): string => getConfigToken(key);

/** ConfigService as this gateway fills it: `config.get('sessions', { infer: true })` is a SessionsSection. */
export type GatewayConfigService = ConfigService<GatewayConfig, true>;

/** Where the configuration came from; relative paths in it (audio, plugins, recordings, model) resolve against baseDir. */
export class ConfigPaths {
  constructor(
    readonly file: string,
    readonly baseDir: string,
  ) {}
}

// A symbol: the load result sits in ConfigService's store without a key that could be mistaken for a section.
const LOADED_KEY = Symbol('byova.loaded');

/** Runs `f` on the first call only; later calls get the same value, or the same error. */
function once<T>(f: () => T): () => T {
  let result: { value: T } | { error: unknown } | undefined;
  return () => {
    result ??= (() => {
      try {
        return { value: f() };
      } catch (error) {
        return { error };
      }
    })();
    if ('error' in result) throw result.error;
    return result.value;
  };
}

/** Makes the validated configuration, each of its sections and the root logger injectable everywhere. */
@Global()
@Module({})
export class GatewayConfigModule {
  /**
   * ConfigModule with our YAML loader as its load factory. `loaded`: a configuration already read (main.ts reads it
   * before Nest starts, so a bad file exits with a plain message) or built by a test: it is validated again, with
   * the same rules and messages, not read again. Without it the file is read here, as loadGatewayConfig does.
   * `logger`: by default one at the configured level.
   */
  static forRoot(loaded?: LoadedConfig, logger?: Logger): DynamicModule {
    // Every section's factory reads the same result: the file is read and checked once per module.
    const load = once(
      (): LoadedConfig =>
        loaded ? { ...loaded, config: buildGatewayConfig(instanceToPlain(loaded.config), loaded.file) } : loadGatewayConfig(),
    );
    const keys = Object.keys(CONFIG_SECTIONS) as ConfigSectionKey[];
    const factories = [registerAs(LOADED_KEY, load), ...keys.map((key) => registerAs(key, () => load().config[key]))];
    const sections: Provider[] = keys.map((key) => ({
      provide: CONFIG_SECTIONS[key],
      inject: [sectionToken(key)],
      useFactory: (section: unknown) => section,
    }));
    return {
      module: GatewayConfigModule,
      imports: [
        // Our loader applies the environment overrides it knows (PORT, MONITORING_PORT, LOG_LEVEL) and validates
        // them with the file; ConfigService must not answer from other environment variables or a .env file.
        ConfigModule.forRoot({ ignoreEnvFile: true, validatePredefined: false, skipProcessEnv: true, load: factories }),
      ],
      providers: [
        { provide: LOADED_CONFIG, inject: [getConfigToken(LOADED_KEY)], useFactory: (l: LoadedConfig) => l },
        { provide: ConfigPaths, inject: [LOADED_CONFIG], useFactory: (l: LoadedConfig) => new ConfigPaths(l.file, l.baseDir) },
        ...sections,
        {
          provide: LOGGER,
          inject: [LOADED_CONFIG],
          useFactory: (l: LoadedConfig) => {
            if (logger) return logger;
            const log = createLogger(l.config.logging.gateway.level);
            // Read here, so nobody else has reported them.
            if (!loaded) for (const w of l.warnings) log.warn(w);
            return log;
          },
        },
        // The run-time log level (SIGUSR2, POST /api/log-level): the root logger's, which its children follow.
        { provide: LogLevelControl, inject: [LOGGER, LOADED_CONFIG], useFactory: (log: Logger, l: LoadedConfig) => new LogLevelControl(log, l.config.logging.gateway.level) },
      ],
      // Consumers ask for the sections they use; the whole config is not injectable.
      exports: [ConfigPaths, ...keys.map((k) => CONFIG_SECTIONS[k]), LOGGER, LogLevelControl, ConfigModule],
    };
  }
}
