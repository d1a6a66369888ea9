import { DynamicModule, Module, Type } from '@nestjs/common';
import { GatewayConfigModule, type LoadedConfig, type Logger } from '@app/config';
import { ConnectorsModule } from '@app/connectors';
import { ConversationStateStoreModule, type ConversationStateStore } from '@app/engine';
import { DataSourceModule } from './data-source/data-source.module';
import { GrpcModule } from './grpc/grpc.module';
import { HealthModule } from './health/health.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { MonitoringModule } from './monitoring/monitoring.module';
import { RpcModule } from './rpc/rpc.module';
import { TlsCertificates } from './tls/tls-certificates.service';
import { TlsModule } from './tls/tls.module';
import { VoiceAgentModule } from './voice-agent/voice-agent.module';

/** The gateway process: config and connectors, then one module per feature folder. */
@Module({})
export class GatewayModule {
  static forRoot(
    loaded: LoadedConfig,
    logger: Logger,
    plugins: Array<Type<unknown> | DynamicModule> = [],
    opts: {
      stateStore?: ConversationStateStore;
      modules?: Array<Type<unknown> | DynamicModule>;
      tls?: TlsCertificates;
      pluginProblems?: Map<string, string[]>;
    } = {},
  ): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        GatewayConfigModule.forRoot(loaded, logger),
        ConnectorsModule.forRoot(plugins, opts.pluginProblems),
        ConversationStateStoreModule.forRoot(opts.stateStore),
        // Made by the bootstrap (its servers need the certificates first); always present, so it can be injected.
        TlsModule.forRoot(opts.tls ?? new TlsCertificates(loaded, logger)),
        LifecycleModule,
        GrpcModule,
        RpcModule,
        DataSourceModule,
        HealthModule,
        VoiceAgentModule,
        // Monitoring's bookkeeping, and its HTTP server in a worker thread: only when it listens.
        ...(loaded.config.monitoring.enabled ? [MonitoringModule] : []),
        // Test-only additions (e.g. a probe controller for the auth tests).
        ...(opts.modules ?? []),
      ],
    };
  }
}
