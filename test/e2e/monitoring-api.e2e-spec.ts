import { readFileSync } from 'node:fs';
import { encodeFromPcm16 } from '@app/audio';
import { EngineEvents } from '@app/engine';
import { MetricsService } from '../../apps/gateway/src/monitoring/metrics/metrics.service';
import { scriptedLog } from '../fixtures/scripted-connector';
import { type OpenApiDoc, registeredRoutes, responseSchema, schemaProblems } from '../support/openapi';
import { eventually, LOCAL_AGENT, localConnector, ok, REPO, scriptedConnector, sleep, speechBurst, startTestGateway, type TestGateway } from './harness';

const mulaw = (pcm: Int16Array) => ({ data: encodeFromPcm16(pcm, 'mulaw'), format: { encoding: 'mulaw' as const, sampleRate: 8000 } });
const SECURE_AGENT = 'Local Audio: Secure';
const SCRIPTED_AGENT = 'Scripted: bot';
const VERSION = (JSON.parse(readFileSync(`${REPO}/package.json`, 'utf8')) as { version: string }).version;
/** Routes of the OpenAPI UI itself (served by @nestjs/swagger), not of the API it documents. */
const DOCS_ROUTE = /^GET \/api\/docs([-/].*)?$/;

describe('monitoring HTTP API (real HTTP against the running gateway)', () => {
  let t: TestGateway;
  let base: string;
  let doc: OpenApiDoc;

  /** GET/POST a route and check the body against the schema the OpenAPI document gives for that route and status. */
  async function call(method: 'GET' | 'POST', path: string, status: number, docPath = path.split('?')[0]) {
    const res = await fetch(base + path, { method });
    // Checked against its documented schema below; `any` lets the assertions read it.
    const body: any = await res.json();
    expect({ path, status: res.status, body }).toMatchObject({ status });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(schemaProblems(doc, responseSchema(doc, method, docPath, status), body)).toEqual([]);
    return body;
  }
  const get = (path: string, status = 200, docPath?: string) => call('GET', path, status, docPath);

  beforeAll(async () => {
    t = await startTestGateway({
      connectors: {
        local: localConnector(),
        secure: localConnector({ input_sensitive: true }, { agent_id: 'Secure' }),
        scripted: {
          ...scriptedConnector({ client_secret: 'hunter2-secret', api_token: 'tok-123', endpoint_url: 'https://bob:pw-secret@bot.example.com/x', degraded: true }),
          timeouts: { turn_ms: 20_000, end_ms: 300 },
        },
      },
      monitoring: { include_payloads: true, history_size: 50 },
    });
    base = `http://${t.gw.httpAddress}`;
    doc = (await (await fetch(`${base}/api/docs-json`)).json()) as OpenApiDoc;
  });
  afterAll(() => t.stop());
  beforeEach(() => scriptedLog.splice(0));

  it('documents every route the application registers in the OpenAPI document (UI at /api/docs)', async () => {
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    const registered = (await registeredRoutes(t.gw)).filter((r) => !DOCS_ROUTE.test(r));
    expect(registered.length).toBeGreaterThanOrEqual(11);
    expect(documented).toEqual(registered);
    const ui = await fetch(`${base}/api/docs`);
    expect([ui.status, ui.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^text\/html/)]);
    expect(await ui.text()).toContain('swagger-ui');
  });

  it('GET /health and GET /ready answer without detail', async () => {
    expect(await get('/health')).toEqual({ status: 'healthy' });
    expect(await get('/ready')).toEqual({ status: 'ready' });
  });

  it('GET /api/status: version, uptime, gRPC state, VAD, connector health, agents, conversations, and the Python fields', async () => {
    const s = await get('/api/status');
    expect(s).toMatchObject({
      status: 'running',
      version: VERSION,
      grpc: { serving: true, address: t.target },
      draining: false,
      vad: { engine: 'energy', configured: 'energy', degraded: false },
      agent_count: 3,
      total_agents: 3,
      total_connectors: 3,
      available_agents: [LOCAL_AGENT, SECURE_AGENT, SCRIPTED_AGENT],
      health: { overall_healthy: false, grpc_status: 'DEGRADED', serving_services: 2, total_services: 2 },
    });
    expect(s.connectors).toEqual([
      { id: 'local', type: 'local_audio', agents: 1, degraded: false },
      { id: 'secure', type: 'local_audio', agents: 1, degraded: false },
      { id: 'scripted', type: 'scripted', agents: 1, degraded: true, health: { degraded: true, source: 'scripted' } },
    ]);
    expect(s.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(s.last_updated)).not.toBeNaN();
  });

  it('GET /api/agents: connector, default flag, reply mode and input defaults', async () => {
    const agents = await get('/api/agents');
    expect(agents.map((a: { id: string }) => a.id)).toEqual([LOCAL_AGENT, SECURE_AGENT, SCRIPTED_AGENT]);
    expect(agents[0]).toMatchObject({ connector: 'local', isDefault: true, replyMode: 'wav', input: { mode: 'voice_dtmf', sensitive: false, dtmf: { length: 1 } } });
    expect(agents[1]).toMatchObject({ connector: 'secure', isDefault: false, input: { sensitive: true } });
  });

  it('GET /api/config: the effective configuration with secrets redacted, and the Python summary', async () => {
    const c = await get('/api/config');
    const text = JSON.stringify(c);
    expect(text).not.toMatch(/hunter2|tok-123|pw-secret/);
    expect(c.config.connectors.scripted.config).toMatchObject({ client_secret: '[redacted]', api_token: '[redacted]', endpoint_url: 'https://[redacted]@bot.example.com/x', degraded: true });
    expect(c.config.monitoring).toMatchObject({ include_payloads: true, history_size: 50 });
    expect(c.gateway).toMatchObject({ version: VERSION, grpc_port: Number(t.target.split(':')[1]) });
    expect(c.connectors).toContainEqual({ name: 'scripted', agents: [SCRIPTED_AGENT] });
  });

  it("a call's timeline fills in RPC by RPC; it moves to the history with its end reason; /api/connections tells it the Python way", async () => {
    const caller = t.caller({ conversationId: 'timeline-1', customerOrgId: 'org-1' });
    ok(await caller.startSession());
    const live = await get('/api/conversations/timeline-1', 200, '/api/conversations/{id}');
    expect(live).toMatchObject({ id: 'timeline-1', agentId: LOCAL_AGENT, customerOrgId: 'org-1', state: 'active', welcomeSent: true, turns: 1 });
    expect(live.rpcs).toEqual([
      expect.objectContaining({ seq: 1, status: 'OK', input: { kind: 'session_start' }, replies: [expect.objectContaining({ latencyMs: expect.any(Number), prompts: [expect.objectContaining({ text: expect.stringContaining('welcome') })] })] }),
    ]);

    ok(await caller.sendAudio(mulaw(speechBurst(600, 0)), { pace: false, trailingSilenceMs: 1500 }));
    ok(await caller.sendDtmf('1'));
    ok(await caller.sendEvent('CUSTOM_EVENT', 'flow_step', { step: 'two' }));
    const d = await get('/api/conversations/timeline-1', 200, '/api/conversations/{id}');
    const [, speech, startOfDtmf, dtmf, event] = d.rpcs;
    expect(speech).toMatchObject({ input: { kind: 'audio', encoding: 'mulaw', sampleRateHz: 8000 }, utteranceMs: expect.any(Number), status: 'OK' });
    expect(speech.speechEndedAt).toBeGreaterThanOrEqual(speech.speechStartedAt);
    expect(speech.replies[0]).toMatchObject({ latencyMs: expect.any(Number), input: { mode: 'voice_dtmf' }, apology: false });
    expect(startOfDtmf.input).toEqual({ kind: 'start_of_dtmf' });
    expect(dtmf.input).toEqual({ kind: 'dtmf', digitCount: 1, digits: '1' }); // include_payloads: true
    expect(event.input).toEqual({ kind: 'event', name: 'flow_step', parameters: { step: 'two' } });

    ok(await caller.sendDtmf('6')); // the local agent says goodbye and ends the call
    const ended = await get('/api/conversations/history?agent=' + encodeURIComponent(LOCAL_AGENT), 200, '/api/conversations/history');
    expect(ended.items[0]).toMatchObject({ id: 'timeline-1', state: 'ended', endReason: 'agent_ended', durationMs: expect.any(Number) });
    const after = await get('/api/conversations/timeline-1', 200, '/api/conversations/{id}');
    expect(after.rpcs.at(-1).replies[0].events).toEqual([{ type: 'SESSION_END', name: 'session_ended' }]);

    const conn = await get('/api/connections');
    const mine = conn.connection_events.filter((e: { conversation_id: string }) => e.conversation_id === 'timeline-1');
    expect(mine.map((e: { event_type: string }) => e.event_type)).toEqual(['start', 'message', 'message', 'message', 'message', 'message', 'message', 'message', 'terminal', 'end']);
    expect(mine.filter((e: { event_type: string }) => e.event_type === 'terminal')).toEqual([
      { event_type: 'terminal', conversation_id: 'timeline-1', agent_id: LOCAL_AGENT, timestamp: expect.any(Number), outcome: 'SESSION_END', name: 'session_ended' },
    ]);
    expect(conn.history).toContainEqual({ conversation_id: 'timeline-1', agent_id: LOCAL_AGENT, customer_org_id: 'org-1', rpc_sessions: [], welcome_sent: true, status: 'Ended', end_reason: 'agent_ended' });
  });

  it('never shows DTMF digits or event parameters of inputs marked sensitive, even with include_payloads', async () => {
    const caller = t.caller({ conversationId: 'secure-1', agentId: SECURE_AGENT });
    ok(await caller.startSession());
    ok(await caller.sendDtmf('4'));
    ok(await caller.sendEvent('CUSTOM_EVENT', 'card', { pan: '4111111111111111' }));
    const d = await get('/api/conversations/secure-1', 200, '/api/conversations/{id}');
    expect(d.rpcs.map((r: { input: unknown }) => r.input)).toEqual([
      { kind: 'session_start' },
      { kind: 'start_of_dtmf' },
      { kind: 'dtmf', digitCount: 1 },
      { kind: 'event', name: 'card' },
    ]);
    expect(JSON.stringify(d)).not.toContain('4111');
    ok(await caller.endSession());
  });

  it('GET /api/conversations: active calls, paged and filtered by agent; bad query values are 400', async () => {
    const callers = ['p1', 'p2', 'p3'].map((id) => t.caller({ conversationId: `page-${id}` }));
    for (const c of callers) ok(await c.startSession());
    const s = t.caller({ conversationId: 'page-secure', agentId: SECURE_AGENT });
    ok(await s.startSession());

    const all = await get('/api/conversations');
    expect(all).toMatchObject({ total: 4, offset: 0, limit: 50 });
    expect(all.items.map((c: { id: string }) => c.id)).toEqual(['page-p1', 'page-p2', 'page-p3', 'page-secure']);
    expect(all.items[0]).toMatchObject({ state: 'active', turns: 1, welcomeSent: true, agentId: LOCAL_AGENT });
    expect((await get('/api/conversations?offset=1&limit=2', 200, '/api/conversations')).items.map((c: { id: string }) => c.id)).toEqual(['page-p2', 'page-p3']);
    expect(await get(`/api/conversations?agent=${encodeURIComponent(SECURE_AGENT)}`, 200, '/api/conversations')).toMatchObject({ total: 1, items: [{ id: 'page-secure' }] });

    for (const bad of ['limit=0', 'limit=501', 'limit=abc', 'offset=-1', 'offset=1.5', 'agent=', 'unknown=1']) {
      const body = await get(`/api/conversations?${bad}`, 400, '/api/conversations');
      expect(Object.keys(body).sort()).toEqual(['message', 'statusCode']);
      expect(body.message).toMatch(/limit|offset|agent|unknown/);
    }
    const hist = await get('/api/conversations/history?limit=x', 400, '/api/conversations/history');
    expect(hist.statusCode).toBe(400);

    for (const c of [...callers, s]) ok(await c.endSession());
    expect((await get('/api/conversations')).total).toBe(0);
    expect((await get('/api/conversations/history?limit=4', 200, '/api/conversations/history')).items.map((c: { id: string; endReason: string }) => [c.id, c.endReason])).toEqual([
      ['page-secure', 'caller_hangup'],
      ['page-p3', 'caller_hangup'],
      ['page-p2', 'caller_hangup'],
      ['page-p1', 'caller_hangup'],
    ]);
  });

  it('unknown conversations and routes are 404 as { statusCode, message } without internals', async () => {
    const odd = '<img src=x onerror=alert(1)>';
    const body = await get(`/api/conversations/${encodeURIComponent(odd)}`, 404, '/api/conversations/{id}');
    expect(body).toEqual({ statusCode: 404, message: `no conversation "${odd}"` });
    expect(await call('POST', '/api/conversations/nobody/end', 404, '/api/conversations/{id}/end')).toEqual({ statusCode: 404, message: 'no active conversation "nobody"' });
    const res = await fetch(`${base}/api/nothing-here`);
    expect([res.status, await res.json()]).toEqual([404, { statusCode: 404, message: 'Cannot GET /api/nothing-here' }]);
  });

  it('POST /api/conversations/:id/end ends a stuck call: its RPC completes, the connector is told admin_ended', async () => {
    const caller = t.caller({ conversationId: 'stuck-1', agentId: SCRIPTED_AGENT });
    ok(await caller.startSession());
    const stuck = caller.sendDtmf('C'); // the scripted agent never answers C
    await eventually(() => scriptedLog.some((c) => c.op === 'input'));
    expect((await get('/api/conversations/stuck-1', 200, '/api/conversations/{id}')).currentRpc).toMatchObject({ input: 'dtmf' });

    expect(await call('POST', '/api/conversations/stuck-1/end', 200, '/api/conversations/{id}/end')).toEqual({ id: 'stuck-1', reason: 'admin_ended', ended: true });
    ok(await stuck); // completed quietly, well before the 20 s turn deadline
    expect(scriptedLog.filter((c) => c.op === 'end').map((c) => [c.conversationId, c.reason])).toEqual([['stuck-1', 'admin_ended']]);
    expect(await get('/api/conversations/stuck-1', 200, '/api/conversations/{id}')).toMatchObject({ state: 'ended', endReason: 'admin_ended' });
    await call('POST', '/api/conversations/stuck-1/end', 404, '/api/conversations/{id}/end');
  });

  it('GET /metrics: Prometheus text with RPCs, conversations, latencies, connector calls, VAD and process metrics; no ids in labels', async () => {
    const caller = t.caller({ conversationId: 'metrics-conv-1', agentId: SCRIPTED_AGENT });
    ok(await caller.startSession());
    ok(await caller.sendDtmf('1')); // the scripted agent throws: an apology, a connector error
    ok(await caller.sendDtmf('3')); // ends the call
    await t.caller().listAgents();
    const res = await fetch(`${base}/metrics`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^text\/plain; version=0\.0\.4/)]);
    const text = await res.text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('byova_rpcs_total{method="ProcessCallerInput",code="OK"}')).toBeGreaterThan(0);
    expect(value('byova_rpcs_total{method="ListVirtualAgents",code="OK"}')).toBeGreaterThanOrEqual(1);
    expect(value('byova_active_conversations')).toBe(0);
    expect(value('byova_active_rpcs')).toBe(0);
    expect(value('byova_conversations_ended_total{reason="agent_ended"}')).toBeGreaterThanOrEqual(2);
    expect(value('byova_conversations_ended_total{reason="admin_ended"}')).toBe(1);
    expect(value('byova_conversations_started_total')).toBeGreaterThanOrEqual(7);
    expect(value('byova_welcome_latency_seconds_count')).toBeGreaterThanOrEqual(7);
    expect(value('byova_first_reply_latency_seconds_count')).toBeGreaterThan(0);
    expect(value('byova_connector_call_duration_seconds_count{connector="scripted",op="dtmf"}')).toBeGreaterThanOrEqual(2);
    expect(value('byova_connector_call_errors_total{connector="scripted",op="dtmf",kind="error"}')).toBe(1);
    expect(value('byova_connector_degraded{connector="scripted"}')).toBe(1);
    expect(value('byova_vad_info{engine="energy"}')).toBe(1);
    expect(value('byova_vad_degraded')).toBe(0);
    expect(value('byova_grpc_serving')).toBe(1);
    expect(value('byova_draining')).toBe(0);
    expect(value('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).not.toMatch(/metrics-conv-1|timeline-1|stuck-1|page-p1/);
  });
});

