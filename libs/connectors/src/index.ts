export * from './connectors.module';
export * from './local-audio/local-audio.connector';
export * from './local-audio/local-audio.factory';
export * from './aws-lex/lex.connector';
export * from './aws-lex/lex.factory';
