import { Body, Controller, Get, HttpCode, Post, UsePipes, ValidationPipe } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { LogLevelControl } from '@app/config';
import { AdminOnly } from '../auth/roles.decorator';
import { ErrorDto } from './dto/error.dto';
import { LogLevelChangeDto, LogLevelDto, SetLogLevelDto } from './dto/log-level.dto';

/** The gateway's log level at run time (SIGUSR2 toggles debug too); the change is logged. */
@ApiTags('logging')
@Controller('api/log-level')
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }))
export class LogLevelController {
  constructor(private readonly levels: LogLevelControl) {}

  @Get()
  @ApiOperation({ summary: 'The log level in force, and the configured one' })
  @ApiOkResponse({ type: LogLevelDto })
  get(): LogLevelDto {
    return { level: this.levels.level, configured: this.levels.configured };
  }

  @Post()
  @HttpCode(200)
  @AdminOnly()
  @ApiOperation({ summary: 'Sets the log level of the whole process until restart or the next change (admin)' })
  @ApiOkResponse({ type: LogLevelChangeDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiForbiddenResponse({ type: ErrorDto })
  set(@Body() body: SetLogLevelDto): LogLevelChangeDto {
    const { previous, level } = this.levels.set(body.level, 'monitoring API');
    return { previous, level, configured: this.levels.configured };
  }
}
