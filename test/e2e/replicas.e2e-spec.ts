import { status } from '@grpc/grpc-js';
import { InMemoryConversationStateStore, LEASE_MS } from '@app/engine';
import { scriptedLog } from '../fixtures/scripted-connector';
import { ok, scriptedConnector, startTestGateway, type TestGateway } from './harness';

const AGENT = 'Scripted: bot';

/** Two gateway replicas sharing one conversation state store, as they would share a networked one. */
describe('conversation state shared between gateway replicas', () => {
  let now = Date.now();
  const store = new InMemoryConversationStateStore({ now: () => now });
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    const connectors = { scripted: scriptedConnector({}, { speech: { no_input_timeout_ms: 0 } }) };
    a = await startTestGateway({ connectors }, { stateStore: store });
    b = await startTestGateway({ connectors }, { stateStore: store });
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
  });
  beforeEach(() => scriptedLog.splice(0));

  it('refuses a call another live replica owns, and picks it up through the resumed path once its lease lapses', async () => {
    const onA = a.caller({ agentId: AGENT });
    ok(await onA.startSession());
    // The agent asks for sensitive DTMF next: that is conversation state, not runtime.
    const asked = ok(await onA.sendDtmf('55')).responses[0];
    expect(asked.inputSensitive).toBe(true);

    const onB = b.caller({ agentId: AGENT, conversationId: onA.conversationId });
    const refused = await onB.sendDtmf('55');
    expect(refused.status.code).toBe(status.UNAVAILABLE);
    expect(refused.status.details).toMatch(/handled by another gateway instance/);

    // Replica A stops renewing (as if it died): its lease lapses.
    now += LEASE_MS + 1;
    const answered = ok(await onB.sendDtmf('8')); // the scripted agent has nothing to say to 8
    // What A's last answer asked for is still what B asks for: the state moved, not just the id.
    expect(answered.responses.at(-1)!.inputSensitive).toBe(true);
    const starts = scriptedLog.filter((c) => c.op === 'start');
    expect(starts.map((c) => c.resumed)).toEqual([false, true]); // B restarted the agent silently
    expect(b.gw.engine.conversationCount).toBe(1);

    ok(await onB.endSession());
    expect(await store.wasEnded(onA.conversationId)).toBe(true);
    expect(b.gw.engine.conversationCount).toBe(0);
  });

  it('a call ended on one replica starts nothing on another', async () => {
    const onA = a.caller({ agentId: AGENT });
    ok(await onA.startSession());
    ok(await onA.endSession());
    const late = b.caller({ agentId: AGENT, conversationId: onA.conversationId });
    const r = ok(await late.sendDtmf('55'));
    expect(r.responses).toEqual([]);
    expect(scriptedLog.filter((c) => c.op === 'start')).toHaveLength(1);
    expect(b.gw.engine.conversationCount).toBe(0);
  });
});
