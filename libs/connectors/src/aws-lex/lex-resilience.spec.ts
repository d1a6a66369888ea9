import { AttemptTimeoutError, backoffMs, CircuitBreaker, CircuitOpenError, isRetryable, type RetryClock, withRetries } from './lex-resilience';

/** A clock whose sleeps pass at once, recorded. */
function fakeClock(random = 0.5): RetryClock & { t: number; sleeps: number[] } {
  const c = {
    t: 0,
    sleeps: [] as number[],
    now: () => c.t,
    random: () => random,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
    },
  };
  return c;
}

const err = (name: string, status?: number, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, $metadata: status ? { httpStatusCode: status } : {}, ...extra });

describe('isRetryable', () => {
  it.each([
    ['throttling', err('ThrottlingException', 429), true],
    ['500', err('InternalServerException', 500), true],
    ['502', err('BadGatewayException', 502), true],
    ['network reset', Object.assign(new Error('x'), { code: 'ECONNRESET' }), true],
    ['a wrapped HTTP/2 stream error', new Error('AWS SDK error wrapper for Error [ERR_HTTP2_STREAM_ERROR]: Stream closed'), true],
    ['our attempt timeout', new AttemptTimeoutError('slow'), true],
    ['400', err('ValidationException', 400), false],
    ['403', err('AccessDeniedException', 403), false],
    ['404', err('ResourceNotFoundException', 404), false],
    ['424 dependency', err('DependencyFailedException', 424), false],
    ['an abort', err('AbortError'), false],
    ['a plain bug', new TypeError('x'), false],
  ])('%s → %s', (_n, e, want) => expect(isRetryable(e)).toBe(want));
});

describe('backoffMs', () => {
  it('grows exponentially with jitter, capped', () => {
    expect([0, 1, 2, 3].map((r) => backoffMs(r, () => 0))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((r) => backoffMs(r, () => 1))).toEqual([100, 200, 400, 800]);
    expect(backoffMs(10, () => 1)).toBe(2000);
  });
});

describe('withRetries', () => {
  const signal = new AbortController().signal;

  it('retries retryable failures with backoff, then succeeds', async () => {
    const clock = fakeClock();
    let n = 0;
    const r = await withRetries(async () => (++n < 3 ? Promise.reject(err('ThrottlingException', 429)) : 'ok'), { maxRetries: 2, attemptTimeoutMs: 1000, budgetMs: 8000, signal, clock });
    expect([r, n, clock.sleeps]).toEqual(['ok', 3, [75, 150]]);
  });

  it('gives up after max_retries with the last error', async () => {
    const clock = fakeClock();
    let n = 0;
    await expect(withRetries(async () => { n++; throw err('InternalServerException', 500); }, { maxRetries: 2, attemptTimeoutMs: 1000, budgetMs: 8000, signal, clock })).rejects.toThrow('InternalServerException');
    expect(n).toBe(3);
  });

  it('never retries a 4xx', async () => {
    let n = 0;
    await expect(withRetries(async () => { n++; throw err('ValidationException', 400); }, { maxRetries: 5, attemptTimeoutMs: 1000, budgetMs: 8000, signal, clock: fakeClock() })).rejects.toThrow('ValidationException');
    expect(n).toBe(1);
  });

  it('stops retrying when the next backoff would pass the budget', async () => {
    const clock = fakeClock(1);
    let n = 0;
    const attempt = async () => {
      n++;
      clock.t += 100; // each attempt takes 100 ms
      throw err('ThrottlingException', 429);
    };
    await expect(withRetries(attempt, { maxRetries: 10, attemptTimeoutMs: 1000, budgetMs: 500, signal, clock })).rejects.toThrow('Throttling');
    // 100 + 100 (sleep) + 100 + 200 (sleep) = 500: the third attempt would start at the budget's end
    expect(n).toBe(2);
    expect(clock.sleeps).toEqual([100]);
  });

  it('times out a hung attempt, aborting it, and retries', async () => {
    const aborted: unknown[] = [];
    let n = 0;
    const attempt = (s: AbortSignal) =>
      new Promise<string>((resolve, reject) => {
        if (++n === 2) return resolve('second');
        s.addEventListener('abort', () => {
          aborted.push(s.reason);
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        });
      });
    const r = await withRetries(attempt, { maxRetries: 1, attemptTimeoutMs: 20, budgetMs: 8000, signal, clock: { ...fakeClock(), now: Date.now } });
    expect(r).toBe('second');
    expect(aborted[0]).toBeInstanceOf(AttemptTimeoutError);
  });

  it('the caller signal aborts the attempt in flight and stops retrying', async () => {
    const ac = new AbortController();
    let seen: AbortSignal | undefined;
    const p = withRetries(
      (s) =>
        new Promise((_r, reject) => {
          seen = s;
          s.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
        }),
      { maxRetries: 3, attemptTimeoutMs: 5000, budgetMs: 8000, signal: ac.signal, clock: fakeClock() },
    );
    ac.abort(new Error('rpc cancelled'));
    await expect(p).rejects.toThrow('rpc cancelled');
    expect(seen!.aborted).toBe(true);
  });
});

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, fails fast, lets one trial through later', () => {
    let t = 0;
    const b = new CircuitBreaker(3, 1000, () => t);
    for (let i = 0; i < 2; i++) { b.enter(); b.failure(); }
    b.enter();
    b.success(); // a success resets the count
    for (let i = 0; i < 3; i++) { b.enter(); b.failure(); }
    expect(b.state).toBe('open');
    expect(() => b.enter()).toThrow(CircuitOpenError);
    t = 1000;
    expect(b.state).toBe('half_open');
    b.enter(); // the trial
    expect(() => b.enter()).toThrow(CircuitOpenError); // only one at a time
    b.failure();
    expect(b.state).toBe('open');
    t = 2000;
    b.enter();
    b.success();
    expect(b.state).toBe('closed');
    b.enter();
  });

  it('a released trial lets the next request try', () => {
    let t = 0;
    const b = new CircuitBreaker(1, 10, () => t);
    b.enter(); b.failure();
    t = 10;
    b.enter();
    b.release();
    expect(() => b.enter()).not.toThrow();
  });
});
