export * from './call-recorder.service';
export * from './call-recording';
export * from './file-name';
export * from './retention';
export * from './wav-part-writer';
export * from './recording.module';
