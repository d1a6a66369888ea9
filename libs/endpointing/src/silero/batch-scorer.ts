import { type BatchBuffers, type BatchResult, copyStateIn, copyStateOut, SILERO_GEOMETRY, STATE_SIZE } from './silero-model';

/** A stream with one window waiting to be scored. */
export interface ScoreClient {
  readonly sampleRate: number;
  /** [context + window] 16-bit sample values. Must stay unchanged until scored() is called. */
  readonly input: Float32Array;
  /** [2, 128]; replaced in place by the model's next state before scored() is called. */
  readonly state: Float32Array;
  /** A closed client is skipped: its input is no longer read, scored() not called. */
  readonly closed: boolean;
  /** The window's speech probability, or NaN when inference failed. */
  scored(prob: number): void;
}

/** Scores windows, later; one window per client at a time (the model is recurrent). */
export interface WindowScorer {
  /** `behind`: more windows of this client wait after this one (audio came faster than real time): no batch wait. */
  submit(client: ScoreClient, behind?: boolean): void;
  /** Why inference is failing right now, if it is. */
  readonly failure?: string;
  /** Shutdown: no more inference; resolves once none is in flight. */
  stop?(): Promise<void>;
  /** Inference runs and windows scored so far. */
  readonly stats?: { readonly runs: number; readonly windows: number; readonly maxBatch: number; readonly failures: number };
}

export interface ScoringModel {
  /** Reusable arrays for a batch (else the scorer allocates them). */
  acquire?(n: number, width: number): BatchBuffers;
  run(rate: number, input: Float32Array, states: Float32Array, n: number): Promise<BatchResult>;
}

export interface ScorerHooks {
  /** A listener threw; the other streams of the batch still got their results. */
  listenerError?(err: unknown): void;
  /** Inference started failing (reason) or works again (undefined). */
  failureChanged?(failure: string | undefined): void;
}

export interface BatchScorerOptions {
  /** Windows per inference run at most. */
  maxBatch?: number;
  /**
   * How long the first waiting window may wait for others before a run starts. Calls' frames arrive spread
   * over time, so without a wait most runs would score a handful of windows, at several times the CPU per window.
   */
  waitMs?: number;
}

/** Bounds one run's time in the worker (and so every waiting window's delay): about 1-2 ms. */
const MAX_BATCH = 128;

/**
 * Collects the windows submitted by all endpointers while an inference runs (or within one event-loop
 * turn when idle) and scores them in one batched session run per rate. One run in flight at a time.
 */
export class BatchScorer implements WindowScorer {
  private readonly pending = new Map<number, ScoreClient[]>();
  private running = false;
  private scheduled = false;
  private timer?: NodeJS.Timeout;
  /** When the oldest waiting window arrived (performance.now()); 0 when none waits. */
  private waitingSince = 0;
  /** After stop(): windows are answered NaN (judged by energy), no run starts. */
  private stopped = false;
  private waiting = 0;
  private readonly maxBatch: number;
  private readonly waitMs: number;
  private lastRate = 0;
  private idleWaiters: Array<() => void> = [];
  failure?: string;
  /** For tests and measurements. */
  readonly stats = { runs: 0, windows: 0, maxBatch: 0, failures: 0 };

  constructor(
    private readonly model: ScoringModel,
    private readonly hooks: ScorerHooks = {},
    opts: BatchScorerOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? MAX_BATCH;
    this.waitMs = opts.waitMs ?? 0;
    for (const rate of Object.keys(SILERO_GEOMETRY)) this.pending.set(Number(rate), []);
  }

  submit(client: ScoreClient, behind = false): void {
    const q = this.pending.get(client.sampleRate);
    if (!q) throw new Error(`no Silero geometry for ${client.sampleRate} Hz`);
    q.push(client);
    if (this.waiting++ === 0 || behind) this.waitingSince = behind ? -Infinity : performance.now();
    this.schedule();
  }

  /**
   * No more inference: windows waiting now and submitted later get NaN (their endpointers judge them by
   * energy). Resolves once the run in flight, if any, is over.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.schedule();
    return this.idle();
  }

  /** Resolves once nothing is waiting or being scored (measurements, tests). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return !this.running && !this.scheduled && [...this.pending.values()].every((q) => q.length === 0);
  }

  private schedule(): void {
    if (this.running) return;
    const delay = this.waiting >= this.maxBatch || this.waiting === 0 ? 0 : this.waitingSince + this.waitMs - performance.now();
    if (this.scheduled && !(delay < 1 && this.timer)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.scheduled = true;
    if (delay < 1) {
      // After the current I/O phase at least: frames of other calls arriving in this turn join the batch.
      setImmediate(this.fire);
    } else {
      this.timer = setTimeout(this.fire, delay);
      this.timer.unref(); // waiting windows belong to live calls, which keep the process up
    }
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.running) return;
    const rate = this.pickRate();
    if (rate === 0) return this.notifyIdle();
    const q = this.pending.get(rate)!;
    const taken = q.splice(0, this.maxBatch);
    this.waiting -= taken.length;
    // Windows left behind (a full batch, or the other rate) have waited long enough: they go next.
    if (this.waiting > 0) this.waitingSince = performance.now() - this.waitMs;
    const batch = taken.filter((c) => !c.closed);
    if (batch.length === 0) return this.schedule();
    if (this.stopped) {
      for (const c of batch) this.deliver(c, NaN);
      return this.schedule();
    }
    this.running = true;
    this.lastRate = rate;
    const n = batch.length;
    const g = SILERO_GEOMETRY[rate];
    const width = g.context + g.window;
    const { input, states } = this.model.acquire?.(n, width) ?? { input: new Float32Array(n * width), states: new Float32Array(n * STATE_SIZE) };
    for (let i = 0; i < n; i++) {
      input.set(batch[i].input, i * width);
      copyStateIn(batch[i].state, states, n, i);
    }
    let run: Promise<BatchResult>;
    try {
      run = this.model.run(rate, input, states, n);
    } catch (e) {
      run = Promise.reject(e);
    }
    run.then(
      (r) => {
        this.setFailure(undefined);
        this.stats.runs++;
        this.stats.windows += n;
        if (n > this.stats.maxBatch) this.stats.maxBatch = n;
        this.running = false;
        for (let i = 0; i < n; i++) {
          const c = batch[i];
          if (c.closed) continue;
          copyStateOut(r.states, n, i, c.state);
          this.deliver(c, r.probs[i]);
        }
        r.release?.();
        this.schedule();
      },
      (e: unknown) => {
        this.setFailure(e instanceof Error ? e.message : String(e));
        this.stats.failures++;
        this.running = false;
        // The endpointers judge these windows by energy; their state is left as it was.
        for (const c of batch) if (!c.closed) this.deliver(c, NaN);
        this.schedule();
      },
    );
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private setFailure(failure: string | undefined): void {
    if (failure === this.failure) return;
    this.failure = failure;
    this.hooks.failureChanged?.(failure);
  }

  private deliver(c: ScoreClient, prob: number): void {
    try {
      c.scored(prob);
    } catch (e) {
      this.hooks.listenerError?.(e);
    }
  }

  /** The rate with waiting windows, alternating when both have some. */
  private pickRate(): number {
    let pick = 0;
    for (const [rate, q] of this.pending) {
      if (q.length === 0) continue;
      if (pick === 0 || pick === this.lastRate) pick = rate;
    }
    return pick;
  }
}
