import type { DynamicModule, Type } from '@nestjs/common';
import type { GatewayConfig } from '@app/config';
import { ConnectorProvider } from './connector-provider.decorator';
import { ConnectorSetupError } from './connector-registry.service';
import type { ConnectorDefinition, VirtualAgentConnector } from './connector.types';

/** Python-layout module names of built-in connectors: not plugins. */
const BUILT_IN_MODULES = /^connectors\./;

/**
 * One connector type offered by a plugin, as a plain object: a plugin exports these (as `connectors`, or as the
 * module itself) and needs to import nothing from the gateway.
 */
export interface ConnectorPluginDescriptor {
  /** Value of `type:` in a connectors entry. */
  type: string;
  /** Other names that select it. */
  aliases?: string[];
  /** Builds one connector per configured entry; throw to refuse its config (the message is shown with the entry's key). */
  create(definition: ConnectorDefinition): VirtualAgentConnector | Promise<VirtualAgentConnector>;
}

/** What a plugin module may export. */
export type ConnectorPluginExports =
  | { connectors: ConnectorPluginDescriptor | ConnectorPluginDescriptor[] | Record<string, Omit<ConnectorPluginDescriptor, 'type'> & { type?: string }> }
  | { connectorModule: Type<unknown> | DynamicModule }
  | ConnectorPluginDescriptor
  | ConnectorPluginDescriptor[];

type Loaded = Type<unknown> | DynamicModule;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function isNestModule(v: unknown): boolean {
  if (isObject(v) && typeof v.module === 'function') return true; // DynamicModule
  return typeof v === 'function' && ['providers', 'imports'].some((k) => Reflect.getMetadata(k, v) !== undefined);
}

const looksLikeDescriptor = (v: unknown): boolean => isObject(v) && 'create' in v;

/**
 * Reads a plugin's exports into either descriptors or a Nest module; throws a message for the operator,
 * prefixed by `where` (`connectors.<id>.module: "<spec>"`).
 */
export function interpretPluginExports(exported: unknown, where: string): { descriptors: ConnectorPluginDescriptor[] } | { module: Loaded } {
  const roots = [exported, isObject(exported) ? exported.default : undefined].filter((r) => r !== undefined);
  for (const root of roots) {
    if (!isObject(root) || Array.isArray(root)) continue;
    if (root.connectors !== undefined) return { descriptors: readDescriptors(root.connectors, where, 'connectors') };
    if (root.connectorModule !== undefined) {
      if (!isNestModule(root.connectorModule)) throw new ConnectorSetupError(`${where}: connectorModule is not a NestJS module (a class with @Module({ providers }), or a dynamic module)`);
      return { module: root.connectorModule as Loaded };
    }
  }
  for (const root of roots) {
    if (Array.isArray(root) || looksLikeDescriptor(root)) return { descriptors: readDescriptors(root, where, 'the module') };
    if (isNestModule(root)) return { module: root as Loaded };
  }
  throw new ConnectorSetupError(
    `${where}: exports no connectors: export \`connectors\` (an array of { type, create(definition) }) or \`connectorModule\` (a NestJS module)`,
  );
}

function readDescriptors(value: unknown, where: string, name: string): ConnectorPluginDescriptor[] {
  let entries: Array<[string, unknown, string | undefined]>;
  if (Array.isArray(value)) entries = value.map((d, i) => [`${name}[${i}]`, d, undefined]);
  else if (looksLikeDescriptor(value)) entries = [[name, value, undefined]];
  else if (isObject(value)) entries = Object.entries(value).map(([k, d]) => [`${name}.${k}`, d, k]); // keyed by type
  else throw new ConnectorSetupError(`${where}: ${name} must be an array of { type, create(definition) }, got ${typeof value}`);
  if (entries.length === 0) throw new ConnectorSetupError(`${where}: ${name} is empty: no connector type offered`);
  return entries.map(([at, d, key]) => {
    if (!isObject(d)) throw new ConnectorSetupError(`${where}: ${at} must be an object { type, create(definition) }`);
    const type = d.type ?? key;
    if (typeof type !== 'string' || !type) throw new ConnectorSetupError(`${where}: ${at}.type must be a non-empty string`);
    if (typeof d.create !== 'function') throw new ConnectorSetupError(`${where}: ${at}.create must be a function (definition) => connector`);
    const aliases = d.aliases ?? [];
    if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string' || !a)) {
      throw new ConnectorSetupError(`${where}: ${at}.aliases must be an array of non-empty strings`);
    }
    return { type, aliases, create: d.create.bind(d) as ConnectorPluginDescriptor['create'] };
  });
}

/**
 * Wraps descriptors into a Nest module of @ConnectorProvider factories, so the registry finds them like any
 * other. `alsoSelectedBy`: extra names (the config's module spec) when the plugin offers a single type.
 */
export function descriptorModule(descriptors: ConnectorPluginDescriptor[], alsoSelectedBy: string[] = []): DynamicModule {
  const providers = descriptors.map((d) => {
    const aliases = [...(d.aliases ?? []), ...(descriptors.length === 1 ? alsoSelectedBy : [])];
    @ConnectorProvider({ type: d.type, aliases })
    class PluginConnectorFactory {
      create(definition: ConnectorDefinition) {
        return d.create(definition);
      }
    }
    return PluginConnectorFactory;
  });
  // A class of its own per plugin: Nest tells modules apart by class.
  class PluginConnectorsModule {}
  return { module: PluginConnectorsModule, providers };
}

/**
 * Loads the plugins named by `connectors.<id>.module` (a package name, or a path relative to `baseDir`). A plugin
 * exports plain descriptors (`connectors`, no import of ours needed) or `connectorModule`, a NestJS module
 * providing @ConnectorProvider factories. A plugin offering one type is also selected by its `module:` alone.
 * A plugin that cannot be loaded is recorded in `problems` (by connector id) when given, so that the registry reports
 * it with every other connector mistake; without it, all such failures are thrown at once.
 */
export function loadConnectorPlugins(config: GatewayConfig, baseDir: string, problems?: Map<string, string[]>, file?: string): Loaded[] {
  const modules: Loaded[] = [];
  const failed = problems ?? new Map<string, string[]>();
  const byPath = new Map<string, { descriptors?: ConnectorPluginDescriptor[]; module?: Loaded; specs: Set<string> }>();
  for (const [id, entry] of Object.entries(config.connectors)) {
    if (!entry.enabled || !entry.module || BUILT_IN_MODULES.test(entry.module)) continue;
    const where = `connectors.${id}.module`;
    let path: string;
    let exported: unknown;
    try {
      path = require.resolve(entry.module, { paths: [baseDir] });
      // Plain require (not createRequire) so test runners' module registries apply too.
      exported = require(path);
    } catch (e) {
      failed.set(id, [`${where}: cannot load "${entry.module}": ${(e as Error).message.split('\n')[0]}`]);
      continue;
    }
    const seen = byPath.get(path);
    if (seen) {
      seen.specs.add(entry.module);
      continue;
    }
    try {
      byPath.set(path, { ...interpretPluginExports(exported, `${where}: "${entry.module}"`), specs: new Set([entry.module]) });
    } catch (e) {
      failed.set(id, e instanceof ConnectorSetupError ? e.problems : [(e as Error).message]);
    }
  }
  if (!problems && failed.size) throw new ConnectorSetupError([...failed.values()].flat(), file);
  for (const p of byPath.values()) {
    if (p.descriptors) modules.push(descriptorModule(p.descriptors, [...p.specs]));
    else if (p.module && !modules.includes(p.module)) modules.push(p.module);
  }
  return modules;
}
