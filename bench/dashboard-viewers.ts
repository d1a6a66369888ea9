// Dashboard viewers for the monitoring section: plain HTTP clients that keep /dashboard/events open (as a browser
// tab on the dashboard does) and GET the active calls page every few seconds, so the monitoring-on runs include
// the dashboard's cost (the SSE hub's copies and events, page renders).
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

export function startDashboardViewers(httpAddress: string, count = DASHBOARD_VIEWERS, pageEveryS = 3): DashboardViewers {
  const counts: ViewerCounts = { events: 0, pageReads: 0, errors: 0 };
  let stopped = false;
  const streams: ClientRequest[] = [];
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < count; i++) {
    const req = get(`http://${httpAddress}/dashboard/events`, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) counts.errors++;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (let at = chunk.indexOf('event: calls'); at !== -1; at = chunk.indexOf('event: calls', at + 1)) counts.events++;
      });
      res.on('close', () => {
        if (!stopped) counts.errors++;
      });
    });
    req.on('error', () => {
      if (!stopped) counts.errors++;
    });
    streams.push(req);
    const read = async () => {
      counts.pageReads++;
      try {
        const res = await fetch(`http://${httpAddress}/dashboard/calls`, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (!res.ok) counts.errors++;
      } catch {
        counts.errors++;
      }
    };
    // Spread over the interval, as independent people would be.
    timers.push(setTimeout(() => timers.push(setInterval(() => void read(), pageEveryS * 1000)), (i * pageEveryS * 1000) / count));
  }
  return {
    stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      for (const r of streams) r.destroy();
      return counts;
    },
  };
}
