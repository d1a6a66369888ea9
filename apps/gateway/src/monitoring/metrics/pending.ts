import type { Counter, Histogram, LabelValues } from 'prom-client';

/** Observations kept per series before they are handed over, whether or not anyone scrapes. */
const MAX_PENDING = 1024;

/**
 * Counts kept in a plain map per event and added to a prom-client counter when it is collected (a scrape):
 * prom-client hashes and validates labels on every call, which costs more than the event itself. `key` must
 * identify the label values; the series are as bounded as the labels.
 */
export class PendingCounts<T extends string> {
  private readonly series = new Map<string, { labels: LabelValues<T>; n: number }>();

  constructor(private readonly counter: Counter<T>) {}

  /** `labels` is called only for a series seen for the first time. */
  inc(key: string, labels: () => LabelValues<T>): void {
    const s = this.series.get(key);
    if (s !== undefined) s.n++;
    else this.series.set(key, { labels: labels(), n: 1 });
  }

  /** Called from the counter's collect(). */
  flush(): void {
    for (const s of this.series.values()) {
      if (s.n === 0) continue;
      this.counter.inc(s.labels, s.n);
      s.n = 0;
    }
  }
}

/** Histogram observations kept per series and handed to prom-client at collect time (or once MAX_PENDING wait). */
export class PendingObservations<T extends string> {
  private readonly series = new Map<string, { labels: LabelValues<T>; values: number[] }>();

  constructor(private readonly histogram: Histogram<T>) {}

  observe(key: string, labels: () => LabelValues<T>, value: number): void {
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { labels: labels(), values: [] }));
    s.values.push(value);
    if (s.values.length >= MAX_PENDING) this.flushSeries(s);
  }

  /** Called from the histogram's collect(). */
  flush(): void {
    for (const s of this.series.values()) this.flushSeries(s);
  }

  private flushSeries(s: { labels: LabelValues<T>; values: number[] }): void {
    for (const v of s.values) this.histogram.observe(s.labels, v);
    s.values.length = 0;
  }
}
