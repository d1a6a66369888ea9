import { IsBoolean, IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';

export const PROMPT_KEYS = ['welcome', 'default', 'transfer', 'goodbye', 'error', 'no_input'] as const;
export type PromptKey = (typeof PROMPT_KEYS)[number];

export const DTMF_ACTIONS = ['transfer', 'goodbye', 'default'] as const;
export type DtmfAction = (typeof DTMF_ACTIONS)[number];

export class AudioFiles {
  @IsString() welcome = 'welcome.wav';
  @IsString() default = 'default_response.wav';
  @IsString() transfer = 'transferring.wav';
  @IsString() goodbye = 'goodbye.wav';
  @IsString() error = 'error.wav';
  @IsString() no_input = 'no_input.wav';
}

export class PromptTexts {
  @IsString() welcome = 'Hello, welcome to the Webex Contact Center virtual agent gateway. How can I help you today?';
  @IsString() default = 'Thank you. I heard you. Press 5 to speak with an agent, or 6 to end the call.';
  @IsString() transfer = 'Transferring you to an agent. Please wait.';
  @IsString() goodbye = 'Thank you for calling. Goodbye!';
  @IsString() error = 'Sorry, something went wrong. Please try again.';
  @IsString() no_input = 'Sorry, I did not hear anything. How can I help you?';
}


/** `connectors.<id>.config` of the local audio connector (Python gateway keys). */
export class LocalAudioConfig {
  @IsString() agent_id = 'Local Playback';
  @IsString() audio_base_path = 'audio';
  @ValidateNested() @Type(() => AudioFiles) audio_files = new AudioFiles();
  @ValidateNested() @Type(() => PromptTexts) prompt_texts = new PromptTexts();
  /** Digits (as the caller keys them) → what the agent does. */
  @IsObject() dtmf_actions: Record<string, DtmfAction> = { '5': 'transfer', '6': 'goodbye' };
  // Python gateway diagnostics keys; call recording is configured elsewhere.
  @IsOptional() @IsBoolean() record_caller_audio?: boolean;
  @IsOptional() @IsObject() audio_recording?: Record<string, unknown>;
}

export function checkDtmfActions(map: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [digits, action] of Object.entries(map)) {
    if (!/^[0-9*#A-D]+$/.test(digits)) problems.push(`dtmf_actions: "${digits}" is not a DTMF key sequence`);
    if (!(DTMF_ACTIONS as readonly string[]).includes(action as string)) {
      problems.push(`dtmf_actions.${digits}: must be one of ${DTMF_ACTIONS.join(', ')}`);
    }
  }
  return problems;
}

