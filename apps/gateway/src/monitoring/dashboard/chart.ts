import type { MinuteStats } from '../call-log/call-log.types';

/**
 * Geometry of the overview's two charts, computed here and drawn by the template as inline SVG (classes only,
 * no style attributes, so the page's CSP needs no 'unsafe-inline' and the colours follow light/dark mode).
 */

export const CHART_W = 600;
export const CHART_H = 160;
/** Left margin for the axis labels; bottom margin for the time labels. */
const LEFT = 44;
const BOTTOM = 20;
const TOP = 8;

export interface Bar {
  x: number;
  y: number;
  w: number;
  h: number;
  /** Tooltip (an SVG <title>). */
  label: string;
}

export interface Chart {
  width: number;
  height: number;
  /** Plot area. */
  left: number;
  top: number;
  right: number;
  bottom: number;
  /** Y-axis labels: top value and zero. */
  max: string;
  bars: Bar[];
  /** Polylines (`x,y x,y ...`), one per unbroken run of minutes with data, per series. */
  lines: Array<{ series: 'p50' | 'p95'; points: string }>;
  /** Dots for single minutes with data (a run of one point draws no line). */
  dots: Array<{ series: 'p50' | 'p95'; x: number; y: number; label: string }>;
  /** One-sentence description for screen readers. */
  summary: string;
}

/** A round axis maximum at or above `v` (1, 2, 5 × 10^n). */
export function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const frame = (n: number) => {
  const right = CHART_W - 4;
  const bottom = CHART_H - BOTTOM;
  return { width: CHART_W, height: CHART_H, left: LEFT, top: TOP, right, bottom, slot: (right - LEFT) / Math.max(1, n) };
};

const round = (n: number) => Math.round(n * 10) / 10;
const minuteLabel = (m: MinuteStats) => new Date(m.minute).toISOString().slice(11, 16);

/** Calls started per minute, one bar per minute. */
export function callsChart(minutes: MinuteStats[]): Chart {
  const f = frame(minutes.length);
  const top = niceMax(Math.max(0, ...minutes.map((m) => m.started)));
  const h = f.bottom - f.top;
  const bars = minutes
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => m.started > 0)
    .map(({ m, i }) => {
      const bh = (m.started / top) * h;
      return { x: round(f.left + i * f.slot + 1), y: round(f.bottom - bh), w: round(Math.max(1, f.slot - 2)), h: round(bh), label: `${minuteLabel(m)} UTC: ${m.started} started, ${m.ended} ended` };
    });
  const total = minutes.reduce((n, m) => n + m.started, 0);
  const peak = Math.max(0, ...minutes.map((m) => m.started));
  return { ...f, max: String(top), bars, lines: [], dots: [], summary: `${total} calls started in the last ${minutes.length} minutes, at most ${peak} in one minute.` };
}

/** End of input → first reply, p50 and p95 per minute, in milliseconds. */
export function latencyChart(minutes: MinuteStats[]): Chart {
  const f = frame(minutes.length);
  const top = niceMax(Math.max(0, ...minutes.map((m) => m.firstReplyP95Ms ?? 0)));
  const h = f.bottom - f.top;
  const lines: Chart['lines'] = [];
  const dots: Chart['dots'] = [];
  for (const series of ['p50', 'p95'] as const) {
    const value = (m: MinuteStats) => (series === 'p50' ? m.firstReplyP50Ms : m.firstReplyP95Ms);
    let run: Array<{ x: number; y: number; m: MinuteStats; v: number }> = [];
    const flush = () => {
      if (run.length > 1) lines.push({ series, points: run.map((p) => `${p.x},${p.y}`).join(' ') });
      for (const p of run) dots.push({ series, x: p.x, y: p.y, label: `${minuteLabel(p.m)} UTC: ${series} ${Math.round(p.v)} ms (${p.m.replies} replies)` });
      run = [];
    };
    minutes.forEach((m, i) => {
      const v = value(m);
      if (v === undefined) return flush();
      run.push({ x: round(f.left + (i + 0.5) * f.slot), y: round(f.bottom - (v / top) * h), m, v });
    });
    flush();
  }
  const measured = minutes.filter((m) => m.firstReplyP50Ms !== undefined);
  const last = measured.at(-1);
  const summary = last
    ? `Reply latency measured in ${measured.length} of the last ${minutes.length} minutes; latest p50 ${Math.round(last.firstReplyP50Ms!)} ms, p95 ${Math.round(last.firstReplyP95Ms!)} ms.`
    : `No replies measured in the last ${minutes.length} minutes.`;
  return { ...f, max: `${top} ms`, bars: [], lines, dots, summary };
}
