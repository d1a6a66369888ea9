import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString } from 'class-validator';

/** Level names accepted: pino's, and the Python gateway's (`WARNING`, `CRITICAL`), in any case. */
export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'critical', 'silent'] as const;

export class SetLogLevelDto {
  @ApiProperty({ enum: LOG_LEVEL_NAMES, example: 'debug', description: 'case-insensitive; WARNING and CRITICAL work too' })
  @IsString()
  @IsIn([...LOG_LEVEL_NAMES, ...LOG_LEVEL_NAMES.map((l) => l.toUpperCase())], { message: `level must be one of ${LOG_LEVEL_NAMES.join(', ')}` })
  level: string;
}

export class LogLevelDto {
  @ApiProperty({ example: 'debug', description: 'the level now in force' }) level: string;
  @ApiProperty({ example: 'info', description: 'logging.gateway.level (or LOG_LEVEL) at start-up' }) configured: string;
}

export class LogLevelChangeDto extends LogLevelDto {
  @ApiProperty({ example: 'info', description: 'the level before this request' }) previous: string;
}
