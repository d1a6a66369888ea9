import { Module } from '@nestjs/common';
import { EngineModule } from '@app/engine';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

/** grpc.health.v1.Health, and the serving state it reports. */
@Module({ imports: [EngineModule, LifecycleModule], controllers: [HealthController], providers: [HealthService], exports: [HealthService] })
export class HealthModule {}
