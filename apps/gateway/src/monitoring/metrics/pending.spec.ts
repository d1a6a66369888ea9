import { Counter, Histogram, Registry } from 'prom-client';
import { PendingCounts, PendingObservations } from './pending';

describe('pending metric updates', () => {
  it('counts per series in plain maps and hands them to prom-client when it collects', async () => {
    const registry = new Registry();
    const counts: PendingCounts<'code'> = new PendingCounts(
      new Counter({ name: 't_total', help: 'h', labelNames: ['code'], registers: [registry], collect: () => counts.flush() }),
    );
    let made = 0;
    const labels = (code: string) => () => (made++, { code });
    for (let i = 0; i < 3; i++) counts.inc('OK', labels('OK'));
    counts.inc('INTERNAL', labels('INTERNAL'));
    expect(made).toBe(2); // label objects only for new series
    const text = await registry.metrics();
    expect(text).toContain('t_total{code="OK"} 3');
    expect(text).toContain('t_total{code="INTERNAL"} 1');
    counts.inc('OK', labels('OK'));
    expect(await registry.metrics()).toContain('t_total{code="OK"} 4'); // flushed once, not twice
  });

  it('keeps at most 1024 observations per series waiting, whether or not anyone scrapes', async () => {
    const registry = new Registry();
    const histogram = new Histogram({ name: 't_seconds', help: 'h', buckets: [1], registers: [registry] });
    const pending = new PendingObservations<never>(histogram);
    for (let i = 0; i < 1030; i++) pending.observe('', () => ({}), 0.5);
    // No collect hook on this histogram: what it shows is what was handed over without a scrape.
    expect(await registry.metrics()).toContain('t_seconds_count 1024');
    pending.flush();
    expect(await registry.metrics()).toContain('t_seconds_count 1030');
  });
});
