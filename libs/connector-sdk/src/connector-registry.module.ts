import { DynamicModule, Module, Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConnectorRegistry } from './connector-registry.service';

/** The registry plus the modules whose @ConnectorProvider factories it may use (built-in ones and plugins). */
@Module({})
export class ConnectorRegistryModule {
  static forRoot(providers: Array<Type<unknown> | DynamicModule>): DynamicModule {
    return {
      module: ConnectorRegistryModule,
      global: true,
      imports: [DiscoveryModule, ...providers],
      providers: [ConnectorRegistry],
      exports: [ConnectorRegistry],
    };
  }
}
