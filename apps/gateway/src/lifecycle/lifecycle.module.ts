import { Module } from '@nestjs/common';
import { EngineModule } from '@app/engine';
import { RecordingModule } from '@app/recording';
import { GrpcModule } from '../grpc/grpc.module';
import { DrainService } from './drain.service';
import { GatewayShutdown } from './gateway-shutdown.service';

/** Draining and the bounded stop of the whole process. */
@Module({
  imports: [EngineModule, RecordingModule, GrpcModule],
  providers: [DrainService, GatewayShutdown],
  exports: [DrainService, GatewayShutdown],
})
export class LifecycleModule {}
