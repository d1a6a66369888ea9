import { type CanActivate, type ExecutionContext, HttpException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { MonitoringRole } from '@app/config';
import { PUBLIC_KEY } from './auth-metadata';
import { AuthGate } from './auth-gate';
import { type AuthRequest, MUTATING_METHODS, REQUEST_AUTH, roleSatisfies } from './auth.types';
import { MonitoringAuthService } from './monitoring-auth.service';
import { ROLES_KEY } from './roles.decorator';

const refuse = (statusCode: number, message: string) => new HttpException({ statusCode, message }, statusCode);

/**
 * Global guard of the monitoring HTTP routes (gRPC handlers pass untouched): authentication unless `@Public()`,
 * the role (`@Roles`, else viewer for reads and admin for POST/PUT/PATCH/DELETE), and the cross-site check for
 * state-changing requests made with a session cookie (a bearer token is not sent by browsers on their own).
 */
@Injectable()
export class MonitoringAuthGuard implements CanActivate {
  constructor(
    private readonly auth: MonitoringAuthService,
    private readonly gate: AuthGate,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http' || !this.auth.enabled) return true;
    const req = context.switchToHttp().getRequest<AuthRequest>();
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets) === true || this.gate.isPublic(req)) return true;
    // The gate has read the credentials already; read them here too should a request reach a handler without it.
    const result = (req[REQUEST_AUTH] ??= this.auth.authenticate(req));
    const p = result.principal;
    if (!p) throw refuse(401, result.problem ?? 'authentication required');
    const mutating = MUTATING_METHODS.has(req.method);
    const need = this.reflector.getAllAndOverride<MonitoringRole>(ROLES_KEY, targets) ?? (mutating ? 'admin' : 'viewer');
    if (!roleSatisfies(p.role, need)) throw refuse(403, `this needs the ${need} role`);
    if (mutating && p.via === 'session') {
      const problem = this.auth.crossSiteProblem(req, result);
      if (problem) throw refuse(403, problem);
    }
    return true;
  }
}
