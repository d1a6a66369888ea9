// Monitoring section, HTTP stand-in pairs (bench/monitoring.ts, --mon-http-controls): a gateway child with monitoring
// off serves the monitoring side's HTTP traffic from this stand-in instead: the same routes answered from fixed
// text of about the real sizes, and the dashboard's event stream pushing a list-sized region once a second. It does
// no monitoring work, so the pair's ratio is what monitoring costs beyond serving the same traffic.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

/** About what the monitoring side sends at 150 calls: a pushed list region, a page of calls, a scrape. */
const REGION_BYTES = 25_000;
const READ_BYTES = 20_000;
const PUSH_EVERY_MS = 1000;

/**
 * `inWorker`: the stand-in runs in a worker thread, its own V8 isolate, so none of its HTTP objects pass through the
 * JavaScript (Node's streams and sockets) that the gateway's gRPC path runs on the main thread; its CPU still counts
 * in the process's.
 */
export function startHttpStandin(inWorker = false): Promise<string> {
  if (inWorker) {
    const w = new Worker(__filename, { execArgv: process.execArgv });
    w.unref();
    return new Promise((resolve, reject) => {
      w.once('message', resolve);
      // Before the address: the stand-in failed to start; after it, a diagnostic's failure must not end the gateway.
      w.on('error', reject);
    });
  }
  const region = `event: calls\ndata: {"active":150}\n\nevent: region\ndata: ${JSON.stringify({ id: 'calls-live', html: 'x'.repeat(REGION_BYTES) })}\n\n`;
  const read = JSON.stringify({ items: 'x'.repeat(READ_BYTES) });
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/dashboard/events')) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' });
      res.write('retry: 3000\n: connected\n\n');
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(read);
  });
  const push = setInterval(() => {
    for (const s of streams) s.write(region);
  }, PUSH_EVERY_MS);
  // On the main thread it must not keep the gateway alive; a worker's loop ends without it (the worker is unref'd).
  if (isMainThread) {
    push.unref();
    server.unref();
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

if (!isMainThread && parentPort) void startHttpStandin().then((address) => parentPort!.postMessage(address));
