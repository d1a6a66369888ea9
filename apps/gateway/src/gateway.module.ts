import { DynamicModule, Module, Type } from '@nestjs/common';
import { GatewayConfigModule, type LoadedConfig, type Logger } from '@app/config';
import { ConnectorsModule } from '@app/connectors';
import { EngineModule } from '@app/engine';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { DrainService } from './lifecycle/drain.service';
import { VoiceAgentController } from './voice-agent/voice-agent.controller';

@Module({})
export class GatewayModule {
  static forRoot(loaded: LoadedConfig, logger: Logger, plugins: Array<Type<unknown> | DynamicModule> = []): DynamicModule {
    return {
      module: GatewayModule,
      imports: [GatewayConfigModule.forRoot(loaded, logger), ConnectorsModule.forRoot(plugins), EngineModule],
      controllers: [VoiceAgentController, HealthController],
      providers: [DrainService, HealthService],
      exports: [DrainService],
    };
  }
}
