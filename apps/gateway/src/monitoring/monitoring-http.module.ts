import { type DynamicModule, Global, Module, type Provider, type Type } from '@nestjs/common';
import { GatewayConfigModule, type LoadedConfig, type Logger } from '@app/config';
import { ConversationsController } from './api/conversations.controller';
import { LogLevelController } from './api/log-level.controller';
import { ProbesController } from './api/probes.controller';
import { StatusController } from './api/status.controller';
import { MonitoringAuthModule } from './auth/monitoring-auth.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { MonitoringExceptionFilter } from './http-exception.filter';
import { MetricsController } from './metrics/metrics.controller';

/** The main thread's services as the worker reaches them (see http-worker/main-thread.stand-ins). */
@Global()
@Module({})
class MainThreadModule {
  static forRoot(providers: Provider[]): DynamicModule {
    return { module: MainThreadModule, providers, exports: providers.map((p) => (p as { provide: unknown }).provide as Type<unknown>) };
  }
}

/**
 * The monitoring HTTP server's application, run in its own worker thread (http-worker/): the REST API under /api
 * (OpenAPI at /api/docs), probes, Prometheus metrics, the dashboard, and who may see them. It reads the gateway
 * only through the reader classes (monitoring-readers.ts), whose stand-ins it is given: the main thread's
 * monitoring services (MonitoringModule) answer them over the bridge.
 */
@Module({})
export class MonitoringHttpModule {
  static forRoot(
    loaded: LoadedConfig,
    logger: Logger,
    mainThread: Provider[],
    /** The log level is the main thread's: provided here, it is what this module's controller gets. */
    logLevel: Provider,
    extra: Array<Type<unknown> | DynamicModule> = [],
  ): DynamicModule {
    return {
      module: MonitoringHttpModule,
      imports: [GatewayConfigModule.forRoot(loaded, logger), MainThreadModule.forRoot(mainThread), MonitoringAuthModule, DashboardModule, ...extra],
      controllers: [StatusController, ConversationsController, ProbesController, MetricsController, LogLevelController],
      providers: [MonitoringExceptionFilter, logLevel],
    };
  }
}
