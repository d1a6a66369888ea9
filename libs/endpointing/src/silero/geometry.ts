/** Silero VAD v5 framing: a window of new samples scored with the tail of the previous one before it. */
export interface SileroGeometry {
  window: number;
  context: number;
}

export const SILERO_GEOMETRY: Readonly<Record<number, SileroGeometry>> = {
  8000: { window: 256, context: 32 },
  16000: { window: 512, context: 64 },
};

/** Widest model input (context + window) over the supported rates. */
export const MAX_INPUT_WIDTH = Math.max(...Object.values(SILERO_GEOMETRY).map((g) => g.context + g.window));

/** Recurrent state of one stream: [2, 128] (the model takes [2, N, 128] for a batch). */
export const STATE_SIZE = 256;
