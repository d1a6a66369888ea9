import { MessageChannel, Worker } from 'node:worker_threads';
import { BridgeError, PortRpc, serveBlocking } from './bridge';

/**
 * A real second thread (the TypeScript loader the scripts use) that makes blocking calls to this one, as the
 * monitoring HTTP worker does, and reports what it got.
 */
function blockingClient(script: string, timeoutMs: number) {
  const sync = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { BlockingCaller } = require(${JSON.stringify(require.resolve('./bridge'))});
    const caller = new BlockingCaller(workerData.port, workerData.signal, workerData.timeoutMs);
    const out = [];
    const attempt = (op, ...args) => {
      const t0 = Date.now();
      try { out.push({ op, value: caller.call(op, ...args), ms: Date.now() - t0 }); }
      catch (e) { out.push({ op, error: e.message, status: e.status, name: e.name, ms: Date.now() - t0 }); }
    };
    ${script}
    parentPort.postMessage(out);
    workerData.port.close();
  `;
  const worker = new Worker(code, { eval: true, workerData: { port: sync.port2, signal, timeoutMs }, transferList: [sync.port2], execArgv: ['-r', require.resolve('@swc-node/register')] });
  const results = new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { port: sync.port1, signal, results, worker };
}

describe('the monitoring bridge', () => {
  it('answers blocking calls from another thread with values and errors, an HTTP status crossing with its error', async () => {
    const c = blockingClient(`attempt('add', 2, 3); attempt('lookup', 'x'); attempt('missing'); attempt('later')`, 2000);
    const stop = serveBlocking(c.port, c.signal, {
      add: (a: number, b: number) => a + b,
      lookup: (id: string) => {
        throw Object.assign(new Error(`no conversation "${id}"`), { getStatus: () => 404 });
      },
      later: () => new Promise((r) => setTimeout(() => r({ done: true }), 50)),
    });
    try {
      const out = await c.results;
      expect(out.map(({ ms: _ms, ...r }) => r)).toEqual([
        { op: 'add', value: 5 },
        { op: 'lookup', error: 'no conversation "x"', status: 404, name: 'BridgeError' },
        { op: 'missing', error: 'unknown operation missing', name: 'BridgeError' },
        { op: 'later', value: { done: true } },
      ]);
    } finally {
      stop();
      c.port.close();
    }
  });

  it('bounds a blocking call: no answer in time is a 503, and the late answer is not taken for the next call', async () => {
    let slowAnswer!: () => void;
    const c = blockingClient(`attempt('slow'); attempt('fast')`, 300);
    const stop = serveBlocking(c.port, c.signal, {
      slow: () => new Promise((r) => (slowAnswer = () => r('late'))),
      fast: () => {
        slowAnswer(); // the first call's answer arrives now, before this one's
        return new Promise((r) => setTimeout(() => r('fresh'), 20));
      },
    });
    try {
      const [slow, fast] = await c.results;
      expect(slow).toMatchObject({ op: 'slow', error: 'the gateway did not answer slow within 300 ms', status: 503 });
      expect(slow.ms as number).toBeGreaterThanOrEqual(290);
      expect(fast).toMatchObject({ op: 'fast', value: 'fresh' });
    } finally {
      stop();
      c.port.close();
    }
  });

  it('makes promise calls both ways over one port, bounded, and fails what is pending when closed', async () => {
    const ch = new MessageChannel();
    const notes: unknown[] = [];
    const a = new PortRpc(ch.port1, { double: (n: number) => n * 2 }, (m) => notes.push(m), 200);
    const b = new PortRpc(ch.port2, { hello: (who: string) => `hello ${who}`, never: () => new Promise(() => undefined) }, undefined, 200);
    try {
      await expect(a.call('hello', 'worker')).resolves.toBe('hello worker');
      await expect(b.call('double', 21)).resolves.toBe(42);
      await expect(a.call('nope')).rejects.toThrow('unknown operation nope');
      const late = a.call('never');
      await expect(late).rejects.toMatchObject({ message: 'no answer to never within 200 ms', status: 503 });
      b.note({ t: 'changes', n: 1 });
      await new Promise((r) => setTimeout(r, 20));
      expect(notes).toEqual([{ t: 'changes', n: 1 }]);
      const pending = a.call('never');
      a.close();
      await expect(pending).rejects.toBeInstanceOf(BridgeError);
      await expect(a.call('hello', 'x')).rejects.toThrow('the monitoring bridge is closed');
    } finally {
      a.close();
      b.close();
      ch.port1.close();
    }
  });
});
