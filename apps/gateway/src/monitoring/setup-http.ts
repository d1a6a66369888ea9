import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { MonitoringExceptionFilter } from './http-exception.filter';
import { gatewayVersion } from './status/version';

export const OPENAPI_UI_PATH = 'api/docs';
export const OPENAPI_JSON_PATH = 'api/docs-json';

/** HTTP-only setup of the monitoring server: its error format and the OpenAPI document (UI and JSON). */
export function setupMonitoringHttp(app: INestApplication): void {
  // Not inherited by the gRPC microservice (connected without inheritAppConfig): HTTP errors only.
  app.useGlobalFilters(app.get(MonitoringExceptionFilter));
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('BYOVA gateway monitoring')
      .setDescription('Status, agents, conversations and their timelines, configuration, probes and metrics of the gateway.')
      .setVersion(gatewayVersion())
      .build(),
  );
  SwaggerModule.setup(OPENAPI_UI_PATH, app, doc, { jsonDocumentUrl: OPENAPI_JSON_PATH });
}
