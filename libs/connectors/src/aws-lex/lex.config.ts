import { Type } from 'class-transformer';
import { IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, Min, MinLength, ValidateNested } from 'class-validator';

/** One bot given by hand: with ids, no discovery call is made (runtime permissions only). */
export class LexBotEntry {
  @IsOptional() @IsString() @MinLength(1) bot_id?: string;
  @IsOptional() @IsString() @MinLength(1) bot_name?: string;
  @IsOptional() @IsString() @MinLength(1) alias_id?: string;
  @IsOptional() @IsString() @MinLength(1) alias_name?: string;
  @IsOptional() @IsString() @MinLength(1) locale_id?: string;
  /** Shown after `<connector id>: ` in the agent id; default the bot name. */
  @IsOptional() @IsString() @MinLength(1) agent_name?: string;
}

/** What is sent to Lex to get its greeting: a text, or an intent to start directly. */
export class LexWelcome {
  @IsOptional() @IsString() text?: string;
  @IsOptional() @IsString() @MinLength(1) intent?: string;
}

export const NO_INPUT_ACTIONS = ['transfer', 'end'] as const;

/** `connectors.<id>.config` of the Lex V2 connector. Credentials come from the AWS default chain only. */
export class LexConfig {
  @IsString() @MinLength(1) region_name!: string;
  @IsString() @MinLength(1) locale_id = 'en_US';
  @IsOptional() @IsString() endpoint_url?: string;
  @IsOptional() @IsString() models_endpoint_url?: string;
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => LexBotEntry) bots?: LexBotEntry[];
  /** Alias chosen for discovered bots; default the most recently updated one. */
  @IsOptional() @IsString() @MinLength(1) alias_name?: string;
  @IsInt() @Min(100) @Max(60000) request_timeout_ms = 5000;
  @IsInt() @Min(0) @Max(10) max_retries = 2;
  @IsInt() @Min(100) @Max(60000) turn_budget_ms = 8000;
  @ValidateNested() @Type(() => LexWelcome) welcome: LexWelcome = Object.assign(new LexWelcome(), { text: 'hello' });
  @IsArray() @IsString({ each: true }) transfer_intents = ['TransferToAgent', 'Agent', 'Escalate'];
  @IsOptional() @IsString() @MinLength(1) transfer_attribute?: string;
  @IsInt() @Min(0) @Max(10) max_no_input = 2;
  @IsIn(NO_INPUT_ACTIONS) on_no_input_exhausted: (typeof NO_INPUT_ACTIONS)[number] = 'transfer';
  @IsBoolean() include_transcript = false;
  @IsInt() @Min(1) @Max(86400) discovery_refresh_seconds = 300;
  /** What the caller hears when Lex fails: Lex cannot speak it, so it is a WAV file (relative to the config's folder). */
  @IsString() @MinLength(1) apology_text = 'Sorry, I am having trouble right now.';
  @IsOptional() @IsString() @MinLength(1) apology_audio_file?: string;
  /** Consecutive failed requests to one bot after which calls to it fail fast, and for how long. */
  @IsInt() @Min(1) @Max(1000) circuit_failure_threshold = 5;
  @IsInt() @Min(100) @Max(600000) circuit_open_ms = 30000;
}

const CREDENTIAL_KEY = /^(aws_)?(access_key(_id)?|secret(_access)?_key|session_token|credentials|profile(_name)?)$/i;

/** Keys that look like AWS credentials: refused with a message instead of "unknown key". */
export function credentialKeys(raw: Record<string, unknown>): string[] {
  return Object.keys(raw).filter((k) => CREDENTIAL_KEY.test(k));
}

/** Checks class-validator cannot express. */
export function checkLexConfig(cfg: LexConfig): string[] {
  const problems: string[] = [];
  (cfg.bots ?? []).forEach((b, i) => {
    if (!b.bot_id && !b.bot_name) problems.push(`bots.${i}: needs bot_id or bot_name`);
    if (!b.alias_id && !b.alias_name) problems.push(`bots.${i}: needs alias_id or alias_name`);
  });
  if (cfg.welcome.text !== undefined && cfg.welcome.intent !== undefined) problems.push('welcome: give text or intent, not both');
  if (cfg.welcome.text === undefined && cfg.welcome.intent === undefined) problems.push('welcome: needs text or intent');
  return problems;
}
