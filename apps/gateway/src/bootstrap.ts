import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type LoadedConfig, type Logger, PinoNestLogger } from '@app/config';
import { loadConnectorPlugins } from '@app/connector-sdk';
import { ConversationEngine } from '@app/engine';
import { GatewayModule } from './gateway.module';
import { grpcOptions } from './grpc/grpc-options';
import { GrpcServerHost } from './grpc/grpc-server.host';
import { DrainService } from './lifecycle/drain.service';

export interface RunningGateway {
  /** One hybrid application: the HTTP server (monitoring) with the gRPC microservice connected to it. */
  app: INestApplication;
  /** gRPC host:port. */
  address: string;
  /** HTTP host:port (the actual port when configured as 0); undefined when monitoring is disabled. */
  httpAddress?: string;
  engine: ConversationEngine;
  /** Graceful stop: NOT_SERVING, refuse new RPCs, let in-flight ones finish within the grace, then close. */
  shutdown(graceMs?: number): Promise<{ drained: boolean }>;
}

/** Builds and starts the gateway; main.ts and the e2e tests share it. */
export async function startGateway(loaded: LoadedConfig, logger: Logger): Promise<RunningGateway> {
  const plugins = loadConnectorPlugins(loaded.config, loaded.baseDir);
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(loaded, logger, plugins), {
    logger: new PinoNestLogger(logger.child({ source: 'nest' })),
    abortOnError: false,
    // Keep-alive and streaming HTTP clients must not hold the close open.
    forceCloseConnections: true,
  });
  const { gateway: g, monitoring: m } = loaded.config;
  const grpcHost = app.get(GrpcServerHost);
  app.connectMicroservice(grpcOptions(loaded.config, (server, url) => grpcHost.attach(server, url)));
  let httpAddress: string | undefined;
  // Connectors and the speech detector are set up (init) before either listener opens.
  await app.init();
  try {
    await app.startAllMicroservices();
    if (m.enabled) {
      await app.listen(m.port, m.host);
      const bound = app.getHttpServer().address() as AddressInfo;
      httpAddress = `${m.host}:${bound.port}`;
    }
  } catch (e) {
    // Whichever listener failed (a port in use), the other must not stay bound.
    await app.close().catch(() => undefined);
    throw e;
  }
  const drain = app.get(DrainService);
  let stopping: Promise<{ drained: boolean }> | undefined;
  return {
    app,
    address: `${g.host}:${g.port}`,
    httpAddress,
    engine: app.get(ConversationEngine),
    shutdown(graceMs = g.shutdown_grace_seconds * 1000) {
      stopping ??= (async () => {
        drain.startDraining();
        logger.info({ inflight: drain.inflightCount, graceMs }, 'draining');
        const drained = await drain.waitIdle(graceMs);
        if (!drained) logger.warn({ inflight: drain.inflightCount }, 'shutdown grace expired with RPCs in flight');
        await app.close();
        return { drained };
      })();
      return stopping;
    },
  };
}
