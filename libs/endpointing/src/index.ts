export * from './speech-endpointer';
export * from './energy-endpointer';
export * from './silero';
export * from './endpointing.module';
