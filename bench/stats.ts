// Small statistics and machine readings the bench sections share.
import { readFileSync } from 'node:fs';
import type { TurnSample } from './load';

export interface Dist {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export const r3 = (n: number | null) => (n === null ? null : Math.round(n * 1000) / 1000);

/**
 * The median (the mean of the two middle values for an even count, so two runs never give the better one's
 * verdict); null when empty.
 */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Student's t, two-sided 95%, for 1-10 degrees of freedom; beyond that the normal's 1.96 is near enough. */
const T95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/**
 * The mean and its 95% interval from the values' own spread (Student's t): how precisely a few noisy runs
 * place the mean. Null for fewer than two values.
 */
export function meanInterval(xs: number[]): { mean: number; low: number; high: number } | null {
  const n = xs.length;
  if (n < 2) return null;
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { mean, low: mean - half, high: mean + half };
}

/** Nearest-rank percentile of an ascending array. */
export function pctSorted(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function dist(values: number[]): Dist {
  const a = Array.from(Float64Array.from(values).sort());
  return { n: a.length, p50: r3(pctSorted(a, 50)), p90: r3(pctSorted(a, 90)), p99: r3(pctSorted(a, 99)), max: r3(a.length ? a[a.length - 1] : null) };
}

/** Turn errors counted, grouped by message without ids or numbers so the report stays short. */
export function errorKindsOf(samples: TurnSample[]): { errors: number; errorKinds: Record<string, number> } {
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  for (const s of samples) {
    for (const e of s.errors) {
      errors++;
      const key = e.replace(/\d+/g, '#');
      errorKinds[key] = (errorKinds[key] ?? 0) + 1;
    }
  }
  return { errors, errorKinds };
}

export function readLoadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}
