// The soak tool itself, for a few seconds at low concurrency against a real gateway child (long soaks are run
// by hand: npm run soak). The RSS trend means nothing over seconds, so its limit is lifted here; verdict.spec.ts
// covers it with synthetic samples.
import { DEFAULTS, runSoak, type SoakOptions } from './soak';

const SHORT: SoakOptions = {
  ...DEFAULTS,
  minutes: 0.1,
  calls: 4,
  callSecondsMin: 1.5,
  callSecondsMax: 3,
  warmupMs: 1000,
  sampleMs: 500,
  pollMs: 300,
  rssLimitMbPer10Min: 1e6,
  sessionTimeoutS: 1,
  sweepS: 0.2,
  cancelRate: 0.3,
  abandonRate: 0.5,
  connections: 1,
};

describe('soak (short run)', () => {
  jest.setTimeout(90_000);

  it('passes a healthy gateway: cancels answered OK or CANCELLED, abandoned calls ended by the idle sweep', async () => {
    const r = await runSoak(SHORT);
    expect(r.failures).toEqual([]);
    expect(r.pass).toBe(true);
    expect(r.load.callsAbandoned).toBeGreaterThan(0);
    expect(r.load.callsHungUp).toBeGreaterThan(0);
    expect(r.load.cancelsSent).toBeGreaterThan(0);
    expect(r.load.turns.speech + r.load.turns.dtmf).toBeGreaterThan(0);
    expect(r.conversations.idleTimeoutEnds).toBeGreaterThanOrEqual(r.load.callsAbandoned);
    expect(r.conversations.leftAtEnd).toBe(0);
    expect(r.conversations.polls).toBeGreaterThan(5);
    expect(r.samples.length).toBeGreaterThan(5);
    expect(r.samples.every((s) => s.rssKB > 0 && s.fds > 0)).toBe(true);
    expect(r.samples.some((s) => s.handles !== null && s.handles > 0)).toBe(true);
    expect(r.samples.some((s) => (s.heapUsedKB ?? 0) > 0)).toBe(true);
  });

  it('fails when abandoned calls are never ended (idle sweep off)', async () => {
    const r = await runSoak({ ...SHORT, abandonRate: 1, gatewaySessions: { enable_auto_cleanup: false } });
    expect(r.pass).toBe(false);
    expect(r.conversations.outlived.length).toBeGreaterThan(0);
    expect(r.conversations.leftAtEnd).toBe(r.load.callsAbandoned);
    expect(r.failures.some((f) => f.includes('outlived sessions.timeout + sweep interval'))).toBe(true);
    expect(r.failures.some((f) => f.includes('still active after the run'))).toBe(true);
  });
});
