import { getChannelzHandlers } from '@grpc/grpc-js';
import { canConnect } from '../support/child-gateway';
import { HealthClient, ServingStatus as S } from '../support/grpc-clients';
import { startTestGateway } from './harness';

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
});
