import { MonitoringSection } from '@app/config';
import { type EngineEvent, EngineEvents, type InputSettings } from '@app/engine';
import { CallLogService, MAX_CONNECTION_EVENTS, MAX_TIMELINE_RPCS } from './call-log.service';
import type { CallLogChange } from './call-log.types';

const INPUT: InputSettings = {
  mode: 'voice_dtmf',
  dtmf: { length: 1, interDigitTimeoutMs: 300, terminator: '#' },
  speech: { completeTimeoutMs: 5000, incompleteTimeoutMs: 0, maxSpeechMs: 30000, noInputTimeoutMs: 0 },
  bargeIn: true,
  sensitive: false,
};

function setup(cfg: Partial<MonitoringSection> = {}) {
  const events = new EngineEvents();
  const log = new CallLogService(events, Object.assign(new MonitoringSection(), cfg));
  log.onModuleInit();
  const emit = (e: EngineEvent) => events.emit(e);
  const start = (id: string, at = 1000, agentId = 'agent-a') =>
    emit({ type: 'conversation_started', at, conversationId: id, agentId, connectorId: 'c', customerOrgId: 'org', resumed: false });
  const end = (id: string, at = 2000, reason: 'caller_hangup' | 'admin_ended' = 'caller_hangup') =>
    emit({ type: 'conversation_ended', at, conversationId: id, agentId: 'agent-a', connectorId: 'c', reason, durationMs: at - 1000 });
  const rpc = (id: string, n: number, at = 1100) => emit({ type: 'rpc_started', at, conversationId: id, rpc: n, method: 'ProcessCallerInput' });
  const reply = (id: string, n: number, at: number, latencyMs?: number, welcome = false, events: Array<{ type: string; name: string }> = []) =>
    emit({ type: 'reply', at, conversationId: id, rpc: n, welcome, latencyMs, reply: { prompts: [{ text: 'hi', durationMs: 500, bargeIn: true }], events, input: INPUT, apology: false } });
  return { events, log, emit, start, end, rpc, reply };
}

