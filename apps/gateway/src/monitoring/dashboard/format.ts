/** Server-side formatting for the dashboard pages: relative times (with the ISO time beside them), durations, paging. */

/** `12 s ago`, `3 min ago`, `2 h ago`, `4 d ago`; `in 5 s` for a time ahead (clock skew). */
export function ago(at: number, now: number): string {
  const d = Math.round((now - at) / 1000);
  const abs = Math.abs(d);
  const say = (s: string) => (d < 0 ? `in ${s}` : `${s} ago`);
  if (abs < 2) return 'just now';
  if (abs < 60) return say(`${abs} s`);
  if (abs < 3600) return say(`${Math.floor(abs / 60)} min`);
  if (abs < 86400) return say(`${Math.floor(abs / 3600)} h`);
  return say(`${Math.floor(abs / 86400)} d`);
}

/** `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export const iso = (at: number) => new Date(at).toISOString();

export const PAGE_SIZE = 50;
/** Pages beyond this are refused (1,000 active calls are 20 pages; the history ring is bounded too). */
export const MAX_PAGE_NUMBER = 100_000;

export interface PageWindow {
  /** 1-based, clamped to the last page. */
  page: number;
  pages: number;
  offset: number;
  limit: number;
  prev?: number;
  next?: number;
  /** 1-based positions of the first and last item shown (0 and 0 when none). */
  from: number;
  to: number;
}

/** Which slice of `total` items page `page` shows: a page past the end shows the last one. */
export function pageWindow(total: number, page: number, size = PAGE_SIZE): PageWindow {
  const pages = Math.max(1, Math.ceil(total / size));
  const p = Math.min(Math.max(1, Math.floor(page)), pages);
  const offset = (p - 1) * size;
  return {
    page: p,
    pages,
    offset,
    limit: size,
    prev: p > 1 ? p - 1 : undefined,
    next: p < pages ? p + 1 : undefined,
    from: total === 0 ? 0 : offset + 1,
    to: Math.min(total, offset + size),
  };
}

/** The `page` query value: absent is 1; anything but a whole number from 1 is refused (a readable 400). */
export function parsePageParam(v: unknown): number | string {
  if (v === undefined || v === '') return 1;
  if (typeof v !== 'string' || !/^\d{1,6}$/.test(v) || Number(v) < 1 || Number(v) > MAX_PAGE_NUMBER) return `page must be a whole number from 1 to ${MAX_PAGE_NUMBER}`;
  return Number(v);
}

/** The `agent` filter: absent or empty is none; one value of sane length. */
export function parseAgentParam(v: unknown): string | undefined | { problem: string } {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > 500) return { problem: 'agent must be one agent id' };
  return v;
}

/** A page whose live region the event stream pushes (rendered on the server once per update and view). */
export type LiveView = { kind: 'overview' } | { kind: 'calls' | 'history'; page: number; agent?: string };

/** The event stream's query for a view (the page links it in `data-events`): one string per distinct view. */
export function liveViewQuery(v: LiveView): string {
  const q = new URLSearchParams({ view: v.kind });
  if (v.kind !== 'overview') {
    if (v.page > 1) q.set('page', String(v.page));
    if (v.agent !== undefined) q.set('agent', v.agent);
  }
  return q.toString();
}

/** `/dashboard/events?view=&page=&agent=`: no view is the ids-only stream (a call's page); else a problem to show. */
export function parseLiveView(view: unknown, page: unknown, agent: unknown): LiveView | undefined | { problem: string } {
  if (view === undefined || view === '') return undefined;
  if (view === 'overview') return { kind: 'overview' };
  if (view !== 'calls' && view !== 'history') return { problem: 'view must be overview, calls or history' };
  const p = parsePageParam(page);
  if (typeof p === 'string') return { problem: p };
  const a = parseAgentParam(agent);
  if (typeof a === 'object') return a;
  return { kind: view, page: p, agent: a };
}
