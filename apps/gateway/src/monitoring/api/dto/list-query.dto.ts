import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { DEFAULT_PAGE, MAX_PAGE } from '../../call-log/call-log.types';

/** Paging and the agent filter of the conversation lists. */
export class ListQueryDto {
  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(1_000_000)
  offset?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_PAGE)
  limit?: number;

  @ApiPropertyOptional({ description: 'only calls of this agent id' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(256)
  agent?: string;
}
