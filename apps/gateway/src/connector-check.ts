import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, createLogger, GatewayConfig, GatewayConfigModule, type LoadedConfig } from '@app/config';
import { loadConnectorPlugins } from '@app/connector-sdk';
import { ConnectorsModule } from '@app/connectors';

/** Connectors may wait on the network while being built (Lex discovery): the check gives up after this. */
export const CONNECTOR_CHECK_MS = 5000;

/** Only what building the connectors needs: the config, the registry and the connector modules. No listener, no VAD. */
@Module({})
class ConnectorCheckModule {
  static forRoot(loaded: LoadedConfig, plugins: Array<Type<unknown> | DynamicModule>, pluginProblems: Map<string, string[]>): DynamicModule {
    return {
      module: ConnectorCheckModule,
      imports: [GatewayConfigModule.forRoot(loaded, createLogger('silent')), ConnectorsModule.forRoot(plugins, pluginProblems)],
    };
  }
}

/**
 * The loader's error with the connectors' own mistakes added (unknown types, their `config` blocks, prompt files,
 * plugins, default_agent), so that one run reports everything. The connectors whose entries the loader accepted are
 * built in an application context that opens no port, then closed; the rest of the file is left at its defaults,
 * except `gateway.default_agent`, which is checked only when every connector could be built.
 */
export async function withConnectorProblems(error: ConfigError, timeoutMs = CONNECTOR_CHECK_MS): Promise<ConfigError> {
  const partial = error.partial;
  if (!partial) return error;
  const refused = (key: string) => error.problems.some((p) => p.startsWith(`${key}.`) || p.startsWith(`${key}:`));
  // The section itself refused: nothing to build. An entry the loader refused is left out; the others are built.
  if (error.problems.some((p) => p.startsWith('connectors:'))) return error;
  const config = new GatewayConfig();
  const skipped = Object.keys(partial.config.connectors).filter((id) => refused(`connectors.${id}`));
  for (const [id, entry] of Object.entries(partial.config.connectors)) if (!skipped.includes(id)) config.connectors[id] = entry;
  if (!Object.values(config.connectors).some((c) => c.enabled)) return error;
  const wanted = partial.config.gateway?.default_agent;
  if (!skipped.length && typeof wanted === 'string' && !refused('gateway.default_agent')) config.gateway.default_agent = wanted;
  const loaded: LoadedConfig = { ...partial, config };

  const more = await connectorProblems(loaded, timeoutMs);
  return more.length ? new ConfigError([...error.problems, ...more], error.file) : error;
}

/** Builds every connector of `loaded` without starting anything; returns their problems (none: all built). */
async function connectorProblems(loaded: LoadedConfig, timeoutMs: number): Promise<string[]> {
  const pluginProblems = new Map<string, string[]>();
  let building: ReturnType<typeof NestFactory.createApplicationContext>;
  try {
    const plugins = loadConnectorPlugins(loaded.config, loaded.baseDir, pluginProblems);
    // Building runs onModuleInit: the registry builds each connector and throws all their problems at once.
    building = NestFactory.createApplicationContext(ConnectorCheckModule.forRoot(loaded, plugins, pluginProblems), { logger: false, abortOnError: false });
  } catch (e) {
    return [notChecked((e as Error).message)];
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const outcome = await Promise.race([building, timeout]);
    if (outcome === 'timeout') {
      // Still closed once built, so nothing it opened outlives the check (main.ts exits before that anyway).
      building.then((app) => app.close()).catch(() => undefined);
      return [notChecked(`building them took longer than ${timeoutMs / 1000} s (a connector waiting on the network?)`)];
    }
    // Every connector built: close them again (the registry closes its connectors on shutdown).
    await outcome.close();
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    return [notChecked((e as Error).message)];
  } finally {
    clearTimeout(timer);
  }
}

const notChecked = (why: string) => `connectors: could not be checked: ${why}; fix the mistakes above and start again to see theirs`;
