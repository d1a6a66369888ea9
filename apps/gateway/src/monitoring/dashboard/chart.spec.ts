import type { MinuteStats } from '../call-log/call-log.types';
import { callsChart, latencyChart, niceMax } from './chart';

const hour = (f: (i: number) => Partial<MinuteStats>): MinuteStats[] =>
  Array.from({ length: 60 }, (_, i) => ({ minute: i * 60_000, started: 0, ended: 0, replies: 0, ...f(i) }));

describe('overview charts (geometry for inline SVG)', () => {
  it('rounds the axis up to 1, 2 or 5 × 10^n', () => {
    expect([0, 1, 3, 7, 10, 11, 180, 2500].map(niceMax)).toEqual([1, 1, 5, 10, 10, 20, 200, 5000]);
  });

  it('one bar per minute with calls, scaled to the axis, with a tooltip and a summary', () => {
    const c = callsChart(hour((i) => (i === 59 ? { started: 10, ended: 4 } : i === 30 ? { started: 5 } : {})));
    expect(c.max).toBe('10');
    expect(c.bars).toHaveLength(2);
    const [half, full] = c.bars;
    expect(full.h).toBeCloseTo(c.bottom - c.top, 0);
    expect(half.h).toBeCloseTo((c.bottom - c.top) / 2, 0);
    expect(full.x).toBeGreaterThan(half.x);
    expect(full.x + full.w).toBeLessThanOrEqual(c.right);
    expect(full.label).toBe('00:59 UTC: 10 started, 4 ended');
    expect(c.summary).toBe('15 calls started in the last 60 minutes, at most 10 in one minute.');
  });

  it('latency lines break where a minute has no replies; a lone minute is a dot', () => {
    const c = latencyChart(hour((i) => (i < 3 || i === 10 ? { replies: 4, firstReplyP50Ms: 200, firstReplyP95Ms: 900 } : {})));
    expect(c.max).toBe('1000 ms');
    expect(c.lines.map((l) => [l.series, l.points.split(' ').length])).toEqual([
      ['p50', 3],
      ['p95', 3],
    ]);
    expect(c.dots.filter((d) => d.series === 'p95')).toHaveLength(4);
    expect(c.summary).toContain('latest p50 200 ms, p95 900 ms');
    expect(latencyChart(hour(() => ({}))).summary).toBe('No replies measured in the last 60 minutes.');
  });
});
