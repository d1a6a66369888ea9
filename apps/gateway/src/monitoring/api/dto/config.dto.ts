import { ApiProperty } from '@nestjs/swagger';

export class ConfigGatewayDto {
  @ApiProperty() name: string;
  @ApiProperty() version: string;
  @ApiProperty() host: string;
  @ApiProperty() grpc_port: number;
  @ApiProperty() web_port: number;
}

export class ConfigConnectorDto {
  @ApiProperty() name: string;
  @ApiProperty({ type: [String] }) agents: string[];
}

export class ConfigMonitoringDto {
  @ApiProperty() enabled: boolean;
  @ApiProperty() host: string;
  @ApiProperty() port: number;
}

/** `GET /api/config`: the effective configuration, secrets redacted, and the Python gateway's summary fields. */
export class ConfigViewDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'every section as in effect (file, defaults, environment overrides); secrets, tokens, passwords, keys and credentials read "[redacted]"',
  })
  config: Record<string, unknown>;
  @ApiProperty({ type: ConfigGatewayDto }) gateway: ConfigGatewayDto;
  @ApiProperty({ type: [ConfigConnectorDto] }) connectors: ConfigConnectorDto[];
  @ApiProperty({ type: ConfigMonitoringDto }) monitoring: ConfigMonitoringDto;
}
