export { SileroEndpointer, SileroEndpointerFactory, GATED_WINDOWS_SCORED, type SileroEndpointerOptions } from './silero-endpointer';
export { createSpeechEndpointerFactory } from './select-endpointer';
export { measureVadCost, type MeasureVadCostOptions, type VadCost } from './measure-cost';
export { SILERO_GEOMETRY } from './silero-model';
