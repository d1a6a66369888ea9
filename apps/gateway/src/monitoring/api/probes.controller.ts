import { Controller, Get, Header, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../public.decorator';
import { StatusReader } from '../monitoring-readers';
import { ErrorDto } from './dto/error.dto';
import { HealthDto, ReadyDto } from './dto/status.dto';

/** Load-balancer and Kubernetes probes: no authentication, no detail. */
@ApiTags('probes')
@Controller()
export class ProbesController {
  constructor(private readonly status: StatusReader) {}

  @Get('health')
  @Public()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: "Liveness: the process answers, its gateway thread included (503 when that does not answer in time)" })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto })
  health(): HealthDto {
    if (!this.status.alive()) throw new ServiceUnavailableException('not alive');
    return { status: 'healthy' };
  }

  @Get('ready')
  @Public()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Readiness: serving gRPC, not draining, at least one agent (503 otherwise)' })
  @ApiOkResponse({ type: ReadyDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto })
  ready(): ReadyDto {
    if (!this.status.ready()) throw new ServiceUnavailableException('not ready');
    return { status: 'ready' };
  }
}
