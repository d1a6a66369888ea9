import { Module } from '@nestjs/common';
import { EngineModule } from '@app/engine';
import { DataSourceModule } from '../data-source/data-source.module';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

/** grpc.health.v1.Health, and the serving state it reports. */
@Module({ imports: [EngineModule, LifecycleModule, DataSourceModule], controllers: [HealthController], providers: [HealthService], exports: [HealthService] })
export class HealthModule {}
