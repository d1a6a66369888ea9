export { SileroEndpointer, SileroEndpointerFactory, GATED_WINDOWS_SCORED, type SileroEndpointerOptions } from './silero-endpointer';
export { createSpeechEndpointerFactory } from './select-endpointer';
export { SILERO_GEOMETRY } from './silero-model';
