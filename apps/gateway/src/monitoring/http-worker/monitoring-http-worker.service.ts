import { extname, join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { instanceToPlain } from 'class-transformer';
import pino from 'pino';
import type { Subscription } from 'rxjs';
import { ConfigError, type LoadedConfig, LOGGER, type Logger, LogLevelControl } from '@app/config';
import type { EndReason } from '@app/connector-sdk';
import { ConversationEngine } from '@app/engine';
import { CallLogService } from '../call-log/call-log.service';
import { MetricsService } from '../metrics/metrics.service';
import { StatusService } from '../status/status.service';
import { type Handlers, PortRpc, serveBlocking } from './bridge';
import { startWithoutMemoryReducer } from './quiet-heap';
import type { HttpModuleRef, WorkerInit } from './worker-init';

/** How long the worker may take to load and bind (it compiles nothing in a build; under TypeScript sources it may). */
const START_MS = 60_000;
/** How long the worker may take to close its server and streams before it is terminated. */
const STOP_MS = 2000;
/** A worker that exits is started again after this, doubling per exit up to RESTART_MAX_MS (reset after a quiet minute). */
const RESTART_MS = 1000;
const RESTART_MAX_MS = 30_000;

/**
 * The main thread's side of the monitoring HTTP server: starts the worker thread that serves it, answers its
 * reads of the call log, status and metrics (the bridge's operations below, nothing else), forwards its log lines
 * to the gateway's logger, and stops it with the application. The bookkeeping (call log, metrics) stays here.
 */
@Injectable()
export class MonitoringHttpWorker implements OnApplicationShutdown {
  private worker?: Worker;
  private rpc?: PortRpc;
  private stopBlocking?: () => void;
  private watch?: Subscription;
  private exited?: Promise<void>;
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;
  private restarts = 0;
  private listenedAt = 0;
  private bound?: string;
  private readonly log: Logger;

  constructor(
    private readonly callLog: CallLogService,
    private readonly status: StatusService,
    private readonly metrics: MetricsService,
    private readonly engine: ConversationEngine,
    private readonly levels: LogLevelControl,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.log = logger.child({ context: 'MonitoringHttpWorker' });
    levels.onChange((level) => this.rpc?.note({ t: 'level', level }));
  }

  /** host:port the worker serves (a restarted worker binds the same). */
  get address(): string | undefined {
    return this.bound;
  }

  /** What the worker may ask: reads, ending a call, the log level, and switching the change feed. */
  private handlers(): Handlers {
    const { callLog, status, metrics } = this;
    return {
      'callLog.active': (o) => callLog.active(o),
      'callLog.history': (o) => callLog.history(o),
      'callLog.get': (id: string) => callLog.get(id),
      'callLog.counts': () => callLog.counts(),
      'callLog.lastHour': () => callLog.lastHour(),
      'callLog.connectionEvents': () => callLog.connectionEvents(),
      'status.alive': () => status.alive(),
      'status.ready': () => status.ready(),
      'status.status': () => status.status(),
      'status.agents': () => status.agents(),
      'status.config': () => status.config(),
      'metrics.text': () => metrics.text(),
      'engine.endById': (id: string, reason: EndReason) => this.engine.endById(id, reason),
      'log.get': () => ({ level: this.levels.level, configured: this.levels.configured }),
      'log.set': (level: string, by: string) => this.levels.set(level, by),
      'changes.watch': (on: boolean) => this.watchChanges(on),
    };
  }

  /**
   * Starts the worker with the gateway's configuration (it builds its sections from it as this thread did) and
   * resolves with the address it bound; rejects with the reason it could not.
   */
  async start(loaded: LoadedConfig, modules: HttpModuleRef[] = [], port?: number): Promise<string> {
    const ext = extname(__filename);
    const sync = new MessageChannel();
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const init: WorkerInit = {
      config: instanceToPlain(loaded.config),
      file: loaded.file,
      baseDir: loaded.baseDir,
      level: this.levels.level,
      blockingPort: sync.port2,
      signal,
      modules,
      port,
    };
    const worker = startWithoutMemoryReducer(
      () =>
        new Worker(join(__dirname, `monitoring-http.worker${ext}`), {
          workerData: init,
          transferList: [sync.port2],
          // The environment as the gateway sees it now (tokens named by monitoring.auth are read from it).
          env: { ...process.env },
          // Compiled: the process's node options (the bench's alias preload among them); under TypeScript sources
          // (jest) the thread needs the loader the scripts use.
          execArgv: ext === '.ts' ? ['-r', require.resolve('@swc-node/register')] : undefined,
          // Not piped raw into the process's stdout and stderr: the worker logs what it writes there (stdioToLog).
          stdout: true,
          stderr: true,
        }),
    );
    this.worker = worker;
    const handlers = this.handlers();
    this.stopBlocking = serveBlocking(sync.port1, signal, handlers);
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    let ready!: (address: string) => void;
    let failed!: (e: Error) => void;
    const started = new Promise<string>((res, rej) => ((ready = res), (failed = rej)));
    let listened = false;
    this.rpc = new PortRpc(worker, handlers, (m) => {
      if (m.t === 'log') this.relog(m.line as string);
      else if (m.t === 'listening') {
        listened = true;
        this.listenedAt = Date.now();
        ready((this.bound = m.address as string));
      }
      else if (m.t === 'failed') failed(m.problems ? new ConfigError(m.problems as string[], m.file as string) : new Error(m.message as string));
    });
    worker.on('error', (err) => {
      this.log.error({ err }, 'the monitoring HTTP worker failed');
      failed(err);
    });
    worker.once('exit', (code) => {
      failed(new Error(`the monitoring HTTP worker exited (${code}) before it listened`));
      if (this.worker !== worker) return;
      // Not asked to stop: a bug or a crash of the thread. The calls go on; the server is started again.
      const unexpected = listened && this.rpc !== undefined && !this.stopping;
      this.rpc?.close();
      this.rpc = undefined;
      this.cleanUp();
      if (!unexpected) return;
      if (Date.now() - this.listenedAt > 60_000) this.restarts = 0; // it had run a while: not a crash loop
      this.restartLater(loaded, modules, Number(this.bound!.split(':').at(-1)), code);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`the monitoring HTTP worker did not listen within ${START_MS / 1000} s`)), START_MS)));
    try {
      return await Promise.race([started, timeout]);
    } catch (e) {
      await this.halt();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private restartLater(loaded: LoadedConfig, modules: HttpModuleRef[], port: number, code?: number): void {
    const delay = Math.min(RESTART_MAX_MS, RESTART_MS * 2 ** this.restarts++);
    this.log.error({ code, restartInMs: delay }, 'the monitoring HTTP worker exited: starting it again (calls are not affected)');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.start(loaded, modules, port).then(
        (address) => this.log.warn({ address }, 'monitoring HTTP worker started again'),
        (err: unknown) => {
          this.log.error({ err }, 'could not start the monitoring HTTP worker again');
          if (!this.stopping) this.restartLater(loaded, modules, port);
        },
      );
    }, delay);
    this.restartTimer.unref();
  }

  /** For tests and diagnostics: an operation of the worker's (`routes`, `signSession`). */
  call<T>(op: string, ...args: unknown[]): Promise<T> {
    if (!this.rpc) return Promise.reject(new Error('the monitoring HTTP worker is not running'));
    return this.rpc.call<T>(op, ...args);
  }

  /** Stops for good: closes the worker's server (its streams end), bounded; then the thread is terminated if still there. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.halt();
  }

  private async halt(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    const rpc = this.rpc;
    this.rpc = undefined; // an exit from here on is expected
    await Promise.race([rpc?.call('close').catch(() => undefined), new Promise((r) => setTimeout(r, STOP_MS).unref())]);
    const exited = await Promise.race([this.exited!.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200).unref())]);
    if (!exited) await w.terminate();
    rpc?.close();
    this.cleanUp();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private cleanUp(): void {
    this.watchChanges(false);
    this.stopBlocking?.();
    this.stopBlocking = undefined;
    this.worker = undefined;
  }

  /** The worker's line, logged by the gateway's logger (which applies the level and the outputs). */
  private relog(line: string): void {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const { level, msg, time: _t, pid: _p, hostname: _h, service: _s, ...rest } = o;
    const name = pino.levels.labels[level as number] as pino.Level | undefined;
    if (name) this.logger[name](rest, typeof msg === 'string' ? msg : '');
  }

  /** The dashboard's feed of call-log changes: summed up here (one message a quarter second at most), off when nobody watches. */
  private watchChanges(on: boolean): void {
    if (!on) {
      this.watch?.unsubscribe();
      this.watch = undefined;
      return;
    }
    this.watch ??= this.callLog.changeSummaries().subscribe((summary) => this.rpc?.note({ t: 'changes', summary }));
  }
}
