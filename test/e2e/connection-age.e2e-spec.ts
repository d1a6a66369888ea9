import { connect as h2connect, constants as h2 } from 'node:http2';
import { OutputEvent_EventType as EV } from '@app/proto';
import { routingProxy, type RoutingProxy } from '../support/routing-proxy';
import { speechTurn } from '../support/speech-turn';
import { localConnector, ok, startTestGateway, type TestGateway } from './harness';

// gateway.max_connection_age_seconds: WxCC keeps its HTTP/2 connections open for as long as it can, so without an
// age limit a replica added later would get no calls. Short ages here; grpc-js adds up to 10% jitter.
const AGE_S = 1;
const gatewayConfig = {
  gateway: { max_connection_age_seconds: AGE_S, max_connection_age_grace_seconds: 5 },
  voice_activity_detection: { end_silence_ms: 300 },
  connectors: { local: localConnector() },
};

let a: TestGateway;
let b: TestGateway;
let proxy: RoutingProxy;
beforeAll(async () => {
  [a, b] = await Promise.all([startTestGateway(gatewayConfig), startTestGateway(gatewayConfig)]);
  const ports = [a, b].map((g) => Number(g.target.split(':')[1]));
  // Like kube-proxy: each new connection pinned to a backend, here the first to A and the rest to B.
  proxy = await routingProxy((i) => ports[Math.min(i, 1)]);
});
afterAll(async () => {
  await proxy?.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

it('sends GOAWAY (NO_ERROR) once a connection is older than max_connection_age_seconds', async () => {
  const session = h2connect(`http://${a.target}`);
  try {
    const opened = Date.now();
    const goaway = await new Promise<{ code: number; afterMs: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no GOAWAY within 3 s')), 3000);
      session.on('goaway', (code) => {
        clearTimeout(timer);
        resolve({ code, afterMs: Date.now() - opened });
      });
      session.on('error', reject);
    });
    expect(goaway.code).toBe(h2.NGHTTP2_NO_ERROR);
    expect(goaway.afterMs).toBeGreaterThanOrEqual(AGE_S * 900 - 50);
  } finally {
    session.destroy();
  }
});

it('lets the turn in progress on an aged connection finish, then the client reconnects (to another replica)', async () => {
  const caller = a.caller({ target: `127.0.0.1:${proxy.port}` });
  const connected = Date.now();
  ok(await caller.startSession());
  expect(proxy.routed).toHaveLength(1);
  // About 2 s of caller audio: the connection reaches its age in the middle of it.
  const turn = speechTurn(caller, 1500);
  await turn.startOfInput;
  const result = ok(await turn.result);
  expect(Date.now() - connected).toBeGreaterThan(AGE_S * 1100); // the turn outlived the connection's age
  expect(result.responses.flatMap((r) => r.outputEvents.map((e) => e.eventType))).toContain(EV.END_OF_INPUT);
  // Its connection was told to go away during the turn: the next call opens a new one, which the proxy sends to B.
  const agents = await caller.listAgents();
  expect(agents.virtualAgents.length).toBeGreaterThan(0);
  expect(proxy.routed).toEqual([proxy.routed[0], Number(b.target.split(':')[1])]);
});

describe('with keepalive pings due during the grace', () => {
  // grpc-js pings every connection each keepalive.time_ms; Node refuses a ping on a connection that is closing
  // (GOAWAY sent) and grpc-js took that as a dead peer, destroying the connection with its RPCs mid-grace.
  let c: TestGateway;
  beforeAll(async () => {
    c = await startTestGateway({
      ...gatewayConfig,
      gateway: { ...gatewayConfig.gateway, max_connection_age_grace_seconds: 8, keepalive: { time_ms: 1000, timeout_ms: 1000 } },
    });
  });
  afterAll(() => c?.stop());

  it('lets a turn longer than several keepalive intervals finish on an aged connection', async () => {
    const caller = c.caller();
    const connected = Date.now();
    ok(await caller.startSession());
    // About 3.3 s of caller audio: GOAWAY at about 1 s, then two or three pings fall due before the turn ends.
    const turn = speechTurn(caller, 3000);
    await turn.startOfInput;
    const result = ok(await turn.result);
    expect(Date.now() - connected).toBeGreaterThan(3000);
    expect(result.responses.flatMap((r) => r.outputEvents.map((e) => e.eventType))).toContain(EV.END_OF_INPUT);
  });
});
