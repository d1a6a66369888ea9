import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { BYOVA_SERVICE, DTMFDigits, health as healthProto, OutputEvent_EventType as EV, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { ByovaCaller } from '@app/simulator';
import { CLOSE_FLUSH_MS } from '../../apps/gateway/src/grpc/grpc-options';
import { DrainService } from '../../apps/gateway/src/lifecycle/drain.service';
import { scriptedLog } from '../fixtures/scripted-connector';
import { canConnect, killAll, removeTempConfigs, spawnGateway, stackLines, tempConfig } from '../support/child-gateway';
import { HealthClient, ServingStatus as S, within } from '../support/grpc-clients';
import { routingProxy } from '../support/routing-proxy';
import { speechTurn } from '../support/speech-turn';
import { eventually, freePort, localConnector, scriptedConnector, startTestGateway } from './harness';

const SCRIPTED = 'Scripted: bot';
const portOf = (target: string) => Number(target.split(':')[1]);
const shape = (r: { responses: { responseType: number; outputEvents: { eventType: number }[] }[] }) =>
  r.responses.map((x) => [RT[x.responseType], ...x.outputEvents.map((e) => EV[e.eventType])]);

// Child gateways start with the file (start-up dominates their cost) and are used by the last tests.
const GRACE_S = 3;
// Short, yet not so short that a busy machine misses the flush window (a fifth of a fifth of the grace: 25 ms at
// 0.5 s, and the cut RPC then ended CANCELLED instead of UNAVAILABLE).
const INT_GRACE_S = 2;
let termPort: number;
let intPort: number;
let term: ReturnType<typeof spawnGateway>;
let int: ReturnType<typeof spawnGateway>;
// A bot whose end() never returns, and a grace of its own.
const BOUNDED_GRACE_S = 2;
let boundedPort: number;
let bounded: ReturnType<typeof spawnGateway>;
const childConfig = (port: number, grace: number) => ({
  gateway: { host: '127.0.0.1', port, shutdown_grace_seconds: grace },
  // The test's caller speech is a two-tone burst: the level detector hears it, a neural one does not.
  voice_activity_detection: { engine: 'energy', end_silence_ms: 300 },
  connectors: { local: localConnector() },
});
beforeAll(async () => {
  [termPort, intPort] = [await freePort(), await freePort()];
  term = spawnGateway({ GATEWAY_CONFIG: tempConfig(childConfig(termPort, GRACE_S)), LOG_LEVEL: 'warn' });
  int = spawnGateway({ GATEWAY_CONFIG: tempConfig(childConfig(intPort, INT_GRACE_S)), LOG_LEVEL: 'warn' });
  boundedPort = await freePort();
  const hung = { ...childConfig(boundedPort, BOUNDED_GRACE_S), connectors: { scripted: scriptedConnector({ hang_end: true }) } };
  bounded = spawnGateway({ GATEWAY_CONFIG: tempConfig(hung), LOG_LEVEL: 'warn' });
});
afterAll(() => {
  killAll();
  removeTempConfigs();
});

describe('graceful drain, in-process', () => {
  it('refuses new RPCs and turns NOT_SERVING, lets the in-flight turn answer, then closes: {drained: true}', async () => {
    const t = await startTestGateway({ connectors: { local: localConnector() }, voice_activity_detection: { end_silence_ms: 300 } });
    const drain = t.gw.app.get(DrainService);
    const health = new HealthClient(t.target);
    const other = t.caller();
    try {
      // Channels up before the drain, so the refusals below are the gateway's answers, not connection set-up.
      expect(await health.check('')).toEqual({ status: S.SERVING });
      await other.listAgents();
      const watch = health.watch('');
      await watch.next(1);

      const caller = t.caller();
      await caller.startSession();
      const speaking = speechTurn(caller, 900);
      await speaking.startOfInput; // mid-speech: ~800 ms of speech and 300 ms of end silence still to come
      expect(drain.inflightCount).toBe(1);

      const stopping = t.gw.shutdown(5000);
      let stoppedAt = 0;
      void stopping.then(() => (stoppedAt = Date.now()));

      const [fresh, list, check] = await Promise.all([
        other.startSession(),
        other.listAgents().then(
          () => undefined,
          (e) => e,
        ),
        health.check(BYOVA_SERVICE),
      ]);
      expect([fresh.status.code, fresh.status.details]).toEqual([status.UNAVAILABLE, 'gateway is shutting down']);
      expect([list?.code, list?.details]).toEqual([status.UNAVAILABLE, 'gateway is shutting down']);
      expect(check).toEqual({ status: S.NOT_SERVING });
      expect(drain.inflightCount).toBe(1); // those answers came while the turn was still running

      const r = await speaking.result;
      const answeredAt = Date.now();
      expect(r.status.code).toBe(status.OK);
      expect(shape(r)).toEqual([['PARTIAL', 'START_OF_INPUT'], ['PARTIAL', 'END_OF_INPUT'], ['FINAL']]);
      expect(r.responses[2].prompts[0].text).toMatch(/press 5/i);
      expect(r.violations).toEqual([]);

      expect(await within(stopping, 2000, 'shutdown did not resolve')).toEqual({ drained: true });
      expect(stoppedAt).toBeGreaterThanOrEqual(answeredAt - 50); // resolved after the turn, not before it
      // The Watch ended cleanly once the turn was done, so the close did not wait out its flush window.
      expect(stoppedAt - answeredAt).toBeLessThan(CLOSE_FLUSH_MS / 2);
      expect([watch.statuses, (await watch.ended).code]).toEqual([[S.SERVING, S.NOT_SERVING], status.OK]);
      expect(await canConnect(portOf(t.target))).toBe(false);
    } finally {
      health.close();
      await t.stop();
    }
  });

  it('a keepalive ping due during the drain does not cut the turn still running', async () => {
    // The drain's GOAWAY closes every connection; Node refuses pings on a closing one and grpc-js took that as a
    // dead peer, destroying the connection with the turn the grace was for. Pings every second here.
    const t = await startTestGateway({
      gateway: { keepalive: { time_ms: 1000, timeout_ms: 1000 } },
      connectors: { local: localConnector() },
      voice_activity_detection: { end_silence_ms: 300 },
    });
    try {
      const caller = t.caller();
      await caller.startSession();
      const speaking = speechTurn(caller, 3000);
      await speaking.startOfInput; // about 3 s of the turn to go: two or three pings fall due in the drain
      const stopping = t.gw.shutdown(8000);
      const r = await speaking.result;
      expect(r.status.code).toBe(status.OK);
      expect(shape(r)).toEqual([['PARTIAL', 'START_OF_INPUT'], ['PARTIAL', 'END_OF_INPUT'], ['FINAL']]);
      expect(await within(stopping, 2000, 'shutdown did not resolve')).toEqual({ drained: true });
    } finally {
      await t.stop();
    }
  });

  it('with a grace shorter than the in-flight RPC: ends it with UNAVAILABLE, closes within the grace, names it as pending', async () => {
    const t = await startTestGateway({ connectors: { local: localConnector() } });
    try {
      const caller = t.caller();
      await caller.startSession();
      const speaking = speechTurn(caller, 6000); // the caller talks far longer than grace + flush window
      await speaking.startOfInput;

      // 2 s, not less: the flush window is a fifth of a fifth of the grace, and at 100 ms (4 ms) a busy machine
      // missed it (the cut RPC ended CANCELLED instead of UNAVAILABLE).
      const graceMs = 2000;
      const t0 = Date.now();
      const report = await within(t.gw.shutdown(graceMs), graceMs + 3000, 'shutdown did not resolve');
      const took = Date.now() - t0;
      expect([report.drained, report.pending?.rpcs]).toEqual([false, [caller.conversationId]]);
      // RPCs get most of the grace (all but a fifth, kept for ending conversations and closing); the whole stop fits in it.
      expect(took).toBeGreaterThanOrEqual(graceMs * 0.8 - 25);
      // Bounded by the grace, not by the 6 s turn; the slack is the event loop of a machine busy with the other test files.
      expect(took).toBeLessThan(graceMs + 900);

      const r = await within(speaking.result, 1000, 'in-flight RPC never ended');
      expect([r.status.code, r.status.details]).toEqual([status.UNAVAILABLE, 'gateway is shutting down']);
      expect(r.responses.some((x) => x.responseType === RT.FINAL)).toBe(false);
      expect(await canConnect(portOf(t.target))).toBe(false);
    } finally {
      await t.stop();
    }
  });

  it('an RPC whose answer comes just after the grace gets UNAVAILABLE, not a reset', async () => {
    const t = await startTestGateway({ connectors: { scripted: scriptedConnector() } });
    try {
      scriptedLog.splice(0);
      const caller = t.caller({ agentId: SCRIPTED });
      await caller.startSession();
      await caller.sendEvent('START_OF_DTMF');
      const turn = caller.openTurn('dtmf');
      turn.write(caller.request({ dtmfInput: { dtmfEvents: [DTMFDigits.DTMF_DIGIT_TWO] } })); // answers after 150 ms
      turn.halfClose();
      await eventually(() => scriptedLog.some((c) => c.op === 'input' && c.input?.kind === 'dtmf'));

      const report = await within(t.gw.shutdown(30), 3000, 'shutdown did not resolve');
      expect([report.drained, report.pending?.rpcs]).toEqual([false, [caller.conversationId]]);
      const r = await turn.result;
      expect([r.status.code, r.status.details, r.responses.length]).toEqual([status.UNAVAILABLE, 'gateway is shutting down', 0]);
      expect(await canConnect(portOf(t.target))).toBe(false);
    } finally {
      await t.stop();
    }
  });
});

describe('signals to the real entry point (child processes)', () => {

  it('SIGTERM mid-call: NOT_SERVING, the caller\'s turn still gets its answer, exit code 0 within the grace', async () => {
    await term.waitForPort(termPort);
    const target = `127.0.0.1:${termPort}`;
    const caller = new ByovaCaller({ target, deadlineMs: 10_000 });
    const health = new HealthClient(target);
    try {
      expect((await caller.startSession()).status.code).toBe(status.OK);
      expect(await health.check('')).toEqual({ status: S.SERVING });
      const speaking = speechTurn(caller, 900);
      await speaking.startOfInput;

      const exit = term.stop('SIGTERM');
      // The signal lands asynchronously: health flips to NOT_SERVING while the turn is still running.
      let seen = S.SERVING;
      for (let i = 0; i < 50 && seen === S.SERVING; i++) {
        seen = (await health.check('')).status;
        if (seen === S.SERVING) await new Promise((res) => setTimeout(res, 10));
      }
      expect(seen).toBe(S.NOT_SERVING);
      expect(term.hasExited).toBe(false);
      const r = await speaking.result;
      expect(r.status.code).toBe(status.OK);
      expect(shape(r).at(-1)).toEqual(['FINAL']);

      const e = await exit;
      expect([e.code, e.signal]).toEqual([0, null]);
      expect(e.afterMs).toBeLessThan(GRACE_S * 1000);
      expect(stackLines(term.stderr + term.stdout)).toEqual([]);
    } finally {
      caller.close();
      health.close();
    }
  });

  it('SIGINT with an RPC that outlasts the grace: the process still exits with code 0 at the deadline', async () => {
    await int.waitForPort(intPort);
    const caller = new ByovaCaller({ target: `127.0.0.1:${intPort}`, deadlineMs: 10_000 });
    try {
      await caller.startSession();
      const speaking = speechTurn(caller, 6000); // far longer than the grace
      await speaking.startOfInput;
      const e = await int.stop('SIGINT');
      expect([e.code, e.signal]).toEqual([0, null]);
      expect(e.afterMs).toBeGreaterThanOrEqual(INT_GRACE_S * 1000 * 0.8 - 100); // the RPC had all but the tail of the grace
      expect(e.afterMs).toBeLessThan(INT_GRACE_S * 1000 + 1500); // the margin: signal delivery and exit on a busy machine
      expect((await speaking.result).status.code).toBe(status.UNAVAILABLE);
    } finally {
      caller.close();
    }
  });
});

/** A bare grpc-js server answering Health/Check SERVING: "another replica" behind the test's load balancer. */
async function otherReplica(): Promise<{ port: number; checks: number; close(): void }> {
  const server = new grpc.Server();
  const replica = { port: 0, checks: 0, close: () => server.forceShutdown() };
  server.addService(healthProto.HealthService as unknown as grpc.ServiceDefinition, {
    check: (_call: unknown, cb: grpc.sendUnaryData<healthProto.HealthCheckResponse>) => {
      replica.checks++;
      cb(null, { status: S.SERVING });
    },
  });
  replica.port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? rej(err) : res(port))),
  );
  return replica;
}

