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
      expect(await t.gw.shutdown(1000)).toEqual({ drained: true });
      expect(Date.now() - t0).toBeLessThan(500); // nothing in flight: no waiting out the grace
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
});
