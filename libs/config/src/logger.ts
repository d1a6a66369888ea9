import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

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
