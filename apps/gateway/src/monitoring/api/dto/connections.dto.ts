import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class CompatConversationDto {
  @ApiProperty() conversation_id: string;
  @ApiProperty() agent_id: string;
  @ApiProperty() customer_org_id: string;
  @ApiProperty({ type: [Object], description: 'always empty (kept for the Python shape)' }) rpc_sessions: unknown[];
  @ApiProperty() welcome_sent: boolean;
  @ApiProperty({ enum: ['Active', 'Ended'] }) status: string;
  @ApiPropertyOptional() end_reason?: string;
}

export class ConnectionEventDto {
  @ApiProperty({ enum: ['start', 'message', 'terminal', 'end'], description: 'message: one per RPC (never per audio frame)' }) event_type: string;
  @ApiProperty() conversation_id: string;
  @ApiProperty() agent_id: string;
  @ApiProperty({ description: 'epoch seconds' }) timestamp: number;
  @ApiPropertyOptional({ enum: ['SESSION_END', 'TRANSFER_TO_AGENT'], description: 'terminal' }) outcome?: string;
  @ApiPropertyOptional({ description: 'terminal: the output event name' }) name?: string;
  @ApiPropertyOptional({ description: 'end: why' }) reason?: string;
}

/** `GET /api/connections`: the Python gateway's shape, read by its e2e tool. */
export class ConnectionsDto {
  @ApiProperty({ type: [CompatConversationDto] }) active_conversations: CompatConversationDto[];
  @ApiProperty({ type: [CompatConversationDto], description: 'recently ended' }) history: CompatConversationDto[];
  @ApiProperty({ type: [ConnectionEventDto] }) connection_events: ConnectionEventDto[];
  @ApiProperty() total_active: number;
  @ApiProperty() total_history: number;
}
