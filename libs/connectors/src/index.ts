export * from './connector.types';
export * from './connector-provider.decorator';
export * from './connector-registry.service';
export * from './connectors.module';
export * from './plugin-loader';
export * from './local-audio/local-audio.connector';
export * from './local-audio/local-audio.factory';
