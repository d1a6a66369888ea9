import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { startWithoutMemoryReducer } from './quiet-heap';

// Keeps about 25 MB live under a 48 MB limit: near its limit V8 optimises for memory, so the reducer runs its
// collection about 8 s after the first full one, whatever the allocation rate (measured: every run). Its
// collections are the ones flagged to collect all external memory; the script counts those.
const SCRIPT = `
const { parentPort } = require('node:worker_threads');
const { PerformanceObserver, constants } = require('node:perf_hooks');
let reduced = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR && e.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_ALL_EXTERNAL_MEMORY) {
      reduced++;
      parentPort.postMessage({ t: 'reduced' });
    }
  }
}).observe({ entryTypes: ['gc'] });
let keep = [];
for (let i = 0; i < 3e5; i++) keep.push({ a: i, b: 'y' + i, c: [i] });
setTimeout(() => { keep = keep.slice(0, 2e5); }, 300);
parentPort.on('message', () => parentPort.postMessage({ t: 'count', reduced }));
setInterval(() => keep.length, 1000);
`;
const OPTIONS = { eval: true, resourceLimits: { maxOldGenerationSizeMb: 48 } };

const reductions = async (w: Worker): Promise<number> => {
  w.postMessage('count');
  for (;;) {
    const [m] = (await once(w, 'message')) as [{ t: string; reduced?: number }];
    if (m.t === 'count') return m.reduced!;
  }
};

const reduced = (w: Worker) => new Promise<void>((resolve) => w.on('message', (m: { t: string }) => m.t === 'reduced' && resolve()));

describe('startWithoutMemoryReducer', () => {
  it('starts a worker whose isolate has no memory reducer, and leaves the flag on for every other', async () => {
    // A create that throws must not leave the flag off: the worker started next runs its reducer as usual.
    expect(() =>
      startWithoutMemoryReducer(() => {
        throw new Error('cannot create');
      }),
    ).toThrow('cannot create');
    const before = new Worker(SCRIPT, OPTIONS);
    // Isolates set up their heaps on their own threads: each is online before the next toggle.
    await once(before, 'online');
    const quiet = startWithoutMemoryReducer(() => new Worker(SCRIPT, OPTIONS));
    await once(quiet, 'online');
    const after = new Worker(SCRIPT, OPTIONS);
    try {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('a usual worker never ran its memory reducer')), 30_000)));
      await Promise.race([Promise.all([reduced(before), reduced(after)]), bound]).finally(() => clearTimeout(timer));
      // All three built the same heap within a few milliseconds: the quiet one has had as long, and a second
      // more, to show a collection of its reducer.
      await new Promise((r) => setTimeout(r, 1000));
      expect(await reductions(quiet)).toBe(0);
      expect(await reductions(before)).toBeGreaterThan(0);
      expect(await reductions(after)).toBeGreaterThan(0);
    } finally {
      await Promise.all([before, quiet, after].map((w) => w.terminate()));
    }
  }, 60_000);
});
