import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import type { Logger } from 'pino';
import { GatewayConfig } from './gateway-config';
import type { LoadedConfig } from './load-config';

export const LOADED_CONFIG = Symbol.for('byova.loaded-config');
export const LOGGER = Symbol.for('byova.logger');

/** Makes the validated configuration and the root logger injectable everywhere. */
@Global()
@Module({})
export class GatewayConfigModule {
  static forRoot(loaded: LoadedConfig, logger: Logger): DynamicModule {
    return {
      module: GatewayConfigModule,
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ ...loaded.config })] })],
      providers: [
        { provide: LOADED_CONFIG, useValue: loaded },
        { provide: GatewayConfig, useValue: loaded.config },
        { provide: LOGGER, useValue: logger },
      ],
      exports: [LOADED_CONFIG, GatewayConfig, LOGGER, ConfigModule],
    };
  }
}
