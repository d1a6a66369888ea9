import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { type LoadedConfig, type Logger, PinoNestLogger } from '@app/config';
import { loadConnectorPlugins } from '@app/connector-sdk';
import { ConversationEngine } from '@app/engine';
import { GatewayModule } from './gateway.module';
import { grpcOptions } from './grpc/grpc-options';
import { GrpcServerHost } from './grpc/grpc-server.host';
import { DrainService } from './lifecycle/drain.service';

export interface RunningGateway {
  app: INestMicroservice;
  address: string;
  engine: ConversationEngine;
  /** Graceful stop: NOT_SERVING, refuse new RPCs, let in-flight ones finish within the grace, then close. */
  shutdown(graceMs?: number): Promise<{ drained: boolean }>;
}

/** Builds and starts the gateway; main.ts and the e2e tests share it. */
export async function startGateway(loaded: LoadedConfig, logger: Logger): Promise<RunningGateway> {
  const plugins = loadConnectorPlugins(loaded.config, loaded.baseDir);
  let onServer: Parameters<typeof grpcOptions>[1];
  const app = await NestFactory.createMicroservice(GatewayModule.forRoot(loaded, logger, plugins), {
    ...grpcOptions(loaded.config, (server, url) => onServer?.(server, url)),
    logger: new PinoNestLogger(logger.child({ source: 'nest' })),
    abortOnError: false,
  });
  const grpcHost = app.get(GrpcServerHost);
  onServer = (server, url) => grpcHost.attach(server, url);
  await app.listen();
  const drain = app.get(DrainService);
  const g = loaded.config.gateway;
  let stopping: Promise<{ drained: boolean }> | undefined;
  return {
    app,
    address: `${g.host}:${g.port}`,
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
