import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { convertWav } from '@app/audio';
import { validateSection } from '@app/config';
import { ConnectorProvider, ConnectorSetupError } from '@app/connector-sdk';
import type { AgentPrompt, ConnectorDefinition, ConnectorFactory } from '@app/connector-sdk';
import { checkDtmfActions, LocalAudioConfig, PROMPT_KEYS, PromptKey } from './local-audio.config';
import { LocalAudioConnector } from './local-audio.connector';

@ConnectorProvider({
  type: 'local_audio',
  // The Python gateway's module and class names select it too.
  aliases: ['connectors.local_audio_connector', 'LocalAudioConnector'],
})
export class LocalAudioConnectorFactory implements ConnectorFactory {
  create(def: ConnectorDefinition): LocalAudioConnector {
    const prefix = `connectors.${def.id}.config`;
    const { value: cfg, problems } = validateSection(LocalAudioConfig, def.config, prefix);
    problems.push(...checkDtmfActions(cfg.dtmf_actions).map((p) => `${prefix}.${p}`));
    // The prompt files are still checked past other mistakes (a misspelled key), unless their own settings are wrong.
    const promptSettings = [`${prefix}.audio_base_path`, `${prefix}.audio_files`];
    if (problems.some((p) => promptSettings.some((k) => p.startsWith(`${k}:`) || p.startsWith(`${k}.`)))) throw new ConnectorSetupError(problems);

    const base = resolve(def.baseDir, cfg.audio_base_path);
    const prompts = {} as Record<PromptKey, AgentPrompt>;
    // Every prompt is tried, so that all missing or broken files are reported at once.
    for (const key of PROMPT_KEYS) {
      const file = resolve(base, cfg.audio_files[key]);
      let converted: ReturnType<typeof convertWav>;
      try {
        converted = convertWav(readFileSync(file), def.promptFormat);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        problems.push(
          code
            ? `${prefix}.audio_files.${key}: cannot read ${file}: ${code}`
            : `${prefix}.audio_files.${key}: ${file} is not a usable WAV file: ${(e as Error).message}`,
        );
        continue;
      }
      prompts[key] = {
        text: cfg.prompt_texts[key],
        audio: { format: def.promptFormat, data: converted.raw, wav: converted.wav },
      };
    }
    if (problems.length) throw new ConnectorSetupError(problems);
    return new LocalAudioConnector(`Local Audio: ${cfg.agent_id}`, prompts, cfg.dtmf_actions);
  }
}
