export * from './conversation-state';
export * from './in-memory-conversation-state-store';
export * from './state-json';
// conversation-state-store.contract (jest tests) is imported by path from specs, never from here.
export * from './state-store.module';
