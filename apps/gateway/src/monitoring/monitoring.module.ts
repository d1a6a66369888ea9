import { forwardRef, Module } from '@nestjs/common';
import { EngineModule } from '@app/engine';
import { HealthModule } from '../health/health.module';
import { JwtAuthModule } from '../jwt-auth/jwt-auth.module';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { RpcModule } from '../rpc/rpc.module';
import { LogLevelController } from './api/log-level.controller';
import { ConversationsController } from './api/conversations.controller';
import { ProbesController } from './api/probes.controller';
import { StatusController } from './api/status.controller';
import { CallLogService } from './call-log/call-log.service';
import { DashboardModule } from './dashboard/dashboard.module';
import { MonitoringExceptionFilter } from './http-exception.filter';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { StatusService } from './status/status.service';

/**
 * Monitoring over HTTP (monitoring.host/port): the REST API under /api (OpenAPI at /api/docs), probes, and
 * Prometheus metrics. Reads the gateway through the engine's events and its health and status services only.
 * The dashboard (its own module) reads the exported CallLogService and StatusService.
 */
@Module({
  imports: [EngineModule, HealthModule, LifecycleModule, JwtAuthModule, RpcModule, forwardRef(() => DashboardModule)],
  controllers: [StatusController, ConversationsController, ProbesController, MetricsController, LogLevelController],
  providers: [CallLogService, MetricsService, StatusService, MonitoringExceptionFilter],
  exports: [CallLogService, StatusService],
})
export class MonitoringModule {}