describe('CallLogService', () => {
  it('builds a call timeline from engine events and moves the call to the history when it ends', () => {
    const { log, emit, start, end, rpc, reply } = setup();
    start('c1');
    rpc('c1', 1, 1001);
    emit({ type: 'rpc_input', at: 1001, conversationId: 'c1', rpc: 1, input: { kind: 'session_start' } });
    reply('c1', 1, 1010, 9, true);
    emit({ type: 'rpc_ended', at: 1011, conversationId: 'c1', rpc: 1, method: 'ProcessCallerInput', status: 'OK', durationMs: 10, started: true });
    rpc('c1', 2, 1100);
    emit({ type: 'rpc_input', at: 1100, conversationId: 'c1', rpc: 2, input: { kind: 'audio', encoding: 'mulaw', sampleRateHz: 8000 } });
    emit({ type: 'speech_started', at: 1200, conversationId: 'c1', rpc: 2 });
    emit({ type: 'speech_ended', at: 1900, conversationId: 'c1', rpc: 2, utteranceMs: 700 });

    const active = log.active();
    expect(active).toMatchObject({ total: 1, items: [{ id: 'c1', turns: 2, state: 'active', welcomeSent: true, currentRpc: { seq: 2, input: 'audio' } }] });
    const detail = log.get('c1')!;
    expect(detail.rpcs).toMatchObject([
      { seq: 1, input: { kind: 'session_start' }, status: 'OK', replies: [{ latencyMs: 9, prompts: [{ text: 'hi', durationMs: 500 }] }] },
      { seq: 2, speechStartedAt: 1200, speechEndedAt: 1900, utteranceMs: 700, replies: [] },
    ]);
    // A copy: changing it changes nothing in the log.
    detail.rpcs.length = 0;
    expect(log.get('c1')!.rpcs).toHaveLength(2);

    end('c1', 2500);
    expect(log.active().total).toBe(0);
    expect(log.history().items).toMatchObject([{ id: 'c1', state: 'ended', endReason: 'caller_hangup', durationMs: 1500, endedAt: 2500 }]);
    expect(log.get('c1')).toMatchObject({ state: 'ended', rpcs: [{ seq: 1 }, { seq: 2 }] });
    expect(log.counts()).toEqual({ active: 0, total: 1, history: 1 });
  });

  it('keeps an ended RPC as text, and still records an event that comes after its end', () => {
    const { log, emit, start, end, rpc, reply } = setup();
    start('c1');
    rpc('c1', 1, 1001);
    reply('c1', 1, 1010, 9, true);
    emit({ type: 'rpc_ended', at: 1011, conversationId: 'c1', rpc: 1, method: 'ProcessCallerInput', status: 'OK', durationMs: 10, started: true });
    rpc('c1', 2, 1100);
    emit({ type: 'speech_ended', at: 1150, conversationId: 'c1', rpc: 1, utteranceMs: 40 });
    const expected = [
      { seq: 1, status: 'OK', endedAt: 1011, utteranceMs: 40, replies: [{ latencyMs: 9, input: { mode: 'voice_dtmf', dtmf: { terminator: '#' } } }] },
      { seq: 2, startedAt: 1100, replies: [] },
    ];
    expect(log.get('c1')!.rpcs).toMatchObject(expected);
    emit({ type: 'rpc_ended', at: 1200, conversationId: 'c1', rpc: 2, method: 'ProcessCallerInput', status: 'CANCELLED', durationMs: 100, started: true });
    end('c1', 1300);
    const ended = log.get('c1')!;
    expect(ended).toMatchObject({ id: 'c1', state: 'ended', turns: 2, droppedRpcs: 0, rpcs: [expected[0], { seq: 2, status: 'CANCELLED' }] });
    expect(ended.rpcs).toHaveLength(2);
    // A fresh copy per read.
    ended.rpcs[0].status = 'changed';
    expect(log.get('c1')!.rpcs[0].status).toBe('OK');
  });

  it('keeps at most history_size ended calls, newest first', () => {
    const { log, start, end } = setup({ history_size: 3 });
    for (let i = 1; i <= 5; i++) {
      start(`c${i}`);
      end(`c${i}`);
    }
    expect(log.history().items.map((c) => c.id)).toEqual(['c5', 'c4', 'c3']);
    expect(log.get('c1')).toBeUndefined();
    expect(log.counts()).toEqual({ active: 0, total: 5, history: 3 });
  });

  it('bounds a call timeline to MAX_TIMELINE_RPCS and counts the RPCs it dropped', () => {
    const { log, start, rpc } = setup();
    start('loop');
    for (let i = 1; i <= MAX_TIMELINE_RPCS + 25; i++) rpc('loop', i);
    const d = log.get('loop')!;
    expect([d.rpcs.length, d.droppedRpcs, d.turns]).toEqual([MAX_TIMELINE_RPCS, 25, MAX_TIMELINE_RPCS + 25]);
  });

  it('pages and filters by agent', () => {
    const { log, start } = setup();
    for (let i = 0; i < 7; i++) start(`c${i}`, 1000 + i, i % 2 === 0 ? 'even' : 'odd');
    expect(log.active({ agentId: 'even' })).toMatchObject({ total: 4, items: [{ id: 'c0' }, { id: 'c2' }, { id: 'c4' }, { id: 'c6' }] });
    expect(log.active({ offset: 2, limit: 3 })).toMatchObject({ total: 7, offset: 2, limit: 3, items: [{ id: 'c2' }, { id: 'c3' }, { id: 'c4' }] });
    expect(log.active({ offset: 10 })).toMatchObject({ total: 7, items: [] });
  });

  it('counts calls per minute and the end-of-input → first reply percentiles of the last hour', () => {
    const { log, start, end, rpc, reply } = setup();
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    start('a', t0 + 1000);
    rpc('a', 1, t0 + 1000);
    reply('a', 1, t0 + 1100, 5000, true); // the welcome: not in the turn latency
    for (let i = 1; i <= 100; i++) reply('a', 1, t0 + 2000 + i, i * 10);
    start('b', t0 + 61_000);
    end('a', t0 + 62_000);
    start('old', t0 - 3_600_000);

    const hour = log.lastHour(t0 + 90_000);
    expect(hour).toHaveLength(60);
    expect(hour[59]).toEqual({ minute: t0 + 60_000, started: 1, ended: 1, replies: 0 });
    expect(hour[58]).toEqual({ minute: t0, started: 1, ended: 0, replies: 100, firstReplyP50Ms: 500, firstReplyP95Ms: 950 });
    expect(hour.reduce((n, m) => n + m.started, 0)).toBe(2); // the call an hour earlier is outside
  });

  it('streams started, updated and ended changes', () => {
    const { events, log, start, end, rpc } = setup();
    const seen: CallLogChange[] = [];
    const sub = log.changes.subscribe((c) => seen.push(c));
    start('c1');
    rpc('c1', 1);
    end('c1');
    // The engine's events reach the log in batches (DELIVERY_INTERVAL_MS), or when it is read.
    expect(seen).toEqual([]);
    events.flush();
    sub.unsubscribe();
    expect(seen.map((c) => [c.kind, c.conversation.id, c.conversation.state])).toEqual([
      ['started', 'c1', 'active'],
      ['updated', 'c1', 'active'],
      ['ended', 'c1', 'ended'],
    ]);
  });

  it('sums the changes up for the dashboard, one summary a period at most, and only while observed', async () => {
    const { events, log, start, end, rpc } = setup();
    const seen: unknown[] = [];
    const sub = log.changeSummaries(30).subscribe((c) => seen.push(c));
    start('c1');
    rpc('c1', 1);
    start('c2');
    end('c1');
    events.flush();
    expect(seen).toEqual([]); // not per change: at the end of the period
    await new Promise((r) => setTimeout(r, 60));
    expect(seen).toEqual([{ started: 2, updated: 1, ended: 1, ids: ['c1', 'c2'], more: false }]);
    await new Promise((r) => setTimeout(r, 60));
    expect(seen).toHaveLength(1); // nothing changed: nothing sent
    sub.unsubscribe();
    expect(log.watched).toBe(false);
  });

  it('ends the summaries when the log closes, with nothing pending sent late', async () => {
    const { events, log, start } = setup();
    const seen: unknown[] = [];
    let completed = false;
    log.changeSummaries(30).subscribe({ next: (c) => seen.push(c), complete: () => (completed = true) });
    expect(log.watched).toBe(true);
    start('c1');
    events.flush();
    log.onModuleDestroy();
    expect(completed).toBe(true);
    expect(log.watched).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(seen).toEqual([]);
  });

  it("keeps the Python gateway's connection events: start, one message per RPC, terminal, end; bounded", () => {
    const { log, start, end, rpc, reply } = setup();
    start('c1', 1000);
    rpc('c1', 1, 1500);
    reply('c1', 1, 1600, 10, false, [{ type: 'TRANSFER_TO_AGENT', name: 'transfer_requested' }]);
    end('c1', 2000);
    expect(log.connectionEvents()).toEqual([
      { event_type: 'start', conversation_id: 'c1', agent_id: 'agent-a', timestamp: 1 },
      { event_type: 'message', conversation_id: 'c1', agent_id: 'agent-a', timestamp: 1.5 },
      { event_type: 'terminal', conversation_id: 'c1', agent_id: 'agent-a', timestamp: 1.6, outcome: 'TRANSFER_TO_AGENT', name: 'transfer_requested' },
      { event_type: 'end', conversation_id: 'c1', agent_id: 'agent-a', timestamp: 2, reason: 'caller_hangup' },
    ]);
    start('busy');
    for (let i = 1; i <= MAX_CONNECTION_EVENTS; i++) rpc('busy', i);
    expect(log.connectionEvents()).toHaveLength(MAX_CONNECTION_EVENTS);
  });

  it('asks the engine for payloads only when include_payloads is set, and stops listening when destroyed', () => {
    const off = setup();
    expect([off.events.capturePayloads, off.events.listening]).toEqual([false, true]);
    off.log.onModuleDestroy();
    expect(off.events.listening).toBe(false);
    expect(setup({ include_payloads: true }).events.capturePayloads).toBe(true);
  });
});