describe('monitoring: readiness and the engine seam', () => {
  it('GET /ready is 503 while draining, and /api/status says so', async () => {
    const t = await startTestGateway();
    try {
      const base = `http://${t.gw.httpAddress}`;
      const caller = t.caller({ conversationId: 'draining-1' });
      ok(await caller.startSession());
      const turn = caller.openTurn('held'); // an RPC in flight keeps the drain (and the HTTP server) open
      turn.write(caller.request({ audioInput: { callerAudio: new Uint8Array(160).fill(0xff), encoding: 2, sampleRateHertz: 8000, audioTimestamp: undefined, languageCode: '', isSingleUtterance: false } }));
      // Wait until the server runs the RPC (the call log shows it), else the drain has nothing to wait for.
      for (let i = 0; ; i++) {
        const c: any = await (await fetch(`${base}/api/conversations/draining-1`)).json();
        if (c.currentRpc?.input === 'audio') break;
        if (i > 200) throw new Error('the held RPC never started');
        await sleep(10);
      }
      const stopping = t.gw.shutdown(3000);
      const res = await fetch(`${base}/ready`);
      expect([res.status, await res.json()]).toEqual([503, { statusCode: 503, message: 'not ready' }]);
      const s: any = await (await fetch(`${base}/api/status`)).json();
      expect(s).toMatchObject({ draining: true, grpc: { serving: false }, health: { grpc_status: 'NOT_SERVING' } });
      // The drain's end cuts the held RPC with UNAVAILABLE: counted so, not as the client's cancel.
      await stopping;
      const metrics = await t.gw.app.get(MetricsService).text();
      expect(metrics.body).toContain('byova_rpcs_total{method="ProcessCallerInput",code="UNAVAILABLE"} 1');
      expect(metrics.body).not.toContain('code="CANCELLED"');
    } finally {
      await t.stop();
    }
  });

  it('GET /ready is 503 with no agent; /health stays 200', async () => {
    const t = await startTestGateway({ connectors: {} });
    try {
      const base = `http://${t.gw.httpAddress}`;
      expect((await fetch(`${base}/ready`)).status).toBe(503);
      expect((await fetch(`${base}/health`)).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it('a /metrics read takes in the engine events not yet delivered (they are delivered in batches)', async () => {
    const t = await startTestGateway();
    try {
      const at = Date.now();
      const events = t.gw.app.get(EngineEvents);
      events.emit({ type: 'conversation_started', at, conversationId: 'pending-1', agentId: LOCAL_AGENT, connectorId: 'local', customerOrgId: '', resumed: false });
      events.emit({ type: 'conversation_ended', at, conversationId: 'pending-1', agentId: LOCAL_AGENT, connectorId: 'local', reason: 'admin_ended', durationMs: 0 });
      // Read in the same turn as the emits: nothing has been delivered yet unless the read flushes.
      const metrics = t.gw.app.get(MetricsService).text();
      expect((await metrics).body).toContain('byova_conversations_ended_total{reason="admin_ended"} 1');
    } finally {
      await t.stop();
    }
  });

  it('with monitoring disabled nothing observes the engine (its events cost nothing)', async () => {
    const off = await startTestGateway({ monitoring: { enabled: false } });
    const on = await startTestGateway();
    try {
      expect(off.gw.app.get(EngineEvents).listening).toBe(false);
      expect(on.gw.app.get(EngineEvents).listening).toBe(true);
    } finally {
      await off.stop();
      await on.stop();
    }
  });
});
