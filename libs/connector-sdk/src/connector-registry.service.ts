import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { AudioFormat } from '@app/audio';
import { instanceToPlain } from 'class-transformer';
import {
  AgentDefaults,
  ConfigError,
  ConfigPaths,
  ConnectorEntry,
  ConnectorsSection,
  GatewaySection,
  LOGGER,
  mergeSettings,
  validateSection,
  type Logger,
} from '@app/config';
import { CONNECTOR_PROVIDER, ConnectorProviderMeta } from './connector-provider.decorator';
import type { Endpointing } from './agent-session';
import type { AgentDescriptor, ConnectorFactory, ConnectorHealth, VirtualAgentConnector } from './connector.types';

/** An agent as the engine sees it: which connector serves it and how its calls behave. */
export interface AgentBinding {
  id: string;
  name: string;
  attributes: Record<string, string>;
  connectorId: string;
  connector: VirtualAgentConnector;
  defaults: AgentDefaults;
  promptFormat: AudioFormat;
  /** The connector wants the audio of caller utterances. */
  speechAudio: boolean;
  /** ... at this sample rate (undefined: the caller's). */
  speechAudioRate?: number;
  /** Who decides where the caller's speech starts and ends. */
  endpointing: Endpointing;
  isDefault: boolean;
}

/**
 * Start-up failure of a connector: a configuration mistake (the process exits 2, like the loader's), each problem
 * naming its key, the file when known.
 */
export class ConnectorSetupError extends ConfigError {
  override name = 'ConnectorSetupError';
  constructor(problems: string | string[], file?: string) {
    super(Array.isArray(problems) ? problems : [problems], file);
  }
}

/** Problems met while loading plugin modules (before the app exists), by connector id: reported with the rest. */
export const CONNECTOR_LOAD_PROBLEMS = Symbol.for('byova.connector-load-problems');

/** Plugins may be plain JavaScript: check what a factory built before the engine relies on it. */
function checkConnectorShape(id: string, type: string, c: unknown): void {
  const fail = (what: string) => {
    throw new ConnectorSetupError(`connectors.${id}: the "${type}" connector ${what}`);
  };
  if (typeof c !== 'object' || c === null) fail(`factory returned ${c === null ? 'null' : typeof c}, not a connector object`);
  const has = (name: string) => typeof (c as Record<string, unknown>)[name] === 'function';
  if (!has('listAgents')) fail('has no listAgents() method');
  if (has('openSession')) return;
  const missing = ['start', 'handleInput', 'end'].filter((m) => !has(m));
  if (missing.length) fail(`needs openSession(ctx) (streaming), or start, handleInput and end (request/reply); missing ${missing.join(', ')}`);
}

/**
 * Builds every configured connector through the factory that handles its type (built-in or plugin,
 * found by @ConnectorProvider) and routes agent ids to them.
 */
