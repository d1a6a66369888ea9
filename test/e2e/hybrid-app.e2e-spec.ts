import { spawn } from 'node:child_process';
import { type AddressInfo, Server } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { getChannelzHandlers } from '@grpc/grpc-js';
import { canConnect } from '../support/child-gateway';
import { HealthClient, ServingStatus as S } from '../support/grpc-clients';
import { eventually, startTestGateway } from './harness';

const portOf = (address: string) => Number(address.split(':').at(-1));

describe('one hybrid application: gRPC and HTTP in one process', () => {
  it('serves HTTP on monitoring.host/port beside gRPC, and stops both together', async () => {
    const t = await startTestGateway();
    const health = new HealthClient(t.target);
    try {
      expect(t.gw.httpAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      const httpPort = portOf(t.gw.httpAddress!);
      expect(httpPort).not.toBe(0); // the port the system chose, not the configured 0
      // An unknown route: the monitoring error format.
      const res = await fetch(`http://${t.gw.httpAddress}/no-such-route`);
      expect([res.status, await res.json()]).toEqual([404, expect.objectContaining({ statusCode: 404 })]);
      expect(await health.check('')).toEqual({ status: S.SERVING });

      const t0 = Date.now();
      expect(await t.gw.shutdown(5000)).toEqual({ drained: true });
      expect(Date.now() - t0).toBeLessThan(2000); // nothing in flight: no waiting out the grace (RPCs may take 4 s of it)
      expect(await canConnect(httpPort)).toBe(false);
      expect(await canConnect(portOf(t.target))).toBe(false);
    } finally {
      health.close();
      await t.stop();
    }
  });

  it('monitoring.enabled: false starts no HTTP listener; gRPC is served as usual', async () => {
    const t = await startTestGateway({ monitoring: { enabled: false } });
    try {
      expect(t.gw.httpAddress).toBeUndefined();
      const agents = await t.caller().listAgents();
      expect(agents.virtualAgents.length).toBe(1);
    } finally {
      await t.stop();
    }
  });

  it('keeps no channelz records: nothing serves them, and grpc-js would stamp every call and message', async () => {
    const t = await startTestGateway();
    try {
      expect((await t.caller().listAgents()).virtualAgents.length).toBe(1);
      // grpc-js's registry of this process, as its channelz service would list it: servers and their listen sockets.
      const listed = await new Promise<string[]>((resolve, reject) =>
        getChannelzHandlers().GetServers({ request: { start_server_id: 0, max_results: 1000 } } as never, ((err: Error | null, res: { server: Array<{ listen_socket: Array<{ name: string }> }> }) =>
          err ? reject(err) : resolve(res.server.flatMap((s) => s.listen_socket.map((l) => l.name)))) as never),
      );
      expect(listed.filter((name) => name.endsWith(`:${portOf(t.target)}`))).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('serves HTTP from a thread of its own, and its probes still fail in bounded time when the gateway thread is wedged', async () => {
    const t = await startTestGateway();
    try {
      const httpPort = portOf(t.gw.httpAddress!);
      // This thread (the gateway's) holds the gRPC listener but no HTTP one: the port is served by the worker thread.
      const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
      const listening = handles.filter((h): h is Server => h instanceof Server && h.listening).map((s) => (s.address() as AddressInfo).port);
      expect(listening).toContain(portOf(t.target));
      expect(listening).not.toContain(httpPort);
      expect((await fetch(`http://${t.gw.httpAddress}/health`)).status).toBe(200);

      // A client in another process asks for /health while this thread is busy for 6.5 s.
      const client = spawn(process.execPath, ['-e', `
        console.log('start');
        setTimeout(async () => {
          const r = await fetch('http://${t.gw.httpAddress}/health');
          console.log(JSON.stringify({ status: r.status, body: await r.json() }));
        }, 300);`]);
      let out = '';
      client.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      await new Promise<void>((resolve) => client.stdout.once('data', () => resolve()));
      const until = Date.now() + 6500;
      while (Date.now() < until); // wedged: no event loop turn on this thread
      await new Promise((resolve) => client.once('exit', resolve));
      expect(JSON.parse(out.split('\n')[1])).toEqual({ status: 503, body: { statusCode: 503, message: 'the gateway did not answer status.alive within 5000 ms' } });
      // Once the thread runs again, so does the probe.
      expect((await fetch(`http://${t.gw.httpAddress}/health`)).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it("logs what the monitoring HTTP thread writes to its stdout and stderr through the gateway's logger", async () => {
    const logs: Record<string, unknown>[] = [];
    const probe = [{ file: require.resolve('../fixtures/stdio-probe/stdio-probe.module'), export: 'StdioProbeModule' }];
    const t = await startTestGateway({}, { logs, httpModules: probe });
    try {
      await eventually(async () => logs.some((l) => String(l.msg).includes('stdio probe: a warning')), 5000);
      expect(logs).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ level: 30, stdio: 'stdout', msg: 'stdio probe: to stdout' }),
          expect.objectContaining({ level: 40, stdio: 'stderr', msg: expect.stringContaining('Warning: stdio probe: a warning') }),
        ]),
      );
      // Nothing of the thread's stdio is piped into this thread's streams.
      const stdio = (t.gw.monitoringHttp as unknown as { worker: Worker }).worker.stdout;
      expect(stdio.listenerCount('data')).toBe(0);
    } finally {
      await t.stop();
    }
  });

  it('starts the monitoring HTTP thread again, on the same port, if it ever exits; the calls are not affected', async () => {
    const logs: Record<string, unknown>[] = [];
    const t = await startTestGateway({}, { logs });
    try {
      const base = `http://${t.gw.httpAddress}`;
      // A crash of the thread, as a bug in it would end it.
      await (t.gw.monitoringHttp as unknown as { worker: Worker }).worker.terminate();
      await expect(fetch(`${base}/health`)).rejects.toThrow(); // down
      expect((await t.caller().listAgents()).virtualAgents.length).toBe(1);
      await eventually(async () => (await fetch(`${base}/health`).then((r) => r.status, () => 0)) === 200, 15_000);
      expect(t.gw.monitoringHttp!.address).toBe(t.gw.httpAddress);
      expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['the monitoring HTTP worker exited: starting it again (calls are not affected)', 'monitoring HTTP worker started again']));
    } finally {
      await t.stop();
    }
  });
});