describe('a bounded stop (child process)', () => {
  it('fits in the grace with a bot whose end() never returns: GOAWAY moves clients, the open RPC gets UNAVAILABLE, exit 0 naming what was pending', async () => {
    await bounded.waitForPort(boundedPort);
    const replica = await otherReplica();
    // The first connection goes to the gateway, every later one to the other replica.
    const lb = await routingProxy((i) => (i === 0 ? boundedPort : replica.port));
    const health = new HealthClient(`127.0.0.1:${lb.port}`);
    const caller = new ByovaCaller({ target: `127.0.0.1:${boundedPort}`, agentId: SCRIPTED, deadlineMs: 20_000 });
    try {
      expect(await health.check('')).toEqual({ status: S.SERVING });
      expect(lb.routed).toEqual([boundedPort]);
      expect((await caller.startSession()).status.code).toBe(status.OK);
      const speaking = speechTurn(caller, 10_000); // the caller talks far past the grace
      await speaking.startOfInput;
      let rpcEndedAt = 0;
      void speaking.result.then(() => (rpcEndedAt = Date.now()));

      const t0 = Date.now();
      const exit = bounded.stop('SIGTERM');
      // GOAWAY: the health client's next checks leave the draining gateway for a new connection, which the
      // balancer sends to the other replica. Without it they would stay on the old connection (NOT_SERVING).
      // Bounded well inside the grace: the process cannot exit before ~2 s (checked just below), so a move seen here
      // is GOAWAY's doing, not a reconnect after the exit. A busy machine can take a while to deliver the signal.
      while (lb.routed.length < 2 && Date.now() - t0 < 1500) {
        await health.check('');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(lb.routed).toEqual([boundedPort, replica.port]);
      expect(await health.check('')).toEqual({ status: S.SERVING });
      expect(replica.checks).toBeGreaterThan(0);
      expect(bounded.hasExited).toBe(false); // the caller's RPC is still being served meanwhile

      const r = await speaking.result;
      expect([r.status.code, r.status.details]).toEqual([status.UNAVAILABLE, 'gateway is shutting down']);
      // It had most of the grace (all but a fifth) to finish by itself.
      expect(rpcEndedAt - t0).toBeGreaterThanOrEqual(BOUNDED_GRACE_S * 1000 * 0.8 - 100);

      const e = await exit;
      expect([e.code, e.signal]).toEqual([0, null]);
      // The stop ends at the grace; the margin is signal delivery and process exit on a busy machine.
      expect(e.afterMs).toBeLessThan(BOUNDED_GRACE_S * 1000 + 1500);

      const lines = bounded.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const pending = lines.find((l) => /shutdown grace used up/.test(String(l.msg)));
      expect(pending).toMatchObject({ level: 40, rpcs: 1, conversations: [caller.conversationId], recordings: [] });
      expect(pending?.msg).toMatch(/1 RPC\(s\) cut with UNAVAILABLE, 1 conversation\(s\) still ending/);
      expect(lines).toContainEqual(expect.objectContaining({ conversationIds: [caller.conversationId], msg: expect.stringMatching(/UNAVAILABLE/) }));
      expect(stackLines(bounded.stderr + bounded.stdout)).toEqual([]);
    } finally {
      caller.close();
      health.close();
      replica.close();
      await lb.close();
    }
  });
});
