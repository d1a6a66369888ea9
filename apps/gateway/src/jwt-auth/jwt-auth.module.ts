import { Inject, Module } from '@nestjs/common';
import { JwtValidationSection, LOGGER, type Logger } from '@app/config';
import { JwksKeyStore } from './jwks-key-store';
import { JwtAuthGuard } from './jwt-auth.guard';
import { JwtMetrics } from './jwt-metrics.service';
import { JwtValidator } from './jwt-validator.service';

/** WxCC's token on BYOVA RPCs (jwt_validation): the guard, its validator and key store, and its counters. */
@Module({
  providers: [JwksKeyStore, JwtValidator, JwtMetrics, JwtAuthGuard],
  exports: [JwtAuthGuard, JwtValidator, JwtMetrics],
})
export class JwtAuthModule {
  constructor(settings: JwtValidationSection, @Inject(LOGGER) logger: Logger) {
    const log = logger.child({ context: 'JwtAuth' });
    if (!settings.enabled) log.warn('gRPC calls are not authenticated: jwt_validation.enabled is false');
    else if (!settings.enforce_validation) log.warn('tokens are checked but not enforced: jwt_validation.enforce_validation is false');
    else log.info({ issuers: settings.issuers.length, datasourceUrl: settings.datasource_url }, 'gRPC calls need a valid Webex token');
  }
}
