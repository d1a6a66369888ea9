import 'reflect-metadata';
import { ConfigError, createLogger, loadGatewayConfig } from '@app/config';
import { startGateway } from './bootstrap';

/** How long after the grace the process exits even if the shutdown has not returned. */
const BACKSTOP_MS = 1000;

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = loadGatewayConfig();
  } catch (e) {
    // Configuration errors are for the operator: plain text, no stack, non-zero exit.
    process.stderr.write(`${e instanceof ConfigError ? e.message : `Cannot load configuration: ${(e as Error).message}`}\n`);
    process.exit(2);
  }
  const logger = createLogger(loaded.config.logging.gateway.level);
  // A stray rejection is a bug to log, not a reason to drop every call in progress.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
  for (const w of loaded.warnings) logger.warn(w);
  let gateway;
  try {
    gateway = await startGateway(loaded, logger);
  } catch (e) {
    // Mostly the operator's to fix (connector settings, port in use) and the message names it: no stack unless debugging.
    logger.debug({ err: e }, 'start-up failure');
    logger.fatal(`gateway failed to start: ${(e as Error).message}`);
    process.stderr.write(`Gateway failed to start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  logger.info({ address: gateway.address, http: gateway.httpAddress, config: loaded.file }, 'BYOVA gateway listening');

  const graceMs = loaded.config.gateway.shutdown_grace_seconds * 1000;
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Backstop: the shutdown bounds every step itself; should one still hang, exit anyway just after the grace.
    setTimeout(() => {
      logger.warn({ graceMs }, 'shutdown did not return in time: exiting');
      process.exit(0);
    }, graceMs + BACKSTOP_MS).unref();
    void gateway.shutdown(graceMs).then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
