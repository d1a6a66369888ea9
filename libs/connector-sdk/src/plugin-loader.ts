import { DynamicModule, Type } from '@nestjs/common';
import type { GatewayConfig } from '@app/config';

/** Python-layout module names of built-in connectors: not plugins. */
const BUILT_IN_MODULES = /^connectors\./;

/**
 * A connector plugin is a Node module (package name or path) that exports `connectorModule`
 * (or a default export): a NestJS module providing one or more @ConnectorProvider factories.
 */
export function loadConnectorPlugins(config: GatewayConfig, baseDir: string): Array<Type<unknown> | DynamicModule> {
  const modules: Array<Type<unknown> | DynamicModule> = [];
  for (const [id, entry] of Object.entries(config.connectors)) {
    if (!entry.enabled || !entry.module || BUILT_IN_MODULES.test(entry.module)) continue;
    let exported: Record<string, unknown>;
    try {
      // Plain require (not createRequire) so test runners' module registries apply too.
      exported = require(require.resolve(entry.module, { paths: [baseDir] }));
    } catch (e) {
      throw new Error(`connectors.${id}.module: cannot load "${entry.module}": ${(e as Error).message.split('\n')[0]}`);
    }
    const mod = exported.connectorModule ?? exported.default;
    if (!mod || (typeof mod !== 'function' && typeof mod !== 'object')) {
      throw new Error(`connectors.${id}.module: "${entry.module}" exports no connectorModule (a NestJS module)`);
    }
    if (!modules.includes(mod as Type<unknown>)) modules.push(mod as Type<unknown>);
  }
  return modules;
}
