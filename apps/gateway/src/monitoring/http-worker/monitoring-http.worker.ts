import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Server as HttpsServer } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';
import type { DynamicModule, NestApplicationOptions, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { buildGatewayConfig, ConfigError, createLogger, type LoadedConfig, type Logger, PinoNestLogger, toPinoLevel } from '@app/config';
import { monitoringTlsListener, type TlsListener } from '../../tls/tls-listener';
import { MonitoringAuthService } from '../auth/monitoring-auth.service';
import { MonitoringHttpModule } from '../monitoring-http.module';
import { setupMonitoringHttp } from '../setup-http';
import { BlockingCaller, PortRpc } from './bridge';
import { ChangeFeed, logLevelStandIn, mainThreadStandIns } from './main-thread.stand-ins';
import type { WorkerInit } from './worker-init';

/** The Express router's routes (tests prove each refuses an anonymous request). */
interface ExpressLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}
function routes(app: NestExpressApplication): Array<{ method: string; path: string }> {
  const express = app.getHttpAdapter().getInstance() as { router?: { stack: ExpressLayer[] }; _router?: { stack: ExpressLayer[] } };
  const out: Array<{ method: string; path: string }> = [];
  for (const layer of (express.router ?? express._router)?.stack ?? []) {
    if (!layer.route) continue;
    for (const path of [layer.route.path].flat()) for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push({ method: m.toUpperCase(), path });
  }
  return out;
}

/**
 * The thread's stdout and stderr (a library's console output, Node's warnings) become log lines: the gateway's
 * stdout carries JSON lines only, and they reach its log file too. Node would otherwise pipe them raw into the
 * process's stdout and stderr.
 */
function stdioToLog(logger: Logger): void {
  for (const [stream, level] of [
    [process.stdout, 'info'],
    [process.stderr, 'warn'],
  ] as const) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')).trimEnd();
      if (text) logger[level]({ stdio: level === 'info' ? 'stdout' : 'stderr' }, text);
      const done = rest.find((a): a is () => void => typeof a === 'function');
      if (done) queueMicrotask(done);
      return true;
    }) as typeof stream.write;
  }
}

/** The monitoring HTTP server's thread: builds its Nest application, listens, and closes when told. */
async function run(init: WorkerInit): Promise<void> {
  const port = parentPort!;
  // Lines go to the main thread's logger (its outputs, its file); the level follows the main thread's.
  const logger = createLogger(init.level, { write: (line: string) => port.postMessage({ t: 'log', line }) });
  stdioToLog(logger);
  // As on the main thread: a stray rejection is a bug to log, not a reason to take the server down.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection in the monitoring HTTP thread'));
  let app: NestExpressApplication | undefined;
  let tls: TlsListener | undefined;
  const blocking = new BlockingCaller(init.blockingPort, init.signal);
  const rpc: PortRpc = new PortRpc(
    port,
    {
      close: async () => {
        await app?.close();
        tls?.stop();
        // After the answer is posted: nothing is left to keep the thread alive.
        setImmediate(() => {
          feed.complete();
          rpc.close();
          init.blockingPort.close();
        });
      },
      routes: () => (app ? routes(app) : []),
      signSession: (claims: Parameters<MonitoringAuthService['sign']>[0], kind: Parameters<MonitoringAuthService['sign']>[1]) => app!.get(MonitoringAuthService).sign(claims, kind),
    },
    (m) => {
      if (m.t === 'level') logger.level = toPinoLevel(m.level as string);
      else if (m.t === 'changes') feed.push(m.summary as Parameters<ChangeFeed['push']>[0]);
    },
  );
  const feed = new ChangeFeed(rpc);
  try {
    const loaded: LoadedConfig = { config: buildGatewayConfig(init.config, init.file), file: init.file, baseDir: init.baseDir, warnings: [] };
    const m = loaded.config.monitoring;
    // Quiet: the main thread's copy of the listener reports the same rotations and problems.
    tls = monitoringTlsListener(loaded, createLogger('silent'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const extra = init.modules.map((r) => (require(r.file) as Record<string, Type<unknown> | DynamicModule>)[r.export]);
    app = await NestFactory.create<NestExpressApplication>(MonitoringHttpModule.forRoot(loaded, logger, mainThreadStandIns(blocking, rpc, feed), logLevelStandIn(blocking), extra), {
      logger: new PinoNestLogger(logger.child({ source: 'nest' })),
      abortOnError: false,
      // Keep-alive and streaming HTTP clients must not hold the close open.
      forceCloseConnections: true,
      // Nest hands the object to https.createServer as is; its type just lacks minVersion.
      httpsOptions: tls?.serverAndContextOptions() as NestApplicationOptions['httpsOptions'],
    });
    setupMonitoringHttp(app);
    await app.init();
    tls?.serve(app.getHttpServer() as HttpsServer);
    await app.listen(init.port ?? m.port, m.host);
    const bound = app.getHttpServer().address() as AddressInfo;
    port.postMessage({ t: 'listening', address: `${m.host}:${bound.port}` });
  } catch (e) {
    const err = e as Error;
    port.postMessage(e instanceof ConfigError ? { t: 'failed', problems: e.problems, file: e.file, message: err.message } : { t: 'failed', message: err.message });
  }
}

void run(workerData as WorkerInit);
