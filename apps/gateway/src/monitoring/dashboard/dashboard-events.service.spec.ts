import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Subject } from 'rxjs';
import { createLogger, MonitoringSection } from '@app/config';
import { EngineEvents } from '@app/engine';
import { CallLogService } from '../call-log/call-log.service';
import { COALESCE_MS, DashboardEvents, MAX_CLIENTS } from './dashboard-events.service';
import { type LiveView, parseLiveView } from './format';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The hub behind a real HTTP server, fed by a real call log and engine events. Its regions come from a stand-in
 * for the page renderer that lists the active calls' ids and counts its renders (the agent `boom` throws).
 * Query: `view`/`page`/`agent` as the controller reads them, `stalled`, `closeIn` (ms), `sid`.
 */
async function setup() {
  const events = new EngineEvents();
  const log = new CallLogService(events, new MonitoringSection());
  log.onModuleInit();
  const renders: string[] = [];
  const pad = { bytes: 0 };
  const regions = {
    region(v: LiveView) {
      renders.push(v.kind);
      if (v.kind !== 'overview' && v.agent === 'boom') throw new Error('template failed');
      const ids = log.active({ limit: 1000 }).items.map((c) => c.id);
      return { id: `${v.kind}-live`, html: `<div id="${v.kind}-live" data-region>${ids.join(' ')}${'.'.repeat(pad.bytes)}</div>` };
    },
  };
  const revocations = new Subject<string>();
  const hub = new DashboardEvents(log, regions, createLogger('silent'), { revocations });
  const server: Server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const view = parseLiveView(q.get('view') ?? undefined, q.get('page') ?? undefined, q.get('agent') ?? undefined);
    const closeIn = q.get('closeIn');
    if ((view && 'problem' in view) || !hub.attach(res, { view, closeAt: closeIn ? Date.now() + Number(closeIn) : undefined, sessionId: q.get('sid') ?? undefined })) {
      res.statusCode = 503;
      res.end();
      return;
    }
    // A viewer whose network stalls: what the hub writes piles up in its socket's buffer.
    if (q.has('stalled')) res.socket?.cork();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let n = 0;
  const start = () => events.emit({ type: 'conversation_started', at: Date.now(), conversationId: `c${n++}`, agentId: 'a', connectorId: 'x', customerOrgId: '', resumed: false });
  const end = (id: string) => events.emit({ type: 'conversation_ended', at: Date.now(), conversationId: id, agentId: 'a', connectorId: 'x', reason: 'caller_hangup', durationMs: 1 } as never);
  const stop = () => new Promise((r) => server.close(r));
  // The hub first: its open streams would keep the server from closing.
  const close = async () => {
    hub.onModuleDestroy();
    await stop();
  };
  return { hub, log, server, url, start, end, renders, pad, revocations, stop, close };
}

function connect(url: string): Promise<{ res: IncomingMessage; text: () => string; times: number[] }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let buf = '';
      const times: number[] = [];
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        if (c.includes('event: calls')) times.push(Date.now());
      });
      resolve({ res, text: () => buf, times });
    }).on('error', reject);
  });
}

const eventsOf = (name: string) => (text: string) => text.split('\n\n').filter((b) => b.startsWith(`event: ${name}\n`)).map((b) => JSON.parse(b.split('data: ')[1]));
const callsEvents = eventsOf('calls');
const regionEvents = eventsOf('region');

