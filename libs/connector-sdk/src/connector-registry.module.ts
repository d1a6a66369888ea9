import { DynamicModule, Module, Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CONNECTOR_LOAD_PROBLEMS, ConnectorRegistry } from './connector-registry.service';

/** The registry plus the modules whose @ConnectorProvider factories it may use (built-in ones and plugins). */
@Module({})
export class ConnectorRegistryModule {
  /** `loadProblems`: plugins that failed to load, by connector id (reported with the other connector mistakes). */
  static forRoot(providers: Array<Type<unknown> | DynamicModule>, loadProblems = new Map<string, string[]>()): DynamicModule {
    return {
      module: ConnectorRegistryModule,
      global: true,
      imports: [DiscoveryModule, ...providers],
      providers: [ConnectorRegistry, { provide: CONNECTOR_LOAD_PROBLEMS, useValue: loadProblems }],
      exports: [ConnectorRegistry],
    };
  }
}
