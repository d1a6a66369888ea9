import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SessionsSection } from '@app/config';
import type { ConversationSummary } from '../call-log/call-log.types';
import { CallLogReader, StatusReader } from '../monitoring-readers';
import { AgentDto } from './dto/agent.dto';
import { ConfigViewDto } from './dto/config.dto';
import { CompatConversationDto, ConnectionsDto } from './dto/connections.dto';
import { StatusDto } from './dto/status.dto';

/** Ended calls listed by /api/connections (its Python shape has no paging). */
const COMPAT_HISTORY = 100;

const compat = (c: ConversationSummary): CompatConversationDto => ({
  conversation_id: c.id,
  agent_id: c.agentId,
  customer_org_id: c.customerOrgId || 'Unknown',
  rpc_sessions: [],
  welcome_sent: c.welcomeSent,
  status: c.state === 'active' ? 'Active' : 'Ended',
  ...(c.endReason ? { end_reason: c.endReason } : {}),
});

@ApiTags('gateway')
@Controller('api')
export class StatusController {
  constructor(
    private readonly status: StatusReader,
    private readonly callLog: CallLogReader,
    private readonly sessions: SessionsSection,
  ) {}

  @Get('status')
  @ApiOperation({ summary: 'Gateway status: gRPC serving state, draining, speech detector, connectors, agents, conversations' })
  @ApiOkResponse({ type: StatusDto })
  getStatus(): StatusDto {
    return this.status.status();
  }

  @Get('agents')
  @ApiOperation({ summary: 'Every agent with its connector, default flag, reply mode and input defaults' })
  @ApiOkResponse({ type: [AgentDto] })
  agents(): AgentDto[] {
    return this.status.agents();
  }

  @Get('config')
  @ApiOperation({ summary: 'The effective configuration, secrets redacted' })
  @ApiOkResponse({ type: ConfigViewDto })
  config(): ConfigViewDto {
    return this.status.config();
  }

  @Get('connections')
  @ApiOperation({ summary: "The Python gateway's connections view (active, recently ended, connection events), for its e2e tool" })
  @ApiOkResponse({ type: ConnectionsDto })
  connections(): ConnectionsDto {
    const active = this.callLog.active({ limit: this.sessions.max_sessions });
    const history = this.callLog.history({ limit: COMPAT_HISTORY });
    return {
      active_conversations: active.items.map(compat),
      history: history.items.map(compat),
      connection_events: this.callLog.connectionEvents(),
      total_active: active.total,
      total_history: history.total,
    };
  }
}
