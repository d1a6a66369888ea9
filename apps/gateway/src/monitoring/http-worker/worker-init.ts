import type { MessagePort } from 'node:worker_threads';

/** An extra Nest module for the worker's application (tests: a probe controller), named by file and export. */
export interface HttpModuleRef {
  file: string;
  export: string;
}

/** What the monitoring HTTP worker starts from. */
export interface WorkerInit {
  /** The validated configuration as plain data; the worker builds its sections from it as the main thread did. */
  config: Record<string, unknown>;
  file: string;
  baseDir: string;
  /** The log level in force when the worker starts (changes follow as `level` notes). */
  level: string;
  /** The blocking channel's worker end and the word its answers are signalled in. */
  blockingPort: MessagePort;
  signal: Int32Array;
  modules: HttpModuleRef[];
  /** The port to bind instead of monitoring.port: a restarted worker takes the one its predecessor had. */
  port?: number;
}
