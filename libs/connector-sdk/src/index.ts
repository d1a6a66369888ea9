export * from './agent-session';
export * from './connector.types';
export * from './connector-provider.decorator';
export * from './connector-registry.service';
export * from './plugin-loader';
export * from './connector-registry.module';
