export * from './conversation-state';
export * from './in-memory-conversation-state-store';
export * from './state-json';
