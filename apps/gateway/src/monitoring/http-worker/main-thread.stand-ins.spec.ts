import { MessageChannel } from 'node:worker_threads';
import type { ChangeSummary } from '../call-log/change-summary';
import { PortRpc } from './bridge';
import { ChangeFeed } from './main-thread.stand-ins';

describe('ChangeFeed (the call-log changes as the worker sees them)', () => {
  let ch: MessageChannel;
  let main: PortRpc;
  let worker: PortRpc;
  const switched: boolean[] = [];
  beforeEach(() => {
    switched.length = 0;
    ch = new MessageChannel();
    main = new PortRpc(ch.port1, { 'changes.watch': (on: boolean) => void switched.push(on) });
    worker = new PortRpc(ch.port2, {});
  });
  afterEach(() => {
    main.close();
    worker.close();
    ch.port1.close();
  });
  const settle = () => new Promise((r) => setTimeout(r, 20));

  it('asks the main thread for changes while someone watches, and stops when the last one leaves', async () => {
    const feed = new ChangeFeed(worker);
    const a = feed.summaries.subscribe();
    const b = feed.summaries.subscribe();
    await settle();
    expect(switched).toEqual([true]);
    a.unsubscribe();
    await settle();
    expect(switched).toEqual([true]);
    b.unsubscribe();
    await settle();
    expect(switched).toEqual([true, false]);
  });

  it('hands each summary the main thread sends to whoever watches', () => {
    const feed = new ChangeFeed(worker);
    const seen: ChangeSummary[] = [];
    const s = feed.summaries.subscribe((c) => seen.push(c));
    const summary = { started: 1, updated: 3, ended: 0, ids: ['c1', 'c2'], more: false };
    feed.push(summary);
    s.unsubscribe();
    feed.push({ ...summary, started: 9 });
    expect(seen).toEqual([summary]);
  });
});
