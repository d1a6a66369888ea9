import { setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';

/** Whether the process was started with V8's memory reducer off (then it stays off everywhere). */
function reducerOffForProcess(): boolean {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return args.some((a) => a === '--no-memory-reducer' || a === '--no_memory_reducer');
}

/**
 * Creates a worker whose isolate runs without V8's memory reducer; every other isolate keeps it.
 *
 * Why: the monitoring thread's heap is almost all loaded modules (their source and bytecode, about 28 MB) that
 * stay live. When the thread goes quiet after start, the reducer runs three full collections of all of it; the
 * second and third freed about 1 MB between them, and the three took about 70 ms of the thread (more on the GC
 * helpers) while the calls run. Ordinary collections still run as the thread allocates.
 *
 * How: V8 reads the flag when an isolate sets up its heap, which a new worker does on its own thread before it
 * is online; the flag is off for that moment only and restored once the thread is online (or has failed).
 */
export function startWithoutMemoryReducer(create: () => Worker): Worker {
  if (reducerOffForProcess()) return create();
  setFlagsFromString('--no-memory-reducer');
  let worker: Worker;
  try {
    worker = create();
  } catch (e) {
    setFlagsFromString('--memory-reducer');
    throw e;
  }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    setFlagsFromString('--memory-reducer');
  };
  worker.once('online', restore);
  worker.once('error', restore);
  worker.once('exit', restore);
  return worker;
}
