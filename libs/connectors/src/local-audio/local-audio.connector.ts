import type {
  AgentDescriptor,
  AgentPrompt,
  AgentReply,
  CallerInput,
  ConnectorCapabilities,
  ConnectorCallContext,
  RequestReplyConnector,
} from '@app/connector-sdk';
import type { DtmfAction, PromptKey } from './local-audio.config';

/**
 * Plays prompts from local WAV files: a welcome, a reply to each utterance, DTMF actions
 * (transfer, goodbye) and a no-input prompt. Audio is prepared once at start-up by the factory.
 */
export class LocalAudioConnector implements RequestReplyConnector {
  constructor(
    private readonly agentId: string,
    private readonly prompts: Record<PromptKey, AgentPrompt>,
    private readonly dtmfActions: Record<string, DtmfAction>,
  ) {}

  listAgents(): AgentDescriptor[] {
    return [{ id: this.agentId }];
  }

  capabilities(): ConnectorCapabilities {
    // It answers every utterance alike, so their audio need not be collected.
    return { replyModes: ['wav', 'chunk'], speechAudio: false };
  }

  async start(): Promise<AgentReply> {
    return { prompts: [this.prompts.welcome] };
  }

  async handleInput(_ctx: ConnectorCallContext, input: CallerInput): Promise<AgentReply | null> {
    switch (input.kind) {
      case 'speech':
        return { prompts: [this.prompts.default] };
      case 'no_input':
        return { prompts: [this.prompts.no_input] };
      case 'dtmf':
        return this.dtmf(input.digits);
      case 'event':
        return null;
    }
  }

  private dtmf(digits: string): AgentReply {
    switch (this.dtmfActions[digits]) {
      case 'transfer':
        return { prompts: [this.prompts.transfer], end: { kind: 'transfer', name: 'transfer_requested' } };
      case 'goodbye':
        return { prompts: [this.prompts.goodbye], end: { kind: 'session_end', name: 'session_ended' } };
      default:
        return { prompts: [this.prompts.default] };
    }
  }

  async end(): Promise<void> {}

  errorReply(): AgentReply {
    return { prompts: [this.prompts.error] };
  }
}
