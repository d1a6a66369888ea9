import { ApiProperty } from '@nestjs/swagger';

/** Every error of the monitoring HTTP API. */
export class ErrorDto {
  @ApiProperty({ example: 404 }) statusCode: number;
  @ApiProperty({ example: 'no conversation "abc"' }) message: string;
}
