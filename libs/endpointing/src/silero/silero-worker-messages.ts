// What the Silero worker thread (silero-worker.ts) and SileroModel exchange. Types only: the worker imports
// nothing but node built-ins, onnxruntime-node and relative modules.

/** One rate's batched graph to check against the published model. */
export interface BatchedGraph {
  rate: number;
  /** Model input width at that rate: context + window. */
  width: number;
  model: Uint8Array;
}

export interface SileroWorkerData {
  /** The published model file. */
  path: string;
  /** Where onnxruntime-node resolves from the main thread. */
  ort: string;
  batched: BatchedGraph[];
  /** Why no batched graph could be built: the published model serves every rate. */
  batchedError?: string;
}

/** The worker's first message. */
export type WorkerReady =
  | {
      ready: true;
      inputs: string[];
      outputs: string[];
      /** Whether the batched graphs serve; otherwise `note` says why not. */
      batched: boolean;
      note?: string;
    }
  | { ready: false; error: string };

/** A batch's buffers: they travel to the worker and back transferred. */
export interface BufferSet {
  /** [n, width] 16-bit sample values. */
  input: ArrayBuffer;
  /** [2, n, 128] state in. */
  states: ArrayBuffer;
  /** [n] speech probabilities out. */
  probs: ArrayBuffer;
  /** [2, n, 128] state out. */
  next: ArrayBuffer;
}

export interface RunRequest extends BufferSet {
  id: number;
  rate: number;
  n: number;
  width: number;
}

/** The request's buffers come back even when the run failed. */
export interface RunReply extends BufferSet {
  id: number;
  error?: string;
}
