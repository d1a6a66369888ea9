import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { convertWav } from '@app/audio';
import { validateSection } from '@app/config';
import { ConnectorProvider, ConnectorSetupError } from '@app/connector-sdk';
import type { AgentPrompt, ConnectorDefinition, ConnectorFactory } from '@app/connector-sdk';
import type { SdkBotCatalog } from './catalog/sdk-bot-catalog';
import { BotDirectory, discoverBots, type LexBot, needsCatalog, resolveExplicit } from './lex-bots';
import { LexConnector } from './lex.connector';
import { checkLexConfig, credentialKeys, LexConfig } from './lex.config';

/** The local audio agent's error prompt, relative to the config's base folder: the apology's voice unless configured. */
const DEFAULT_APOLOGY = 'audio/error.wav';

@ConnectorProvider({
  type: 'aws_lex_connector',
  // The Python gateway's module and class names select it too.
  aliases: ['connectors.aws_lex_connector', 'AWSLexConnector'],
})
export class LexConnectorFactory implements ConnectorFactory {
  async create(def: ConnectorDefinition): Promise<LexConnector> {
    const prefix = `connectors.${def.id}.config`;
    const raw = { ...(def.config ?? {}) };
    const problems: string[] = [];
    for (const k of credentialKeys(raw)) {
      problems.push(`${prefix}.${k}: AWS credentials are never read from the config; use the AWS default chain (environment, shared files, SSO, instance or container role)`);
      delete raw[k];
    }
    const { value: cfg, problems: invalid } = validateSection(LexConfig, raw, prefix);
    problems.push(...invalid, ...checkLexConfig(cfg).map((p) => `${prefix}.${p}`));
    // Past the engine's turn deadline the caller already heard the apology: a retry then would be wasted, or worse.
    if (cfg.turn_budget_ms >= def.timeouts.turn_ms) {
      problems.push(`${prefix}.turn_budget_ms (${cfg.turn_budget_ms}) must be below connectors.${def.id}.timeouts.turn_ms (${def.timeouts.turn_ms})`);
    }
    if (problems.length) throw new ConnectorSetupError(problems);
    const apology: AgentPrompt = { text: cfg.apology_text };
    // Lex cannot speak our apology: without a file, the gateway's own error prompt (if shipped beside the config) is used.
    const apologyFile = cfg.apology_audio_file ?? (existsSync(resolve(def.baseDir, DEFAULT_APOLOGY)) ? DEFAULT_APOLOGY : undefined);
    if (!apologyFile) def.logger.warn(`${prefix}.apology_audio_file is not set and ${DEFAULT_APOLOGY} is missing: a failed turn's apology is text only, which a caller does not hear`);
    if (apologyFile) {
      const file = resolve(def.baseDir, apologyFile);
      try {
        const wav = convertWav(readFileSync(file), def.promptFormat);
        apology.audio = { format: def.promptFormat, data: wav.raw, wav: wav.wav };
      } catch (e) {
        throw new ConnectorSetupError(`${prefix}.apology_audio_file: ${file} is not a readable WAV file: ${(e as Error).message}`);
      }
    }

    // The AWS SDK is loaded here, not with the library: a gateway without a Lex connector never loads it (about
    // 3 MB of heap and some 70 ms of start-up), and one with bot ids given by hand never loads the models client.
    const { SdkLexRuntime } = await import('./runtime/sdk-lex-runtime');
    const runtime = new SdkLexRuntime({ region: cfg.region_name, endpoint: cfg.endpoint_url, promptFormat: def.promptFormat });
    const explicit = cfg.bots;
    let catalog: SdkBotCatalog | undefined;
    let load: () => Promise<LexBot[]>;
    if (explicit && !needsCatalog(explicit)) load = () => resolveExplicit(explicit, def.id, cfg.locale_id);
    else {
      const { sdkBotCatalog } = await import('./catalog/sdk-bot-catalog');
      const c = (catalog = sdkBotCatalog({ region: cfg.region_name, endpoint: cfg.models_endpoint_url, timeoutMs: cfg.request_timeout_ms }));
      load = explicit ? () => resolveExplicit(explicit, def.id, cfg.locale_id, c) : () => discoverBots(c, def.id, cfg.locale_id, cfg.alias_name);
    }
    const directory = new BotDirectory(load, def.logger, () => def.agentsChanged());
    await directory.refresh();
    // Ids given by hand never change; names and discovered bots are looked up again now and then.
    if (catalog) directory.every(cfg.discovery_refresh_seconds);
    def.logger.info({ connector: def.id, bots: directory.list().map((b) => b.name), discovery: directory.status.healthy }, 'Lex connector ready');
    return new LexConnector({ id: def.id, config: cfg, directory, runtime, promptFormat: def.promptFormat, logger: def.logger, apology, dispose: () => catalog?.close() });
  }
}
