import { Controller, Get, HttpCode, NotFoundException, Param, Post, Query, UsePipes, ValidationPipe } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CallControl, CallLogReader } from '../monitoring-readers';
import type { ConversationDetail, Page, ConversationSummary } from '../call-log/call-log.types';
import { ConversationDetailDto, ConversationPageDto, EndConversationDto } from './dto/conversation.dto';
import { ErrorDto } from './dto/error.dto';
import { ListQueryDto } from './dto/list-query.dto';

const ID = { name: 'id', description: 'the conversation_id (URL-encoded)' };

@ApiTags('conversations')
@Controller('api/conversations')
@UsePipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }))
export class ConversationsController {
  constructor(
    private readonly callLog: CallLogReader,
    private readonly calls: CallControl,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Active conversations, oldest first; paged, optionally of one agent' })
  @ApiOkResponse({ type: ConversationPageDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  list(@Query() q: ListQueryDto): Page<ConversationSummary> {
    return this.callLog.active({ agentId: q.agent, offset: q.offset, limit: q.limit });
  }

  @Get('history')
  @ApiOperation({ summary: 'Recently ended conversations, newest first, with end reason and duration (monitoring.history_size kept)' })
  @ApiOkResponse({ type: ConversationPageDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  history(@Query() q: ListQueryDto): Page<ConversationSummary> {
    return this.callLog.history({ agentId: q.agent, offset: q.offset, limit: q.limit });
  }

  @Get(':id')
  @ApiOperation({ summary: "A conversation's timeline: each RPC with what came in and went out, and its timings" })
  @ApiParam(ID)
  @ApiOkResponse({ type: ConversationDetailDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('id') id: string): ConversationDetail {
    const c = this.callLog.get(id);
    if (c === undefined) throw new NotFoundException(`no conversation "${id}"`);
    return c;
  }

  @Post(':id/end')
  @HttpCode(200)
  @ApiOperation({ summary: 'Ends a stuck call: its RPCs complete, the connector is told admin_ended' })
  @ApiParam(ID)
  @ApiOkResponse({ type: EndConversationDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  async end(@Param('id') id: string): Promise<EndConversationDto> {
    if (!(await this.calls.endById(id, 'admin_ended'))) throw new NotFoundException(`no active conversation "${id}"`);
    return { id, reason: 'admin_ended', ended: true };
  }
}
