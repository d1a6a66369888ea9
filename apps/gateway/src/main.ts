import 'reflect-metadata';
import { ConfigError, createGatewayLogging, loadGatewayConfig, LogLevelControl } from '@app/config';
import { ConnectorRegistry } from '@app/connector-sdk';
import { startGateway } from './bootstrap';
import { withConnectorProblems } from './connector-check';
import { watchLauncher } from './lifecycle/launcher-watch';
import { startupSummary } from './lifecycle/startup-summary';

/** How long after the grace the process exits even if the shutdown has not returned. */
const BACKSTOP_MS = 1000;
/** The README's promise: a configuration mistake exits with this code, before anything starts. */
const EXIT_CONFIG = 2;

function configFailure(e: ConfigError): never {
  // For the operator: plain text, every problem at once, no stack.
  process.stderr.write(`${e.message}\n`);
  process.exit(EXIT_CONFIG);
}

async function main(): Promise<void> {
  // Signals are taken from the first moment: one arriving during start-up stops the gateway (drained, exit 0) as soon
  // as it is up, instead of killing it half-built; the launchers are watched from the start for the same reason.
  let requested: string | undefined;
  let onStop = (reason: string) => {
    requested ??= reason;
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
  // Its default would kill the process: ignored until the gateway is up.
  let onUsr2 = () => undefined as unknown;
  process.on('SIGUSR2', () => onUsr2());
  // `nest start` runs the gateway under `sh -c`, which dies of SIGTERM without passing it on: stop with it.
  const launcher = watchLauncher(() => onStop('launcher exited'));
  let loaded;
  try {
    loaded = loadGatewayConfig();
  } catch (e) {
    // The connectors are checked too (nothing starts): every mistake of the file in one report.
    if (e instanceof ConfigError) configFailure(await withConnectorProblems(e));
    process.stderr.write(`Cannot load configuration: ${(e as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
  let logging;
  try {
    logging = createGatewayLogging(loaded.config.logging.gateway, { baseDir: loaded.baseDir });
  } catch (e) {
    configFailure(new ConfigError([`logging.gateway.file: cannot write ${loaded.config.logging.gateway.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`], loaded.file));
  }
  const { logger } = logging;
  if (logging.file) logger.info({ file: logging.file }, `logging to ${logging.file} too`);
  // A stray rejection is a bug to log, not a reason to drop every call in progress.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
  for (const w of loaded.warnings) logger.warn(w);
  let gateway;
  try {
    gateway = await startGateway(loaded, logger);
  } catch (e) {
    // Connector settings found wrong while building the connectors: still a configuration mistake.
    if (e instanceof ConfigError) configFailure(e);
    // Mostly the operator's to fix (port in use, a backend refusing) and the message names it: no stack unless debugging.
    logger.debug({ err: e }, 'start-up failure');
    logger.fatal(`gateway failed to start: ${(e as Error).message}`);
    process.stderr.write(`Gateway failed to start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const { gateway: g, monitoring: m } = loaded.config;
  const agents = gateway.app.get(ConnectorRegistry).agents();
  logger.info(
    {
      address: gateway.address,
      http: gateway.httpAddress,
      config: loaded.file,
      agents: agents.map((a) => a.id),
      defaultAgent: agents.find((a) => a.isDefault)?.id,
    },
    startupSummary({
      grpcAddress: gateway.address,
      tls: !!g.tls?.enabled,
      httpAddress: gateway.httpAddress,
      httpsMonitoring: !!m.tls?.enabled,
      agents,
    }),
  );

  const graceMs = g.shutdown_grace_seconds * 1000;
  let stopping = false;
  onStop = (reason: string) => {
    // A terminal's Ctrl+C reaches the whole process group and a launcher forwards it too: one drain only.
    if (stopping) {
      logger.info({ signal: reason }, 'already shutting down');
      return;
    }
    stopping = true;
    launcher.stop();
    logger.info({ signal: reason }, 'shutting down');
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
  // SIGUSR2: debug logs on, or back to the configured level (the monitoring API sets any level).
  const levels = gateway.app.get(LogLevelControl);
  onUsr2 = () => levels.toggleDebug('SIGUSR2');
  if (launcher.enabled) logger.debug('started by a launcher (npm, npx, nest start): stopping if it exits');
  if (requested) onStop(requested);
}

void main();
