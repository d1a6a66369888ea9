/** Clock and randomness, injectable so the policy is testable without waiting. */
export interface RetryClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  random(): number;
}

export const realClock: RetryClock = {
  now: () => Date.now(),
  random: Math.random,
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};

export class AttemptTimeoutError extends Error {
  override name = 'AttemptTimeoutError';
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_HTTP2_STREAM_ERROR', 'ERR_HTTP2_SESSION_ERROR', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_STREAM_CANCEL']);

/** Throttling, 5xx, network trouble and our own attempt timeout are worth another try; a 4xx never is. */
export function isRetryable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.name === 'AttemptTimeoutError') return true;
  if (e.name === 'ThrottlingException' || e.name === 'TooManyRequestsException') return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status === 429 || status >= 500;
  if (e.name === 'AbortError') return false;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  // An error from another realm reaches us wrapped, its code only in the message.
  const msg = (err as Error).message ?? '';
  if ([...NETWORK_CODES].some((c) => msg.includes(c))) return true;
  return e.name === 'TimeoutError' || e.$retryable !== undefined;
}

/** Exponential backoff with equal jitter: half the step fixed, half random. */
export function backoffMs(retry: number, random: () => number, baseMs = 100, capMs = 2000): number {
  const step = Math.min(capMs, baseMs * 2 ** retry);
  return Math.round(step / 2 + (random() * step) / 2);
}

export interface RetryOptions {
  maxRetries: number;
  attemptTimeoutMs: number;
  /** No attempt starts, and no attempt runs, past this many ms after the first one started. */
  budgetMs: number;
  signal: AbortSignal;
  clock?: RetryClock;
  onRetry?: (err: unknown, retry: number, delayMs: number) => void;
}

/**
 * Runs `attempt` with a per-attempt timeout, retrying retryable failures with backoff inside the budget.
 * The caller's signal aborts the attempt in flight and stops retrying.
 */
export async function withRetries<T>(attempt: (signal: AbortSignal) => Promise<T>, o: RetryOptions): Promise<T> {
  const clock = o.clock ?? realClock;
  const deadline = clock.now() + o.budgetMs;
  for (let retry = 0; ; retry++) {
    if (o.signal.aborted) throw o.signal.reason;
    const remaining = deadline - clock.now();
    const ac = new AbortController();
    const onAbort = () => ac.abort(o.signal.reason);
    o.signal.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = Math.max(1, Math.min(o.attemptTimeoutMs, remaining));
    const timer = setTimeout(() => ac.abort(new AttemptTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      return await attempt(ac.signal);
    } catch (err) {
      // The SDK reports an abort as its own AbortError: report why it was aborted.
      const cause = ac.signal.aborted ? ac.signal.reason : err;
      if (o.signal.aborted) throw o.signal.reason;
      if (retry >= o.maxRetries || !isRetryable(cause)) throw cause;
      const delay = backoffMs(retry, clock.random);
      if (clock.now() + delay >= deadline) throw cause;
      o.onRetry?.(cause, retry + 1, delay);
      await clock.sleep(delay, o.signal);
    } finally {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
    }
  }
}

export class CircuitOpenError extends Error {
  override name = 'CircuitOpenError';
}

/**
 * Per-bot breaker: after `threshold` consecutive failures, requests fail fast for `openMs`; then one trial
 * request is let through, and its result closes or reopens the circuit.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private trialInFlight = false;

  constructor(
    private readonly threshold: number,
    private readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): 'closed' | 'open' | 'half_open' {
    if (this.failures < this.threshold) return 'closed';
    return this.now() < this.openUntil ? 'open' : 'half_open';
  }

  /** Throws CircuitOpenError when the request must not be made. */
  enter(): void {
    const s = this.state;
    if (s === 'open' || (s === 'half_open' && this.trialInFlight)) throw new CircuitOpenError('Lex bot circuit open after repeated failures');
    if (s === 'half_open') this.trialInFlight = true;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.failures >= this.threshold) this.openUntil = this.now() + this.openMs;
  }

  /** A request that ended without telling anything about the bot (the caller went away). */
  release(): void {
    this.trialInFlight = false;
  }
}
