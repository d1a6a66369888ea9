import { Module } from '@nestjs/common';
import { DataSourceSection } from '@app/config';
import { DataSourceLifecycle, WEBEX_DATA_SOURCES } from './data-source-lifecycle.service';
import { DataSourceStatus } from './data-source-status.service';
import { createTokenProvider } from './webex-auth';
import { WebexDataSourcesClient } from './webex-data-sources.client';
import { WebexHttp } from './webex-http';

/**
 * BYODS: keeps this gateway registered with Webex as a data source and its token renewed. `DataSourceStatus` is
 * what health and monitoring read. The Webex client is built here, with its secrets from the environment: a
 * missing variable stops start-up with its name.
 */
@Module({
  providers: [
    DataSourceStatus,
    DataSourceLifecycle,
    {
      provide: WEBEX_DATA_SOURCES,
      inject: [DataSourceSection],
      useFactory: (cfg: DataSourceSection) => {
        if (!cfg.enabled) return null;
        const http = new WebexHttp(cfg.api_base_url, cfg.request_timeout_seconds * 1000);
        return new WebexDataSourcesClient(http, createTokenProvider(cfg.auth, http));
      },
    },
  ],
  exports: [DataSourceStatus],
})
export class DataSourceModule {}
