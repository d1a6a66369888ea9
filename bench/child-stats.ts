// Inside a server child, on the parent's request (IPC): event-loop lag over the steady window, and a CPU
// profile of that window only. Lag is what CPU time alone hides: a server can sit at 50% CPU and still
// stall its loop (GC, long tasks).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dumpSourceMaps } from './profile';

const RESOLUTION_MS = 10;

export interface LoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

type Msg = { type?: string; file?: string; maps?: string };

export function serveChildStats(): void {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  // Samples are timer intervals: the resolution itself is not lag.
  const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10);
  let session: Session | undefined;
  process.on('message', (m: Msg) => {
    switch (m?.type) {
      case 'lag-reset':
        h.reset();
        break;
      case 'lag':
        process.send?.({ type: 'lag', lag: { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) } });
        break;
      case 'handles':
        // Soak (bench/soak): libuv handles and requests keeping the loop alive (sockets, timers, ...).
        // With the JS heap and off-heap buffers, to tell a JS leak from native growth.
        process.send?.({ type: 'handles', count: process.getActiveResourcesInfo().length, memory: process.memoryUsage() });
        break;
      case 'profile-start':
        session = new Session();
        session.connect();
        session.post('Profiler.enable');
        session.post('Profiler.start');
        break;
      case 'profile-stop':
        session?.post('Profiler.stop', (err, res) => {
          if (!err && m.file) writeFileSync(m.file, JSON.stringify(res.profile));
          // swc-node compiles in memory: its source maps map the profile back to TS lines.
          if (m.maps) dumpSourceMaps(m.maps);
          session?.disconnect();
          process.send?.({ type: 'profiled', ok: !err });
        });
        break;
    }
  });
}