describe('DashboardEvents (SSE hub)', () => {
  it('coalesces changes into at most one event per COALESCE_MS for every viewer, naming the calls that changed', async () => {
    const s = await setup();
    try {
      const a = await connect(s.url);
      const b = await connect(s.url);
      // 20 calls start over about a second: an event at once, then at most one per COALESCE_MS (not 20).
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) {
        s.start();
        await sleep(50);
      }
      const spanMs = Date.now() - t0;
      await sleep(COALESCE_MS + 100);
      for (const v of [a, b]) {
        const got = callsEvents(v.text());
        expect(got.length).toBeGreaterThanOrEqual(2);
        expect(got.length).toBeLessThanOrEqual(Math.ceil(spanMs / COALESCE_MS) + 1);
        for (let i = 1; i < v.times.length; i++) expect(v.times[i] - v.times[i - 1]).toBeGreaterThanOrEqual(COALESCE_MS - 50);
        expect(got.reduce((n, e) => n + e.started, 0)).toBe(20);
        expect(got.flatMap((e) => e.ids)).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
        expect(got.at(-1)).toMatchObject({ active: 20, more: false });
      }
    } finally {
      await s.close();
    }
  });

  it('watches the call log (ids only, no copies) only while a viewer is connected', async () => {
    const s = await setup();
    try {
      const internals = s.log as unknown as { subject: { observed: boolean } };
      const observed = () => s.log.watched;
      // The copying stream stays unobserved: viewers cost the call log no copies.
      expect(internals.subject.observed).toBe(false);
      expect(observed()).toBe(false);
      const v = await connect(s.url);
      expect(observed()).toBe(true);
      expect(internals.subject.observed).toBe(false);
      v.res.destroy();
      await sleep(50);
      expect(s.hub.viewers).toBe(0);
      expect(observed()).toBe(false);
    } finally {
      await s.close();
    }
  });

  it(`refuses viewer ${MAX_CLIENTS + 1}, and drops a viewer that does not read`, async () => {
    const s = await setup();
    try {
      const viewers = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => connect(s.url)));
      expect(s.hub.viewers).toBe(MAX_CLIENTS);
      const extra = await connect(s.url);
      expect(extra.res.statusCode).toBe(503);
      // A viewer whose network stalls; changes keep coming (each event names 100 long ids) until its buffer is full.
      for (const v of viewers.splice(0, 1)) v.res.destroy();
      await sleep(50);
      // It watches a list: each update pushes it a 100 KB region too.
      s.pad.bytes = 100_000;
      const stuck = await connect(`${s.url}?stalled&view=calls`);
      expect(s.hub.viewers).toBe(MAX_CLIENTS);
      const closed = new Promise<void>((r) => stuck.res.socket.on('close', () => r()));
      const long = 'x'.repeat(200);
      let n = 0;
      const deadline = Date.now() + 10_000;
      let done = false;
      void closed.then(() => (done = true));
      while (!done && Date.now() < deadline) {
        for (let i = 0; i < 100; i++) {
          (s.log as unknown as { onEvent(e: unknown): void }).onEvent({ type: 'conversation_started', at: Date.now(), conversationId: `${long}-${n++}`, agentId: 'a', connectorId: 'x', customerOrgId: '', resumed: false });
        }
        await sleep(COALESCE_MS + 20);
      }
      expect(done).toBe(true);
      expect(s.hub.viewers).toBe(MAX_CLIENTS - 1);
      for (const v of viewers) v.res.destroy();
    } finally {
      await s.close();
    }
  }, 30_000);

  it("pushes each watched view's live region on its updates, rendered once per view whatever its viewers", async () => {
    const s = await setup();
    try {
      const a = await connect(`${s.url}?view=calls`);
      const b = await connect(`${s.url}?view=calls`);
      const hist = await connect(`${s.url}?view=history`);
      const broken = await connect(`${s.url}?view=history&agent=boom`);
      const plain = await connect(s.url);
      // On connecting, a view's viewer gets its region as it is now (a reconnect may have missed updates).
      await sleep(50);
      for (const v of [a, b]) expect(regionEvents(v.text())).toEqual([{ id: 'calls-live', html: '<div id="calls-live" data-region></div>' }]);
      expect(regionEvents(hist.text())).toHaveLength(1);
      s.renders.length = 0;
      const sent = callsEvents(plain.text()).length;
      for (let i = 0; i < 3; i++) {
        s.start();
        await sleep(20);
      }
      await sleep(COALESCE_MS + 200);
      const updates = callsEvents(plain.text()).length - sent;
      expect(updates).toBeGreaterThanOrEqual(1);
      // One render of the calls view per update for both its viewers; the history waits for a call to end.
      expect(s.renders).toEqual(Array(updates).fill('calls'));
      for (const v of [a, b]) {
        const got = regionEvents(v.text());
        expect(got).toHaveLength(1 + updates);
        expect(got.at(-1)).toEqual({ id: 'calls-live', html: '<div id="calls-live" data-region>c0 c1 c2</div>' });
      }
      expect(regionEvents(hist.text())).toHaveLength(1);
      s.renders.length = 0;
      s.end('c1');
      await sleep(COALESCE_MS + 200);
      // The view whose render fails gets nothing; the others still get theirs.
      expect(s.renders.sort()).toEqual(['calls', 'history', 'history']);
      expect(regionEvents(hist.text()).at(-1)).toEqual({ id: 'history-live', html: '<div id="history-live" data-region>c0 c2</div>' });
      expect(regionEvents(broken.text())).toEqual([]);
      expect(regionEvents(plain.text())).toEqual([]);
      expect(callsEvents(plain.text()).length - sent).toBe(updates + 1);
    } finally {
      await s.close();
    }
  });

  it('closes a stream when its login session expires, and when that session logs out', async () => {
    const s = await setup();
    try {
      const expiring = await connect(`${s.url}?closeIn=300`);
      const t0 = Date.now();
      const mine = await connect(`${s.url}?sid=s1`);
      const other = await connect(`${s.url}?sid=s2`);
      await new Promise((r) => expiring.res.on('end', r));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(s.hub.viewers).toBe(2);
      s.revocations.next('s1');
      await new Promise((r) => mine.res.on('end', r));
      await sleep(50);
      expect(s.hub.viewers).toBe(1);
      expect(other.res.readableEnded).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('closes every stream when the application closes', async () => {
    const s = await setup();
    const v = await connect(s.url);
    const ended = new Promise<void>((r) => v.res.on('end', () => r()));
    s.hub.onModuleDestroy();
    await ended;
    expect(v.text()).toContain('retry: 3000');
    expect(s.hub.viewers).toBe(0);
    const late = await connect(s.url);
    expect(late.res.statusCode).toBe(503);
    await s.stop();
  });
});
