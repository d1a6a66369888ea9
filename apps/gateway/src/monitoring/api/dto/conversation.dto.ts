import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { InputSettingsDto } from './agent.dto';

const END_REASONS = ['caller_hangup', 'agent_ended', 'transferred', 'idle_timeout', 'max_duration', 'gateway_shutdown', 'start_failed', 'admin_ended', 'taken_over'];
const INPUT_KINDS = ['session_start', 'session_end', 'start_of_dtmf', 'no_input', 'audio', 'dtmf', 'event'];

export class CurrentRpcDto {
  @ApiProperty() seq: number;
  @ApiPropertyOptional({ enum: INPUT_KINDS }) input?: string;
  @ApiProperty({ description: 'epoch ms' }) startedAt: number;
}

export class ConversationSummaryDto {
  @ApiProperty() id: string;
  @ApiProperty() agentId: string;
  @ApiProperty() connectorId: string;
  @ApiProperty() customerOrgId: string;
  @ApiProperty({ description: 'epoch ms' }) startedAt: number;
  @ApiProperty({ description: 'epoch ms' }) lastActivityAt: number;
  @ApiProperty({ description: 'RPCs (turns) so far' }) turns: number;
  @ApiProperty({ enum: ['active', 'ended'] }) state: string;
  @ApiPropertyOptional({ type: CurrentRpcDto, description: 'the RPC running now' }) currentRpc?: CurrentRpcDto;
  @ApiProperty() welcomeSent: boolean;
  @ApiPropertyOptional({ description: 'epoch ms (ended calls)' }) endedAt?: number;
  @ApiPropertyOptional({ enum: END_REASONS }) endReason?: string;
  @ApiPropertyOptional() durationMs?: number;
}

export class ConversationPageDto {
  @ApiProperty({ description: 'matching conversations in all' }) total: number;
  @ApiProperty() offset: number;
  @ApiProperty() limit: number;
  @ApiProperty({ type: [ConversationSummaryDto] }) items: ConversationSummaryDto[];
}

/** What one RPC brought in; digits and parameters only with `monitoring.include_payloads`, never for sensitive inputs. */
export class RpcInputDto {
  @ApiProperty({ enum: INPUT_KINDS }) kind: string;
  @ApiPropertyOptional({ description: 'audio' }) encoding?: string;
  @ApiPropertyOptional({ description: 'audio' }) sampleRateHz?: number;
  @ApiPropertyOptional({ description: 'dtmf' }) digitCount?: number;
  @ApiPropertyOptional({ description: 'dtmf, with include_payloads' }) digits?: string;
  @ApiPropertyOptional({ description: 'event' }) name?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'event, with include_payloads' }) parameters?: Record<string, unknown>;
}

export class PromptSummaryDto {
  @ApiPropertyOptional() text?: string;
  @ApiProperty() durationMs: number;
  @ApiProperty() bargeIn: boolean;
}

export class OutputEventDto {
  @ApiProperty({ enum: ['SESSION_END', 'TRANSFER_TO_AGENT', 'CUSTOM_EVENT'] }) type: string;
  @ApiProperty() name: string;
}

export class ReplyRecordDto {
  @ApiProperty({ description: 'epoch ms' }) at: number;
  @ApiProperty({ type: [PromptSummaryDto] }) prompts: PromptSummaryDto[];
  @ApiProperty({ type: [OutputEventDto] }) events: OutputEventDto[];
  @ApiProperty({ type: InputSettingsDto, description: 'what WxCC was asked to collect next' }) input: InputSettingsDto;
  @ApiProperty({ description: "the gateway's apology after a connector failure" }) apology: boolean;
  @ApiPropertyOptional({ description: 'end of input (or SESSION_START) → first response of the reply' }) latencyMs?: number;
}

export class RpcRecordDto {
  @ApiProperty() seq: number;
  @ApiProperty({ example: 'ProcessCallerInput' }) method: string;
  @ApiProperty() startedAt: number;
  @ApiPropertyOptional() endedAt?: number;
  @ApiPropertyOptional({ example: 'OK', description: 'gRPC status name' }) status?: string;
  @ApiPropertyOptional() durationMs?: number;
  @ApiPropertyOptional({ type: RpcInputDto }) input?: RpcInputDto;
  @ApiPropertyOptional() speechStartedAt?: number;
  @ApiPropertyOptional() speechEndedAt?: number;
  @ApiPropertyOptional() utteranceMs?: number;
  @ApiPropertyOptional({ description: "the gateway's no-input timer fired" }) noInputAt?: number;
  @ApiProperty({ type: [ReplyRecordDto] }) replies: ReplyRecordDto[];
}

export class ConversationDetailDto extends ConversationSummaryDto {
  @ApiProperty({ type: [RpcRecordDto], description: 'the first 200 RPCs' }) rpcs: RpcRecordDto[];
  @ApiProperty({ description: 'RPCs beyond the first 200, not kept' }) droppedRpcs: number;
}

export class EndConversationDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['admin_ended'] }) reason: 'admin_ended';
  @ApiProperty() ended: boolean;
}
