// Dashboard viewers for the monitoring section: plain HTTP clients that do what a browser tab on the active-calls
// page does (the dashboard's own script, assets/dashboard.js): keep the page's event stream open
// (/dashboard/events?view=calls), which pushes the list's live region on each update; the page fetches nothing.
// So the monitoring-on runs include the dashboard's cost (the SSE hub's events, the region renders and writes).
import { get, type ClientRequest } from 'node:http';

export interface ViewerCounts {
  /** `calls` events received over all viewers. */
  events: number;
  /** `region` events (the pushed list) received over all viewers, and their bytes. */
  regions: number;
  regionBytes: number;
  /** Streams refused or dropped. */
  errors: number;
}

export interface DashboardViewers {
  stop(): ViewerCounts;
}

/** Five, as the issue asks; BENCH_DASHBOARD_VIEWERS=0 leaves them out (to see their share). */
export const DASHBOARD_VIEWERS = process.env.BENCH_DASHBOARD_VIEWERS === undefined ? 5 : Math.max(0, Number(process.env.BENCH_DASHBOARD_VIEWERS) || 0);

/** Occurrences of `needle` in `s`. */
function count(s: string, needle: string): number {
  let n = 0;
  for (let at = s.indexOf(needle); at !== -1; at = s.indexOf(needle, at + needle.length)) n++;
  return n;
}

export function startDashboardViewers(httpAddress: string, count_ = DASHBOARD_VIEWERS): DashboardViewers {
  const counts: ViewerCounts = { events: 0, regions: 0, regionBytes: 0, errors: 0 };
  let stopped = false;
  const streams: ClientRequest[] = [];
  for (let i = 0; i < count_; i++) {
    const req = get(`http://${httpAddress}/dashboard/events?view=calls`, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) counts.errors++;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        counts.events += count(chunk, 'event: calls\n');
        counts.regions += count(chunk, 'event: region\n');
        counts.regionBytes += chunk.length;
      });
      res.on('close', () => {
        if (!stopped) counts.errors++;
      });
    });
    req.on('error', () => {
      if (!stopped) counts.errors++;
    });
    streams.push(req);
  }
  return {
    stop() {
      stopped = true;
      for (const r of streams) r.destroy();
      return counts;
    },
  };
}
