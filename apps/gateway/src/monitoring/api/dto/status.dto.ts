import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class HealthCompatDto {
  @ApiProperty() overall_healthy: boolean;
  @ApiProperty({ enum: ['SERVING', 'NOT_SERVING', 'DEGRADED'] }) grpc_status: 'SERVING' | 'NOT_SERVING' | 'DEGRADED';
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, description: 'gRPC health service name → status' })
  services: Record<string, string>;
  @ApiProperty() serving_services: number;
  @ApiProperty() total_services: number;
}

export class GrpcStatusDto {
  @ApiProperty({ description: 'grpc.health.v1 reports SERVING' }) serving: boolean;
  @ApiProperty({ example: '0.0.0.0:50051' }) address: string;
}

export class VadStatusDto {
  @ApiProperty({ example: 'silero', description: 'the speech detector in use' }) engine: string;
  @ApiProperty({ enum: ['silero', 'energy'] }) configured: string;
  @ApiProperty() degraded: boolean;
  @ApiPropertyOptional({ description: 'why it is degraded' }) reason?: string;
}

export class ConnectorStatusDto {
  @ApiProperty({ example: 'aws_lex_connector' }) id: string;
  @ApiProperty({ example: 'aws_lex_connector' }) type: string;
  @ApiProperty() agents: number;
  @ApiProperty() degraded: boolean;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: "the connector's own report, e.g. Lex: { degraded, discovery: { healthy, lastRefreshAt, lastError }, openCircuits }",
  })
  health?: Record<string, unknown>;
}

export class ConversationCountsDto {
  @ApiProperty() active: number;
  @ApiProperty({ description: 'started since the gateway started' }) total: number;
  @ApiProperty({ description: 'ended ones kept in the history' }) history: number;
}

/** `GET /api/status`: the Python gateway's fields (snake_case, kept for existing scripts) and this gateway's own. */
export class StatusDto {
  @ApiProperty({ enum: ['running'] }) status: 'running';
  @ApiProperty({ type: [String] }) available_agents: string[];
  @ApiProperty({ type: [String], description: 'ids of the active conversations' }) active_sessions: string[];
  @ApiProperty() total_agents: number;
  @ApiProperty({ description: 'active conversations' }) total_sessions: number;
  @ApiProperty() total_connectors: number;
  @ApiProperty({ example: '1h 2m 3s' }) uptime: string;
  @ApiProperty({ format: 'date-time' }) last_updated: string;
  @ApiProperty({ type: HealthCompatDto }) health: HealthCompatDto;
  @ApiProperty({ example: '0.1.0' }) version: string;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiProperty() uptime_seconds: number;
  @ApiProperty({ type: GrpcStatusDto }) grpc: GrpcStatusDto;
  @ApiProperty() draining: boolean;
  @ApiProperty({ type: VadStatusDto }) vad: VadStatusDto;
  @ApiProperty({ type: [ConnectorStatusDto] }) connectors: ConnectorStatusDto[];
  @ApiProperty() agent_count: number;
  @ApiProperty({ type: ConversationCountsDto }) conversations: ConversationCountsDto;
}

export class HealthDto {
  @ApiProperty({ example: 'healthy' }) status: string;
}

export class ReadyDto {
  @ApiProperty({ example: 'ready' }) status: string;
}
