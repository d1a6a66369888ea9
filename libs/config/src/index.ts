export * from './gateway-config';
export * from './monitoring-auth-config';
export * from './data-source-config';
export * from './load-config';
export * from './logger';
export * from './config.module';
export * from './validate-section';
