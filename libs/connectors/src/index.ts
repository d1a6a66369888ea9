export * from './connectors.module';
export * from './local-audio/local-audio.connector';
export * from './local-audio/local-audio.factory';
