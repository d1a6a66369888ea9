import { Module } from '@nestjs/common';
import { EngineModule } from '@app/engine';
import { HealthModule } from '../health/health.module';
import { JwtAuthModule } from '../jwt-auth/jwt-auth.module';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { RpcModule } from '../rpc/rpc.module';
import { CallLogService } from './call-log/call-log.service';
import { MonitoringHttpWorker } from './http-worker/monitoring-http-worker.service';
import { MetricsService } from './metrics/metrics.service';
import { StatusService } from './status/status.service';

/**
 * Monitoring's bookkeeping, on the main thread: the call log (from the engine's events), the Prometheus
 * metrics and the status read from the gateway's health and status services. Its HTTP server
 * (MonitoringHttpModule) runs in a worker thread that MonitoringHttpWorker starts and answers.
 */
@Module({
  imports: [EngineModule, HealthModule, LifecycleModule, JwtAuthModule, RpcModule],
  providers: [CallLogService, MetricsService, StatusService, MonitoringHttpWorker],
  exports: [CallLogService, StatusService, MonitoringHttpWorker],
})
export class MonitoringModule {}
