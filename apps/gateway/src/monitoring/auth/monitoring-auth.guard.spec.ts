import { HttpException } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { buildGatewayConfig, createLogger } from '@app/config';
import { AuthGate } from './auth-gate';
import type { AuthRequest } from './auth.types';
import { MonitoringAuthGuard } from './monitoring-auth.guard';
import { MonitoringAuthService } from './monitoring-auth.service';
import { PublicRoutes } from './public-routes';

class Handlers {
  list() {}
}

function guard() {
  const m = buildGatewayConfig({ monitoring: { auth: { enabled: true } } }).monitoring;
  const auth = new MonitoringAuthService(m, createLogger('silent'));
  const reflector = new Reflector();
  const gate = new AuthGate(auth, new PublicRoutes({ getControllers: () => [] } as unknown as DiscoveryService, new MetadataScanner(), reflector));
  return new MonitoringAuthGuard(auth, gate, reflector);
}

function context(type: 'http' | 'rpc', args: unknown[]) {
  const ctx = new ExecutionContextHost(args, Handlers, Handlers.prototype.list);
  ctx.setType(type);
  return ctx;
}

describe('MonitoringAuthGuard', () => {
  it('passes gRPC (non-HTTP) handlers untouched, auth on and no credentials', () => {
    expect(guard().canActivate(context('rpc', [{ conversationId: 'c1' }, {}]))).toBe(true);
  });

  it('refuses the same handler over HTTP without credentials (401 { statusCode, message })', () => {
    const req: AuthRequest = { method: 'GET', path: '/api/x', headers: {} };
    try {
      guard().canActivate(context('http', [req, {}]));
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(HttpException);
      expect([(e as HttpException).getStatus(), (e as HttpException).getResponse()]).toEqual([401, { statusCode: 401, message: 'authentication required' }]);
    }
  });
});
