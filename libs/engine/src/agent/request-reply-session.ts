import type {
  AgentSession,
  AgentSessionContext,
  CallerInput,
  ConnectorCallContext,
  EndReason,
  RequestReplyConnector,
} from '@app/connector-sdk';

/**
 * Today's request/reply contract as a session: each call's reply is emitted whole, once the connector answers.
 * A reply that arrives after its call was abandoned (deadline, hang-up) is dropped, never sent to a later turn.
 */
export class RequestReplySession implements AgentSession {
  constructor(private readonly connector: RequestReplyConnector, private readonly ctx: AgentSessionContext) {}

  private callContext(signal: AbortSignal): ConnectorCallContext {
    const c = this.ctx;
    return { conversationId: c.conversationId, agentId: c.agentId, customerOrgId: c.customerOrgId, signal, logger: c.logger };
  }

  async start(info: { resumed: boolean }, signal: AbortSignal): Promise<void> {
    const reply = await this.connector.start(this.callContext(signal), info);
    if (!signal.aborted) this.ctx.emit({ type: 'reply', reply });
  }

  async input(input: CallerInput, signal: AbortSignal): Promise<void> {
    const reply = await this.connector.handleInput(this.callContext(signal), input);
    if (signal.aborted) return;
    // null: the agent has nothing to say; the turn still ends (with what to collect next).
    this.ctx.emit(reply === null ? { type: 'reply_end' } : { type: 'reply', reply });
  }

  end(reason: EndReason, signal: AbortSignal): Promise<void> {
    return this.connector.end(this.callContext(signal), reason);
  }
}
