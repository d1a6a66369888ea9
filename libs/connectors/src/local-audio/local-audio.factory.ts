import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { convertWav, writeWav } from '@app/audio';
import { ConnectorProvider } from '../connector-provider.decorator';
import type { AgentPrompt, ConnectorDefinition, ConnectorFactory } from '../connector.types';
import { checkDtmfActions, LocalAudioConfig, PROMPT_KEYS, PromptKey } from './local-audio.config';
import { LocalAudioConnector } from './local-audio.connector';

function describe(errors: ValidationError[], prefix: string): string[] {
  return errors.flatMap((e) => {
    const path = `${prefix}.${e.property}`;
    const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith('property ') ? `${path}: unknown key` : `${path}: ${m}`));
    return [...own, ...describe(e.children ?? [], path)];
  });
}

@ConnectorProvider({
  type: 'local_audio',
  // The Python gateway's module and class names select it too.
  aliases: ['connectors.local_audio_connector', 'LocalAudioConnector'],
})
export class LocalAudioConnectorFactory implements ConnectorFactory {
  create(def: ConnectorDefinition): LocalAudioConnector {
    const prefix = `connectors.${def.id}.config`;
    const cfg = plainToInstance(LocalAudioConfig, def.config, { exposeDefaultValues: true });
    const problems = describe(validateSync(cfg, { whitelist: true, forbidNonWhitelisted: true }), prefix);
    problems.push(...checkDtmfActions(cfg.dtmf_actions).map((p) => `${prefix}.${p}`));
    if (problems.length) throw new Error(problems.join('; '));

    const base = resolve(def.baseDir, cfg.audio_base_path);
    const prompts = {} as Record<PromptKey, AgentPrompt>;
    for (const key of PROMPT_KEYS) {
      const file = resolve(base, cfg.audio_files[key]);
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (e) {
        throw new Error(`${prefix}.audio_files.${key}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      let converted: ReturnType<typeof convertWav>;
      try {
        converted = convertWav(buf, def.promptFormat);
      } catch (e) {
        throw new Error(`${prefix}.audio_files.${key}: ${file} is not a usable WAV file: ${(e as Error).message}`);
      }
      prompts[key] = {
        text: cfg.prompt_texts[key],
        audio: { format: def.promptFormat, data: converted.raw, wav: converted.wav ?? writeWav(converted.raw, def.promptFormat) },
      };
    }
    return new LocalAudioConnector(`Local Audio: ${cfg.agent_id}`, prompts, cfg.dtmf_actions);
  }
}
