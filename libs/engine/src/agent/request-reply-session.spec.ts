import type { AgentOutput, AgentReply, AgentSessionContext, CallerInput, ConnectorCallContext, EndReason, RequestReplyConnector } from '@app/connector-sdk';
import { createLogger } from '@app/config';
import { RequestReplySession } from './request-reply-session';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A connector whose every call waits until the test answers it. */
class HeldConnector implements RequestReplyConnector {
  readonly calls: Array<{ op: string; ctx: ConnectorCallContext; arg: unknown; answer: ReturnType<typeof deferred<unknown>> }> = [];
  listAgents() {
    return [{ id: 'a' }];
  }
  start(ctx: ConnectorCallContext, info: { resumed: boolean }) {
    return this.hold('start', ctx, info) as Promise<AgentReply>;
  }
  handleInput(ctx: ConnectorCallContext, input: CallerInput) {
    return this.hold('input', ctx, input) as Promise<AgentReply | null>;
  }
  end(ctx: ConnectorCallContext, reason: EndReason) {
    return this.hold('end', ctx, reason) as Promise<void>;
  }
  private hold(op: string, ctx: ConnectorCallContext, arg: unknown) {
    const answer = deferred<unknown>();
    this.calls.push({ op, ctx, arg, answer });
    return answer.promise;
  }
}

describe('RequestReplySession', () => {
  let connector: HeldConnector;
  let emitted: AgentOutput[];
  let session: RequestReplySession;
  const reply: AgentReply = { prompts: [{ text: 'hello' }] };

  beforeEach(() => {
    connector = new HeldConnector();
    emitted = [];
    const ctx: AgentSessionContext = {
      conversationId: 'c1',
      agentId: 'a',
      customerOrgId: 'org',
      logger: createLogger('silent'),
      emit: (o) => emitted.push(o),
      state: undefined,
    };
    session = new RequestReplySession(connector, ctx);
  });

  it('gives the connector each call\'s own signal and the conversation\'s identity (start, input, end)', async () => {
    const signals = [new AbortController(), new AbortController(), new AbortController()].map((c) => c.signal);
    void session.start({ resumed: true }, signals[0]);
    void session.input({ kind: 'dtmf', digits: '12' }, signals[1]);
    void session.end('caller_hangup', signals[2]);
    expect(connector.calls.map((c) => [c.op, c.arg])).toEqual([
      ['start', { resumed: true }],
      ['input', { kind: 'dtmf', digits: '12' }],
      ['end', 'caller_hangup'],
    ]);
    connector.calls.forEach((c, i) => {
      expect(c.ctx.signal).toBe(signals[i]);
      expect(c.ctx).toMatchObject({ conversationId: 'c1', agentId: 'a', customerOrgId: 'org' });
    });
  });

  it('emits the welcome and each answer whole, once the connector replied', async () => {
    const started = session.start({ resumed: false }, new AbortController().signal);
    expect(emitted).toEqual([]);
    connector.calls[0].answer.resolve(reply);
    await started;
    const answered = session.input({ kind: 'no_input' }, new AbortController().signal);
    connector.calls[1].answer.resolve({ prompts: [], event: { name: 'e' } });
    await answered;
    expect(emitted).toEqual([{ type: 'reply', reply }, { type: 'reply', reply: { prompts: [], event: { name: 'e' } } }]);
  });

  it('a null answer still ends the turn (reply_end with nothing to say)', async () => {
    const answered = session.input({ kind: 'no_input' }, new AbortController().signal);
    connector.calls[0].answer.resolve(null);
    await answered;
    expect(emitted).toEqual([{ type: 'reply_end' }]);
  });

  it.each(['start', 'input'])('drops a %s reply that arrives after its call was aborted (deadline, hang-up)', async (op) => {
    const c = new AbortController();
    const call = op === 'start' ? session.start({ resumed: false }, c.signal) : session.input({ kind: 'no_input' }, c.signal);
    c.abort('deadline');
    connector.calls[0].answer.resolve(reply);
    await call;
    expect(emitted).toEqual([]);
  });

  it('passes a connector failure on to the engine, emitting nothing', async () => {
    const call = session.input({ kind: 'no_input' }, new AbortController().signal);
    connector.calls[0].answer.reject(new Error('backend down'));
    await expect(call).rejects.toThrow('backend down');
    expect(emitted).toEqual([]);
  });
});
