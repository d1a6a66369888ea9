import { resolve } from 'node:path';
import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { parseSize, prettyLine, RotatingFile } from './log-output';

export type { Logger } from 'pino';

// Python-style level names from existing config files map onto pino's.
const LEVELS: Record<string, pino.LevelWithSilent> = {
  trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error', critical: 'fatal', fatal: 'fatal', silent: 'silent',
};

export function isLogLevel(level: string): boolean {
  return Object.hasOwn(LEVELS, level.toLowerCase());
}

export function toPinoLevel(level: string): pino.LevelWithSilent {
  return LEVELS[level.toLowerCase()] ?? 'info';
}

/** Structured JSON logs on stdout. */
export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino({ level: toPinoLevel(level), base: { service: 'byova-gateway' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** `logging.gateway` as the process uses it (the LogTarget settings). */
export interface LogSettings {
  level: string;
  format?: string;
  file?: string;
  max_size?: number | string;
  backup_count?: number;
}

/** Defaults of a log file's rotation (the Python gateway's shipped values). */
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_BACKUPS = 5;

/** `pretty` or `json`: JSON unless asked, or unless stdout is a terminal and nothing is asked. */
export function stdoutFormat(format: string | undefined, isTTY: boolean): 'pretty' | 'json' {
  if (format === 'pretty' || format === 'json') return format;
  return isTTY ? 'pretty' : 'json';
}

export interface GatewayLogging {
  logger: Logger;
  /** The file being written, absolute; undefined without `logging.gateway.file`. */
  file?: string;
  format: 'pretty' | 'json';
  /** Closes the file (tests; the process exit closes it otherwise). */
  close(): void;
}

/**
 * The process's logger from `logging.gateway`: JSON lines on stdout (or one readable line per event with `format:
 * pretty`, or on a terminal), and, with `file`, the same events as JSON lines in that file, rotated by size
 * (`max_size`, `backup_count`). Throws when the file cannot be opened (the caller reports it as configuration).
 */
export function createGatewayLogging(
  settings: LogSettings,
  opts: { baseDir: string; stdout?: { write(s: string): unknown; isTTY?: boolean } } = { baseDir: process.cwd() },
): GatewayLogging {
  const out = opts.stdout ?? process.stdout;
  const format = stdoutFormat(settings.format, !!out.isTTY);
  // Synchronous stdout, as pino's own default: lines are not lost when the process exits.
  const stdout = opts.stdout ?? pino.destination({ dest: 1, sync: true });
  let file: RotatingFile | undefined;
  let logger: Logger | undefined;
  if (settings.file) {
    const path = resolve(opts.baseDir, settings.file);
    file = new RotatingFile(path, parseSize(settings.max_size ?? DEFAULT_LOG_MAX_BYTES) ?? DEFAULT_LOG_MAX_BYTES, settings.backup_count ?? DEFAULT_LOG_BACKUPS, (err) =>
      // Once: the file stops, stdout goes on.
      logger?.error({ err: err.message, file: path }, 'log file write failed: logging to stdout only'),
    );
  }
  const destination = {
    write(line: string) {
      stdout.write(format === 'pretty' ? prettyLine(line) : line);
      file?.write(line);
    },
  };
  logger = createLogger(settings.level, destination);
  return { logger, file: file?.file, format, close: () => file?.close() };
}

/**
 * The log level at run time (SIGUSR2, the monitoring API). Child loggers follow their root's level (pino 10), so
 * setting it on the root changes every logger of the process at once.
 */
export class LogLevelControl {
  readonly configured: pino.LevelWithSilent;
  private readonly listeners: Array<(level: string) => void> = [];

  constructor(
    private readonly root: Logger,
    configured: string,
  ) {
    this.configured = toPinoLevel(configured);
  }

  get level(): string {
    return this.root.level;
  }

  /** Sets the level (Python names accepted); logged as a warning so it shows at any level. */
  set(level: string, by: string): { previous: string; level: string } {
    if (!isLogLevel(level)) throw new Error(`unknown log level "${level}"`);
    const previous = this.root.level;
    this.root.level = toPinoLevel(level);
    this.root.warn({ previous, level: this.root.level, by }, `log level ${previous} -> ${this.root.level}`);
    for (const l of this.listeners) l(this.root.level);
    return { previous, level: this.root.level };
  }

  /** Called with the new level after each change (a logger in another thread follows it). */
  onChange(listener: (level: string) => void): void {
    this.listeners.push(listener);
  }

  /** SIGUSR2: debug, or back to the configured level when already at debug. */
  toggleDebug(by: string): { previous: string; level: string } {
    const target = this.root.level === 'debug' ? (this.configured === 'debug' ? 'info' : this.configured) : 'debug';
    return this.set(target, by);
  }
}

/** Routes NestJS's own log lines into the same pino stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) { this.logger.info({ context }, String(message)); }
  error(message: unknown, trace?: string, context?: string) { this.logger.error({ context, trace }, String(message)); }
  warn(message: unknown, context?: string) { this.logger.warn({ context }, String(message)); }
  debug(message: unknown, context?: string) { this.logger.debug({ context }, String(message)); }
  verbose(message: unknown, context?: string) { this.logger.trace({ context }, String(message)); }
  fatal(message: unknown, context?: string) { this.logger.fatal({ context }, String(message)); }
}
