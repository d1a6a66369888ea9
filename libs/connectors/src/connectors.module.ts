import { DynamicModule, Module, Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConnectorRegistry } from './connector-registry.service';
import { LocalAudioConnectorFactory } from './local-audio/local-audio.factory';

/** Built-in connector providers plus any plugin modules named in the config. */
@Module({})
export class ConnectorsModule {
  static forRoot(plugins: Array<Type<unknown> | DynamicModule> = []): DynamicModule {
    return {
      module: ConnectorsModule,
      global: true,
      imports: [DiscoveryModule, ...plugins],
      providers: [LocalAudioConnectorFactory, ConnectorRegistry],
      exports: [ConnectorRegistry],
    };
  }
}
