import { failures, fitLine, floorTrend, outlived, rssTrend, unexpectedStatus, type Sample, type VerdictInput } from './verdict';

const MIN = 60_000;

/** RSS samples every 5 s for `minutes`: base MB + slope MB per 10 min + a GC sawtooth of `saw` MB. */
function samples(minutes: number, baseMB: number, mbPer10Min: number, saw = 0): Sample[] {
  const out: Sample[] = [];
  for (let t = 0; t <= minutes * MIN; t += 5000) {
    const mb = baseMB + (mbPer10Min * t) / (10 * MIN) + (saw * ((t / 5000) % 7)) / 6;
    out.push({ t, rssKB: Math.round(mb * 1024), fds: 30, handles: 10 });
  }
  return out;
}

describe('fitLine', () => {
  it('recovers slope and intercept of exact points', () => {
    const l = fitLine([0, 1, 2, 3], [1, 3, 5, 7])!;
    expect(l.slope).toBeCloseTo(2);
    expect(l.intercept).toBeCloseTo(1);
  });

  it('refuses too few points or no spread in x', () => {
    expect(fitLine([0, 1], [0, 1])).toBeNull();
    expect(fitLine([2, 2, 2], [0, 1, 2])).toBeNull();
  });
});

describe('rssTrend', () => {
  // A 15 MB sawtooth whose period does not divide the window tilts the line by up to ~0.6 MB per 10 min.
  it('passes a flat RSS under a GC sawtooth', () => {
    const r = rssTrend(samples(10, 250, 0, 15), 2 * MIN, 2);
    expect(r.ok).toBe(true);
    expect(Math.abs(r.mbPer10Min!)).toBeLessThan(1);
  });

  it('fails a slow leak hidden under the sawtooth', () => {
    const r = rssTrend(samples(10, 250, 3, 15), 2 * MIN, 2);
    expect(r.ok).toBe(false);
    expect(r.mbPer10Min!).toBeGreaterThan(2);
    expect(r.mbPer10Min!).toBeLessThan(4);
  });

  it('ignores growth during warm-up', () => {
    // +40 MB in the first two minutes (heap sizing), flat after.
    const s = samples(10, 250, 0).map((x) => (x.t < 2 * MIN ? { ...x, rssKB: x.rssKB - Math.round(((2 * MIN - x.t) / (2 * MIN)) * 40 * 1024) } : x));
    expect(rssTrend(s, 2 * MIN, 2).ok).toBe(true);
    expect(rssTrend(s, 0, 2).ok).toBe(false);
  });

  it('fails when there are too few samples after warm-up to fit', () => {
    const r = rssTrend(samples(1, 250, 0), 55_000, 2);
    expect(r.mbPer10Min).toBeNull();
    expect(r.ok).toBe(false);
  });
});

describe('floorTrend', () => {
  const rss = (s: Sample) => s.rssKB;
  // Swings of 150 MB whose timing drifts (as heap sizing does) tilt a line through every sample; the floors stay.
  const swinging = (mbPer10Min: number) =>
    samples(60, 400, mbPer10Min).map((x) => ({ ...x, rssKB: x.rssKB + Math.round(150 * 1024 * (x.t > 30 * MIN && (x.t / MIN) % 5 > 2 ? 1 : 0)) }));

  it('stays flat when only the swings move, where the all-samples line does not', () => {
    const s = swinging(0);
    expect(rssTrend(s, 2 * MIN, 2).ok).toBe(false);
    expect(Math.abs(floorTrend(s, 2 * MIN, 5 * MIN, rss)!)).toBeLessThan(0.1);
  });

  it('shows a leak that raises the floor', () => {
    expect(floorTrend(swinging(3), 2 * MIN, 5 * MIN, rss)!).toBeCloseTo(3, 0);
  });

  it('needs three windows after warm-up', () => {
    expect(floorTrend(samples(10, 250, 0), 2 * MIN, 5 * MIN, rss)).toBeNull();
    expect(floorTrend(samples(60, 250, 0), 2 * MIN, 5 * MIN, () => undefined)).toBeNull();
  });
});

describe('outlived', () => {
  const now = 1_000_000;
  it('flags idle conversations past timeout + sweep + slack, not busy or recent ones', () => {
    const items = [
      { id: 'recent', startedAt: now - 60_000, lastActivityAt: now - 5_000 },
      { id: 'edge', startedAt: now - 60_000, lastActivityAt: now - 7_500 },
      { id: 'stale', startedAt: now - 60_000, lastActivityAt: now - 7_600 },
      { id: 'busy', startedAt: now - 60_000, lastActivityAt: now - 30_000, currentRpc: { startedAt: now - 30_000 } },
    ];
    expect(outlived(items, now, 5, 1, 1500)).toEqual([{ id: 'stale', idleMs: 7_600, seenAt: now }]);
  });
});

describe('unexpectedStatus', () => {
  it('accepts OK always and CANCELLED only for turns the client cancelled', () => {
    expect(unexpectedStatus(0, false)).toBe(false);
    expect(unexpectedStatus(1, true)).toBe(false);
    expect(unexpectedStatus(1, false)).toBe(true);
    expect(unexpectedStatus(4, true)).toBe(true); // DEADLINE_EXCEEDED
    expect(unexpectedStatus(14, false)).toBe(true); // UNAVAILABLE
  });
});

describe('failures', () => {
  const good: VerdictInput = { rss: { mbPer10Min: 0.3, samples: 96, limitMbPer10Min: 2, ok: true }, outlived: [], leftAtEnd: 0, errors: 0, errorKinds: {} };

  it('is empty for a clean run', () => {
    expect(failures(good)).toEqual([]);
  });

  it('gives one reason per broken rule', () => {
    const f = failures({
      rss: { mbPer10Min: 5.2, samples: 96, limitMbPer10Min: 2, ok: false },
      outlived: [
        { id: 'a', idleMs: 9000, seenAt: 1 },
        { id: 'b', idleMs: 12_000, seenAt: 2 },
      ],
      leftAtEnd: 3,
      errors: 2,
      errorKinds: { 'speech: status UNAVAILABLE': 2 },
      gatewayProblem: 'the gateway process exited during the run',
    });
    expect(f).toEqual([
      'the gateway process exited during the run',
      'RSS trends upward after warm-up: 5.20 MB per 10 min > 2 MB',
      '2 conversation(s) outlived sessions.timeout + sweep interval (worst b idle 12.0 s)',
      '3 conversation(s) still active after the run, past sessions.timeout + sweep interval',
      '2 unexpected error(s): 2x speech: status UNAVAILABLE',
    ]);
  });
});
