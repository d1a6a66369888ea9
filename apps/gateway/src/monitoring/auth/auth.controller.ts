import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Public } from '../public.decorator';
import { safeReturnPath, sendError } from './auth-gate';
import { type AuthRequest, REQUEST_AUTH, type RequestAuth } from './auth.types';
import { CurrentAuth } from './current-auth.decorator';
import { LOGIN_COOKIE, MonitoringAuthService, parseCookies, SESSION_COOKIE } from './monitoring-auth.service';
import { LOGIN_WINDOW_SECONDS, LoginError, OidcLoginService } from './oidc-login.service';

type Req = IncomingMessage & AuthRequest & { query: Record<string, unknown>; url: string };

/**
 * Browser login: GET /auth/login (to the provider), GET /auth/callback (its answer; /oauth too, the Python
 * gateway's callback path), GET or POST /auth/logout; GET /auth/me tells who is logged in and the CSRF token.
 */
@Controller()
export class AuthController {
  constructor(
    private readonly auth: MonitoringAuthService,
    private readonly login: OidcLoginService,
  ) {}

  @Public()
  @Get('auth/login')
  async start(@Req() req: Req, @Res() res: ServerResponse): Promise<void> {
    if (!this.login.settings) return sendError(res, 404, 'browser login is not configured (monitoring.auth.oidc)');
    try {
      const { url, loginCookie } = await this.login.begin(safeReturnPath(req.query.return_to));
      res.statusCode = 302;
      res.setHeader('Set-Cookie', this.auth.cookie(req, LOGIN_COOKIE, loginCookie, LOGIN_WINDOW_SECONDS));
      res.setHeader('Location', url);
      res.setHeader('Cache-Control', 'no-store');
      res.end();
    } catch (e) {
      this.fail(res, e);
    }
  }

  @Public()
  @Get(['auth/callback', 'oauth'])
  async callback(@Req() req: Req, @Res() res: ServerResponse): Promise<void> {
    if (!this.login.settings) return sendError(res, 404, 'browser login is not configured (monitoring.auth.oidc)');
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    // The login cookie is single-use: cleared whatever the outcome.
    const clearLogin = this.auth.clearCookie(req, LOGIN_COOKIE);
    try {
      const { principal, returnTo } = await this.login.complete(query, parseCookies(req.headers.cookie).get(LOGIN_COOKIE));
      const session = this.auth.issueSession(principal);
      res.statusCode = 302;
      res.setHeader('Set-Cookie', [clearLogin, this.auth.cookie(req, SESSION_COOKIE, session.value, session.maxAgeSeconds)]);
      res.setHeader('Location', returnTo);
      res.setHeader('Cache-Control', 'no-store');
      res.end();
    } catch (e) {
      res.setHeader('Set-Cookie', clearLogin);
      this.fail(res, e);
    }
  }

  @Public()
  @Get('auth/logout')
  logoutGet(@Req() req: Req, @Res() res: ServerResponse): void {
    this.logout(req, res);
  }

  // Public: logging out needs no role; SameSite=Lax keeps the cookie off cross-site POSTs anyway.
  @Public()
  @Post('auth/logout')
  logoutPost(@Req() req: Req, @Res() res: ServerResponse): void {
    this.logout(req, res);
  }

  @Get('auth/me')
  me(@CurrentAuth() auth: RequestAuth): { name: string; role: string; via: string; email?: string; orgId?: string; csrfToken?: string } {
    const { principal: p, csrfToken } = auth;
    return { name: p?.name ?? '', role: p?.role ?? '', via: p?.via ?? '', email: p?.email, orgId: p?.orgId, csrfToken };
  }

  private logout(req: Req, res: ServerResponse): void {
    this.auth.revoke((req[REQUEST_AUTH] ?? this.auth.authenticate(req)).principal);
    res.setHeader('Set-Cookie', this.auth.clearCookie(req, SESSION_COOKIE));
    res.setHeader('Cache-Control', 'no-store');
    // Not a redirect to a protected page: that would start a new login at once through the provider's own session.
    if (req.method === 'GET') {
      res.statusCode = 200;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('Logged out.\n');
    } else {
      res.statusCode = 204;
      res.end();
    }
  }

  private fail(res: ServerResponse, e: unknown): void {
    if (e instanceof LoginError) return sendError(res, e.status, e.message);
    throw e;
  }
}
