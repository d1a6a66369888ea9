import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AuthRequest, header, REQUEST_AUTH } from './auth.types';
import { MonitoringAuthService } from './monitoring-auth.service';
import { PublicRoutes } from './public-routes';

type Next = (err?: unknown) => void;

/** Writes the API's error shape. */
export function sendError(res: ServerResponse, statusCode: number, message: string, extra: Record<string, string> = {}): void {
  res.statusCode = statusCode;
  for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify({ statusCode, message }));
}

/** A local path to come back to after login (never another site: `//host` and `/\host` are refused). */
export function safeReturnPath(p: unknown): string {
  return typeof p === 'string' && /^\/(?![/\\])/.test(p) && p.length <= 2048 ? p : '/';
}

/**
 * Express middleware installed in front of everything else on the HTTP server (Nest routes, Swagger UI and its
 * JSON, static assets, unknown paths): it reads the caller's credentials for the guard and refuses anonymous
 * requests to anything but the public routes. Role and cross-site checks are the guard's, which knows the handler.
 */
@Injectable()
export class AuthGate {
  constructor(
    private readonly auth: MonitoringAuthService,
    private readonly publicRoutes: PublicRoutes,
  ) {}

  readonly handle = (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    const r = req as unknown as AuthRequest;
    if (!this.auth.enabled) {
      const problem = this.auth.unauthenticatedProblem(r);
      return problem ? sendError(res, 403, problem) : next();
    }
    const result = this.auth.authenticate(r);
    r[REQUEST_AUTH] = result;
    if (result.principal || this.isPublic(r)) return next();
    const oidc = !!this.auth.settings.auth.oidc;
    if (oidc && (r.method === 'GET' || r.method === 'HEAD') && (header(r, 'accept') ?? '').includes('text/html')) {
      res.statusCode = 302;
      res.setHeader('Location', `/auth/login?return_to=${encodeURIComponent(safeReturnPath(r.originalUrl ?? r.path))}`);
      res.setHeader('Cache-Control', 'no-store');
      res.end();
      return;
    }
    sendError(res, 401, result.problem ?? 'authentication required: send "Authorization: Bearer <token>" or log in at /auth/login', {
      'WWW-Authenticate': 'Bearer realm="byova-monitoring"',
    });
  };

  isPublic(req: AuthRequest): boolean {
    return this.publicRoutes.has(req.method, req.path) || (this.auth.settings.metrics_public && /^\/metrics\/?$/.test(req.path));
  }
}
