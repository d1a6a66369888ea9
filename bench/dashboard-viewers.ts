// Dashboard viewers for the monitoring section: plain HTTP clients that do what a browser tab on the active-calls
// page does (the dashboard's own script, assets/dashboard.js): keep /dashboard/events open and fetch the page again
// on every `calls` or `tick` event, one fetch at a time (an event during a fetch queues one more), so the
// monitoring-on runs include the dashboard's cost (the SSE hub's events, page renders).
import { get, type ClientRequest } from 'node:http';

export interface ViewerCounts {
  /** `calls` events received over all viewers. */
  events: number;
  pageReads: number;
  /** Failed page reads, and streams refused or dropped. */
  errors: number;
}

export interface DashboardViewers {
  stop(): ViewerCounts;
}

/** Five, as the issue asks; BENCH_DASHBOARD_VIEWERS=0 leaves them out (to see their share). */
export const DASHBOARD_VIEWERS = process.env.BENCH_DASHBOARD_VIEWERS === undefined ? 5 : Math.max(0, Number(process.env.BENCH_DASHBOARD_VIEWERS) || 0);

export function startDashboardViewers(httpAddress: string, count = DASHBOARD_VIEWERS): DashboardViewers {
  const counts: ViewerCounts = { events: 0, pageReads: 0, errors: 0 };
  let stopped = false;
  const streams: ClientRequest[] = [];
  for (let i = 0; i < count; i++) {
    let busy = false;
    let again = false;
    const refresh = async (): Promise<void> => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      do {
        again = false;
        if (stopped) break;
        counts.pageReads++;
        try {
          const res = await fetch(`http://${httpAddress}/dashboard/calls`, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(5000) });
          await res.arrayBuffer();
          if (!res.ok) counts.errors++;
        } catch {
          if (!stopped) counts.errors++;
        }
      } while (again);
      busy = false;
    };
    const req = get(`http://${httpAddress}/dashboard/events`, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) counts.errors++;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const before = counts.events;
        for (let at = chunk.indexOf('event: calls'); at !== -1; at = chunk.indexOf('event: calls', at + 1)) counts.events++;
        if (counts.events > before || chunk.includes('event: tick')) void refresh();
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
