import { NestFactory } from '@nestjs/core';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigError, type LoadedConfig, type Logger, PinoNestLogger } from '@app/config';
import { loadConnectorPlugins } from '@app/connector-sdk';
import { ConversationEngine, type ConversationStateStore } from '@app/engine';
import { GatewayModule } from './gateway.module';
import { grpcOptions } from './grpc/grpc-options';
import { GrpcServerHost } from './grpc/grpc-server.host';
import { GatewayShutdown, type ShutdownReport } from './lifecycle/gateway-shutdown.service';
import { MonitoringHttpWorker } from './monitoring/http-worker/monitoring-http-worker.service';
import type { HttpModuleRef } from './monitoring/http-worker/worker-init';
import { TlsFileError } from './tls/pem-pair';
import { TlsCertificates } from './tls/tls-certificates.service';

export interface RunningGateway {
  /**
   * The gateway's application: the gRPC microservice and the monitoring bookkeeping. The monitoring HTTP server is
   * another Nest application, in a worker thread of the same process (`monitoringHttp`).
   */
  app: INestApplication;
  /** gRPC host:port (the actual port when configured as 0). */
  address: string;
  /** HTTP host:port (the actual port when configured as 0); undefined when monitoring is disabled. */
  httpAddress?: string;
  /** The monitoring HTTP server's thread (tests: its routes, a signed session); undefined when monitoring is disabled. */
  monitoringHttp?: MonitoringHttpWorker;
  engine: ConversationEngine;
  /**
   * Graceful stop within `graceMs` (default gateway.shutdown_grace_seconds), everything included: drain,
   * RPCs still open ended with UNAVAILABLE, conversations ended, application closed. `pending` names what
   * was left when the grace ran out.
   */
  shutdown(graceMs?: number): Promise<ShutdownReport>;
}

/** Builds and starts the gateway; main.ts and the e2e tests share it. */
export interface StartOptions {
  /** Where conversation state lives (default: in this process's memory); replicas sharing calls share one. */
  stateStore?: ConversationStateStore;
  /** Extra Nest modules of the gateway's application. */
  modules?: Array<Type<unknown> | DynamicModule>;
  /** Extra modules of the monitoring HTTP application, by file (it runs in another thread): tests' probe controllers. */
  httpModules?: HttpModuleRef[];
}

export async function startGateway(loaded: LoadedConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningGateway> {
  // A plugin that fails to load is reported by the registry with every other connector mistake, at once.
  const pluginProblems = new Map<string, string[]>();
  const plugins = loadConnectorPlugins(loaded.config, loaded.baseDir, pluginProblems);
  // Certificates are checked before anything starts: a bad file stops start-up with a message naming it.
  let tls: TlsCertificates;
  try {
    tls = new TlsCertificates(loaded, logger);
  } catch (e) {
    // A certificate or key file that cannot be used is a configuration mistake, like a missing prompt (exit 2).
    throw e instanceof TlsFileError ? new ConfigError([e.message], loaded.file) : e;
  }
  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(loaded, logger, plugins, { ...opts, tls, pluginProblems }), {
      logger: new PinoNestLogger(logger.child({ source: 'nest' })),
      abortOnError: false,
    });
  } catch (e) {
    tls.close();
    throw e;
  }
  const { gateway: g, monitoring: m } = loaded.config;
  const grpcHost = app.get(GrpcServerHost);
  app.connectMicroservice(
    grpcOptions(
      loaded.config.gateway,
      (server, url) => {
        grpcHost.attach(server, url);
        tls.guardGrpcServer(server);
      },
      tls.grpcCredentials(),
    ),
  );
  let httpAddress: string | undefined;
  let monitoringHttp: MonitoringHttpWorker | undefined;
  // Connectors and the speech detector are set up (init) before either listener opens.
  await app.init().catch((e: unknown) => {
    tls.close();
    throw e;
  });
  try {
    await app.startAllMicroservices();
    if (m.enabled) {
      tls.followMonitoringFiles();
      const worker = (monitoringHttp = app.get(MonitoringHttpWorker)!);
      httpAddress = await worker.start(loaded, opts.httpModules);
    }
  } catch (e) {
    // Whichever listener failed (a port in use), the other must not stay bound.
    await app.close().catch(() => undefined);
    throw e;
  }
  const shutdown = app.get(GatewayShutdown);
  let stopping: Promise<ShutdownReport> | undefined;
  return {
    app,
    address: `${g.host}:${grpcHost.boundPort() ?? g.port}`,
    httpAddress,
    monitoringHttp,
    engine: app.get(ConversationEngine),
    shutdown(graceMs = g.shutdown_grace_seconds * 1000) {
      stopping ??= shutdown.run(graceMs, () => app.close());
      return stopping;
    },
  };
}
