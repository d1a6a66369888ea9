import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule, HttpAdapterHost } from '@nestjs/core';
import { AuthGate } from './auth-gate';
import { AuthController } from './auth.controller';
import { MonitoringAuthGuard } from './monitoring-auth.guard';
import { MonitoringAuthService } from './monitoring-auth.service';
import { OidcLoginService } from './oidc-login.service';
import { PublicRoutes } from './public-routes';

/**
 * Who may see the monitoring server (monitoring.auth): bearer tokens and OIDC browser sessions, checked by an
 * Express-level gate in front of every path and by a global guard on Nest's HTTP routes (roles, cross-site).
 */
@Module({
  imports: [DiscoveryModule],
  controllers: [AuthController],
  providers: [MonitoringAuthService, OidcLoginService, PublicRoutes, AuthGate, { provide: APP_GUARD, useClass: MonitoringAuthGuard }],
  exports: [MonitoringAuthService],
})
export class MonitoringAuthModule {
  constructor(adapterHost: HttpAdapterHost, gate: AuthGate, login: OidcLoginService) {
    login.checkSecret();
    // Installed while the application is being created, before anything else can add a handler in front of it
    // (Swagger UI mounts its pages and JSON on the Express app directly, outside Nest's guards).
    adapterHost.httpAdapter?.use(gate.handle);
  }
}
