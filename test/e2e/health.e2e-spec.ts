import { status } from '@grpc/grpc-js';
import { BYOVA_SERVICE } from '@app/proto';
import { CLOSE_FLUSH_MS } from '../../apps/gateway/src/grpc/grpc-options';
import { HealthService } from '../../apps/gateway/src/health/health.service';
import { canConnect } from '../support/child-gateway';
import { HealthClient, ServingStatus as S, within } from '../support/grpc-clients';
import { startTestGateway, TestGateway } from './harness';

describe('grpc.health.v1.Health over real gRPC', () => {
  let t: TestGateway;
  let health: HealthClient;
  beforeAll(async () => {
    t = await startTestGateway();
    health = new HealthClient(t.target);
  });
  afterAll(async () => {
    health.close();
    await t.stop();
  });

  it('Check: the server as a whole and the BYOVA service are SERVING', async () => {
    expect(await health.check('')).toEqual({ status: S.SERVING });
    expect(await health.check(BYOVA_SERVICE)).toEqual({ status: S.SERVING });
  });

  it('Check: an unknown service is a NOT_FOUND status, as the health protocol asks', async () => {
    await expect(health.check('no.such.Service')).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('List: reports both services', async () => {
    const res = await health.list();
    expect(res.statuses).toEqual({ '': { status: S.SERVING }, [BYOVA_SERVICE]: { status: S.SERVING } });
  });

  it('Watch: an unknown service streams SERVICE_UNKNOWN and stays open (not an error)', async () => {
    const w = health.watch('no.such.Service');
    expect(await w.next(1)).toEqual([S.SERVICE_UNKNOWN]);
    // Still open: a status would mean the server turned it into an error.
    const early = await Promise.race([w.ended.then((s) => s.code), new Promise((r) => setTimeout(() => r('open'), 100))]);
    expect(early).toBe('open');
    w.cancel();
    expect((await w.ended).code).toBe(status.CANCELLED);
  });
});

describe('Health Watch across a graceful shutdown', () => {
  it('streams SERVING, then NOT_SERVING once draining starts, and ends (status OK) as the server closes', async () => {
    const t = await startTestGateway();
    const health = new HealthClient(t.target);
    try {
      const whole = health.watch('');
      const byova = health.watch(BYOVA_SERVICE);
      expect(await whole.next(1)).toEqual([S.SERVING]);
      expect(await byova.next(1)).toEqual([S.SERVING]);

      const t0 = Date.now();
      const stopping = t.gw.shutdown(1000);
      expect(await whole.next(2)).toEqual([S.SERVING, S.NOT_SERVING]);
      expect(await byova.next(2)).toEqual([S.SERVING, S.NOT_SERVING]);
      expect(await within(stopping, 3000, 'shutdown did not resolve')).toEqual({ drained: true });
      // Ended cleanly by the gateway, not cut after the close's flush window.
      expect(Date.now() - t0).toBeLessThan(CLOSE_FLUSH_MS);

      const ends = await within(Promise.all([whole.ended, byova.ended]), 1000, 'Watch streams still open after shutdown');
      expect(ends.map((e) => e.code)).toEqual([status.OK, status.OK]);
      expect(whole.statuses).toEqual([S.SERVING, S.NOT_SERVING]);
      expect(await canConnect(Number(t.target.split(':')[1]))).toBe(false);
    } finally {
      health.close();
    }
  });
});

describe('a gateway with no connectors', () => {
  let t: TestGateway;
  let health: HealthClient;
  beforeAll(async () => {
    t = await startTestGateway({ connectors: {} });
    health = new HealthClient(t.target);
  });
  afterAll(async () => {
    health.close();
    await t.stop();
  });

  it('reports NOT_SERVING on Check, List and Watch', async () => {
    expect(await health.check('')).toEqual({ status: S.NOT_SERVING });
    expect(await health.check(BYOVA_SERVICE)).toEqual({ status: S.NOT_SERVING });
    expect(await health.list()).toEqual({ statuses: { '': { status: S.NOT_SERVING }, [BYOVA_SERVICE]: { status: S.NOT_SERVING } } });
    const w = health.watch('');
    expect(await w.next(1)).toEqual([S.NOT_SERVING]);
    w.cancel();
  });

  it('answers a call with UNAVAILABLE and lists no agents', async () => {
    const caller = t.caller();
    const r = await caller.startSession();
    expect(r.status.code).toBe(status.UNAVAILABLE);
    expect(r.responses).toEqual([]);
    expect((await caller.listAgents()).virtualAgents).toEqual([]);
  });
});

describe('speech detection in health', () => {
  const start = async (vad: Record<string, unknown>) => {
    const logs: Record<string, unknown>[] = [];
    const t = await startTestGateway({ voice_activity_detection: vad }, { logs });
    return { t, logs, health: new HealthClient(t.target) };
  };

  it('reports the Silero detector, not degraded, when its model loads', async () => {
    const { t, logs, health } = await start({ engine: 'silero' });
    try {
      expect(t.gw.app.get(HealthService).vad()).toEqual({ kind: 'silero' });
      expect(logs.some((l) => l.msg === 'speech detection: silero')).toBe(true);
    } finally {
      health.close();
      await t.stop();
    }
  });

  it('a model that cannot load: energy detector, degraded with the reason, logged, and still SERVING', async () => {
    const { t, logs, health } = await start({ engine: 'silero', model_path: 'no/such/model.onnx' });
    try {
      const vad = t.gw.app.get(HealthService).vad();
      expect(vad).toEqual({ kind: 'energy', degraded: expect.stringMatching(/^Silero VAD unavailable, using the energy detector: cannot load .*no\/such\/model\.onnx/) });
      expect(await health.check('')).toEqual({ status: S.SERVING });
      expect(await health.check(BYOVA_SERVICE)).toEqual({ status: S.SERVING });
      const warnings = logs.filter((l) => l.level === 40).map((l) => l.msg);
      expect(warnings).toEqual(expect.arrayContaining([vad.degraded, 'speech detection degraded']));
    } finally {
      health.close();
      await t.stop();
    }
  });
});