@Injectable()
export class ConnectorRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly factories = new Map<string, { factory: ConnectorFactory; meta: ConnectorProviderMeta; metatype: unknown }>();
  private readonly byId = new Map<string, AgentBinding>();
  /** Every built connector by its config id, agents or not. */
  private readonly built = new Map<string, VirtualAgentConnector>();
  private ordered: AgentBinding[] = [];
  private defaultBinding?: AgentBinding;
  /** Set once start-up built every connector: agent changes reported before are read by the build itself. */
  private ready = false;
  private readonly log: Logger;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly connectors: ConnectorsSection,
    private readonly gateway: GatewaySection,
    private readonly paths: ConfigPaths,
    @Inject(LOGGER) logger: Logger,
    @Optional() @Inject(CONNECTOR_LOAD_PROBLEMS) private readonly loadProblems: Map<string, string[]> = new Map(),
  ) {
    this.log = logger.child({ context: 'ConnectorRegistry' });
  }

  async onModuleInit(): Promise<void> {
    for (const wrapper of this.discovery.getProviders()) {
      const meta: ConnectorProviderMeta | undefined =
        wrapper.metatype && Reflect.getMetadata(CONNECTOR_PROVIDER, wrapper.metatype);
      if (!meta || !wrapper.instance) continue;
      for (const name of [meta.type, ...(meta.aliases ?? [])]) {
        const had = this.factories.get(name);
        // The same factory class seen through two modules is fine; two different ones would silently shadow.
        if (had && had.metatype !== wrapper.metatype) {
          throw new ConnectorSetupError(`connector type "${name}" is provided twice (by the "${had.meta.type}" and "${meta.type}" providers): rename one in its plugin`);
        }
        this.factories.set(name, { factory: wrapper.instance, meta, metatype: wrapper.metatype });
      }
    }
    await this.build();
  }

  private findFactory(id: string, entry: ConnectorEntry) {
    for (const key of [entry.type, entry.module, entry.class]) {
      const hit = key && this.factories.get(key);
      if (hit) return hit;
    }
    const known = [...new Set([...this.factories.values()].map((f) => f.meta.type))].join(', ');
    const key = entry.type ? 'type' : entry.module ? 'module' : 'class';
    const asked = entry.type ?? entry.module ?? entry.class;
    throw new ConnectorSetupError(
      `connectors.${id}.${key}: unknown connector type "${asked}" (known types: ${known || 'none'}); ` +
        `to keep the entry without loading it, set connectors.${id}.enabled: false`,
    );
  }

  /**
   * Builds every enabled connector, going on past a failing one, so that every connector's mistakes are reported in
   * one go (with the plugin-loading ones): one ConfigError listing them all, before any listener opens.
   */
  private async build(): Promise<void> {
    const problems: string[] = [];
    const note = (id: string | undefined, e: unknown) => {
      if (e instanceof ConfigError) problems.push(...e.problems);
      else {
        const msg = (e as Error).message;
        problems.push(id === undefined || msg.startsWith(`connectors.${id}`) ? msg : `connectors.${id}: ${msg}`);
      }
    };
    for (const [id, entry] of Object.entries(this.connectors)) {
      if (!entry.enabled) continue;
      const loadProblems = this.loadProblems.get(id);
      if (loadProblems) {
        problems.push(...loadProblems);
        continue;
      }
      try {
        await this.buildOne(id, entry);
      } catch (e) {
        note(id, e);
      }
    }
    const wanted = this.gateway.default_agent;
    // Only meaningful once every connector listed its agents.
    if (!problems.length && wanted && !this.byId.has(wanted)) {
      problems.push(`gateway.default_agent: no agent "${wanted}" (agents: ${this.ordered.map((a) => a.id).join(', ') || 'none'})`);
    }
    if (problems.length) {
      // Those built are closed: start-up stops here.
      await this.closeAll();
      throw new ConnectorSetupError(problems, this.paths.file);
    }
    this.pickDefault();
    this.ready = true;
  }

  private async buildOne(id: string, entry: ConnectorEntry): Promise<void> {
    const { factory, meta } = this.findFactory(id, entry);
    const promptFormat: AudioFormat = { encoding: entry.defaults.prompt_encoding, sampleRate: entry.defaults.prompt_sample_rate };
    let connector: VirtualAgentConnector;
    try {
      connector = await factory.create({
        id,
        config: entry.config ?? {},
        defaults: entry.defaults,
        timeouts: entry.timeouts,
        promptFormat,
        baseDir: this.paths.baseDir,
        logger: this.log.child({ connector: id }),
        agentsChanged: () => this.resync(id),
      });
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      const msg = (e as Error).message;
      throw new ConnectorSetupError(msg.startsWith(`connectors.${id}`) ? msg : `connectors.${id}: ${msg}`);
    }
    checkConnectorShape(id, meta.type, connector);
    this.built.set(id, connector);
    const caps = connector.capabilities?.();
    if (caps?.endpointing === 'agent' && typeof connector.openSession !== 'function') {
      throw new ConnectorSetupError(`connectors.${id}: a connector that endpoints the caller itself must offer openSession() (a streaming session)`);
    }
    const agents = this.readAgents(id, meta.type, connector);
    const unknown = Object.keys(entry.agent_defaults ?? {}).filter((a) => !agents.some((d) => d.id === a));
    if (unknown.length) {
      throw new ConnectorSetupError(`connectors.${id}.agent_defaults: no agent "${unknown[0]}" in this connector (agents: ${agents.map((a) => a.id).join(', ')})`);
    }
    if (agents.length === 0) this.log.warn({ connector: id }, 'connector offers no agents');
    for (const a of agents) this.bind(id, entry, connector, promptFormat, a);
    this.log.info({ connector: id, type: meta.type, agents: agents.map((a) => a.id) }, 'connector ready');
  }

  private pickDefault(): void {
    if (this.defaultBinding) this.defaultBinding.isDefault = false;
    const wanted = this.gateway.default_agent;
    this.defaultBinding = wanted ? this.byId.get(wanted) : this.ordered[0];
    if (this.defaultBinding) this.defaultBinding.isDefault = true;
  }

  private readAgents(id: string, type: string, connector: VirtualAgentConnector): AgentDescriptor[] {
    const agents = connector.listAgents();
    if (!Array.isArray(agents) || agents.some((a) => typeof a?.id !== 'string' || !a.id)) {
      throw new ConnectorSetupError(`connectors.${id}: listAgents() of the "${type}" connector must return an array of { id: string }`);
    }
    return agents;
  }

  /** Adds one of the connector's agents; a setup error names what is wrong. */
  private bind(id: string, entry: ConnectorEntry, connector: VirtualAgentConnector, promptFormat: AudioFormat, a: AgentDescriptor): AgentBinding {
    const owner = this.byId.get(a.id);
    if (owner) throw new ConnectorSetupError(`connectors.${id}: agent id "${a.id}" is already served by connector ${owner.connectorId}`);
    const caps = connector.capabilities?.();
    const modes = caps?.replyModes;
    const defaults = this.agentDefaults(id, entry, a.id);
    if (modes && !modes.includes(defaults.reply_mode)) {
      const where = entry.agent_defaults?.[a.id]?.reply_mode ? `agent_defaults.${a.id}` : 'defaults';
      throw new ConnectorSetupError(`connectors.${id}.${where}.reply_mode: "${defaults.reply_mode}" is not supported by this connector (use ${modes.join(' or ')})`);
    }
    const binding: AgentBinding = {
      id: a.id,
      name: a.name ?? (a.id.includes(': ') ? a.id.slice(a.id.indexOf(': ') + 2) : a.id),
      attributes: a.attributes ?? {},
      connectorId: id,
      connector,
      defaults,
      promptFormat,
      speechAudio: caps?.speechAudio ?? true,
      speechAudioRate: caps?.speechAudioRate,
      endpointing: caps?.endpointing ?? 'gateway',
      isDefault: false,
    };
    this.byId.set(a.id, binding);
    this.ordered.push(binding);
    return binding;
  }

  /**
   * Reads a connector's agents again after it said they changed: new ones are bound, vanished ones stop taking
   * new calls (calls in progress hold their binding). A bad list is logged and the current one kept.
   */
  private resync(id: string): void {
    // During create() the list is read right after anyway.
    if (!this.ready) return;
    const connector = this.built.get(id);
    const entry = this.connectors[id];
    if (!connector || !entry) return;
    let agents: AgentDescriptor[];
    try {
      agents = this.readAgents(id, this.typeOf(entry), connector);
    } catch (e) {
      this.log.error({ connector: id, err: (e as Error).message }, 'connector reported a bad agent list; keeping the current one');
      return;
    }
    const mine = this.ordered.filter((b) => b.connectorId === id);
    const promptFormat: AudioFormat = { encoding: entry.defaults.prompt_encoding, sampleRate: entry.defaults.prompt_sample_rate };
    const added: string[] = [];
    for (const a of agents) {
      if (mine.some((b) => b.id === a.id)) continue;
      try {
        this.bind(id, entry, connector, promptFormat, a);
        added.push(a.id);
      } catch (e) {
        this.log.error({ connector: id, agent: a.id, err: (e as Error).message }, 'new agent not added');
      }
    }
    const removed = mine.filter((b) => !agents.some((a) => a.id === b.id));
    for (const b of removed) this.byId.delete(b.id);
    if (removed.length) this.ordered = this.ordered.filter((b) => !removed.includes(b));
    if (!added.length && !removed.length) return;
    this.pickDefault();
    this.log.info({ connector: id, added, removed: removed.map((b) => b.id) }, 'connector agents changed');
  }

  private typeOf(entry: ConnectorEntry): string {
    return entry.type ?? entry.module ?? entry.class ?? 'unknown';
  }

  /** The connector's defaults with the agent's own `agent_defaults` laid over them. */
  private agentDefaults(id: string, entry: ConnectorEntry, agentId: string): AgentDefaults {
    const override = entry.agent_defaults?.[agentId];
    if (!override) return entry.defaults;
    const where = `connectors.${id}.agent_defaults.${agentId}`;
    if ('prompt_encoding' in override || 'prompt_sample_rate' in override) {
      // Prompts are converted once per connector, so the call format cannot differ between its agents.
      throw new ConnectorSetupError(`${where}: prompt_encoding and prompt_sample_rate are set per connector, in defaults`);
    }
    const { value, problems } = validateSection(AgentDefaults, mergeSettings(instanceToPlain(entry.defaults), override), where);
    if (problems.length) throw new ConnectorSetupError(problems);
    return value;
  }

  agents(): readonly AgentBinding[] {
    return this.ordered;
  }

  /** An empty id selects the default agent. */
  resolve(agentId: string): AgentBinding | undefined {
    return agentId ? this.byId.get(agentId) : this.defaultBinding;
  }

  /**
   * Each connector's own health report (those that offer health()), by config id, read now: for monitoring.
   * A report that throws counts as degraded, with the error.
   */
  connectorHealth(): Record<string, ConnectorHealth> {
    const out: Record<string, ConnectorHealth> = {};
    for (const [id, c] of this.built) {
      if (typeof c.health !== 'function') continue;
      try {
        out[id] = c.health();
      } catch (e) {
        out[id] = { degraded: true, error: (e as Error).message };
      }
    }
    return out;
  }

  hasAgents(): boolean {
    return this.ordered.length > 0;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.closeAll();
  }

  private async closeAll(): Promise<void> {
    for (const [id, c] of this.built) {
      await Promise.resolve()
        .then(() => c.close?.())
        .catch((e) => this.log.warn({ err: e, connector: id }, 'connector close failed'));
    }
    this.built.clear();
  }
}
