import { type ArgumentsHost, Catch, Controller, type ExceptionFilter, Get, HttpException, Inject, Param, Query, Redirect, Res, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { ServerResponse } from 'node:http';
import { LOGGER, type Logger } from '@app/config';
import { type AuthRequest, REQUEST_AUTH, type RequestAuth } from '../auth/auth.types';
import { sendError } from '../auth/auth-gate';
import { CurrentAuth } from '../auth/current-auth.decorator';
import { DashboardEvents } from './dashboard-events.service';
import { DashboardPages, type ListQuery } from './dashboard-pages.service';
import { DashboardViews } from './dashboard-views.service';
import { parseAgentParam, parseLiveView, parsePageParam } from './format';

/** Every dashboard page: no inline script or style, nothing from elsewhere, not framed. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function sendPage(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

/** Errors on dashboard routes (a bad query, a role refused by the guard) as an HTML page, not the API's JSON. */
@Catch()
export class DashboardErrorFilter implements ExceptionFilter {
  private readonly log: Logger;

  constructor(
    private readonly pages: DashboardPages,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: 'Dashboard' });
  }

  catch(e: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<ServerResponse>();
    const auth = http.getRequest<AuthRequest>()[REQUEST_AUTH] ?? {};
    let status = 500;
    let message = 'internal server error';
    if (e instanceof HttpException) {
      status = e.getStatus();
      const body = e.getResponse();
      const m = typeof body === 'string' ? body : (body as { message?: unknown }).message;
      message = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : e.message;
    } else this.log.error({ err: e }, 'unexpected error rendering a dashboard page');
    if (res.headersSent) return void res.end();
    sendPage(res, status, this.pages.error(status, message, auth));
  }
}

const HTML = { description: 'an HTML page (see the README, Dashboard)' };

/**
 * The server-rendered dashboard: pages under /dashboard, its assets, and its Server-Sent Events. Auth is the
 * monitoring gate's and guard's (viewer role); ending a call is the API's POST (admin, CSRF token).
 */
@ApiTags('dashboard')
@ApiProduces('text/html')
@Controller()
@UseFilters(DashboardErrorFilter)
export class DashboardController {
  constructor(
    private readonly pages: DashboardPages,
    private readonly views: DashboardViews,
    private readonly events: DashboardEvents,
  ) {}

  @Get()
  @Redirect('/dashboard', 302)
  @ApiOperation({ summary: 'Redirects to the dashboard' })
  root(): void {}

  @Get('dashboard')
  @ApiOperation({ summary: 'Dashboard: overview (health, agents, active calls, the last hour as charts)' })
  @ApiOkResponse(HTML)
  overview(@CurrentAuth() auth: RequestAuth, @Res() res: ServerResponse): void {
    sendPage(res, 200, this.pages.overview(auth));
  }

  @Get('dashboard/calls')
  @ApiOperation({ summary: 'Dashboard: active calls, 50 a page (?page=), optionally of one agent (?agent=)' })
  @ApiOkResponse(HTML)
  calls(@Query('page') page: unknown, @Query('agent') agent: unknown, @CurrentAuth() auth: RequestAuth, @Res() res: ServerResponse): void {
    this.list(res, auth, page, agent, (q) => this.pages.calls(q, auth));
  }

  @Get('dashboard/calls/:id')
  @ApiOperation({ summary: "Dashboard: a call's timeline, updating while it runs (404 page when unknown)" })
  @ApiOkResponse(HTML)
  call(@Param('id') id: string, @CurrentAuth() auth: RequestAuth, @Res() res: ServerResponse): void {
    const html = this.pages.call(id, auth);
    if (html === undefined) sendPage(res, 404, this.pages.error(404, `no conversation "${id}" (it may have left the history)`, auth));
    else sendPage(res, 200, html);
  }

  @Get('dashboard/history')
  @ApiOperation({ summary: 'Dashboard: recently ended calls with their end reasons, 50 a page' })
  @ApiOkResponse(HTML)
  history(@Query('page') page: unknown, @Query('agent') agent: unknown, @CurrentAuth() auth: RequestAuth, @Res() res: ServerResponse): void {
    this.list(res, auth, page, agent, (q) => this.pages.history(q, auth));
  }

  @Get('dashboard/agents')
  @ApiOperation({ summary: 'Dashboard: agents and connectors with their health' })
  @ApiOkResponse(HTML)
  agents(@CurrentAuth() auth: RequestAuth, @Res() res: ServerResponse): void {
    sendPage(res, 200, this.pages.agents(auth));
  }

  @Get('dashboard/config')
  @ApiOperation({ summary: 'Dashboard: the effective configuration, secrets redacted (as GET /api/config)' })
  @ApiOkResponse(HTML)
  config(@CurrentAuth() auth: RequestAuth, @Res() res: ServerResponse): void {
    sendPage(res, 200, this.pages.config(auth));
  }

  @Get('dashboard/events')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Dashboard: Server-Sent Events (`calls` at most once every 2 s, `tick`, heartbeat comments); with ?view=overview, ' +
      'calls or history (and that list\'s ?page=, ?agent=), also `region`: the page\'s live region rendered afresh',
  })
  @ApiOkResponse({ description: 'an event stream' })
  stream(@Query('view') view: unknown, @Query('page') page: unknown, @Query('agent') agent: unknown, @CurrentAuth() auth: RequestAuth, @Res() res: ServerResponse): void {
    const v = parseLiveView(view, page, agent);
    if (v !== undefined && 'problem' in v) return sendError(res, 400, v.problem);
    const p = auth.principal;
    if (!this.events.attach(res, { view: v, closeAt: p?.exp === undefined ? undefined : p.exp * 1000, sessionId: p?.sid })) {
      sendError(res, 503, 'too many dashboard viewers connected', { 'Retry-After': '10' });
    }
  }

  @Get('dashboard/assets/:name')
  @ApiProduces('text/css', 'text/javascript', 'image/svg+xml')
  @ApiOperation({ summary: "Dashboard: its stylesheet, script and icon (served by the gateway; no CDN)" })
  @ApiOkResponse({ description: 'the file' })
  asset(@Param('name') name: string, @Res() res: ServerResponse): void {
    const a = this.views.assets.get(name);
    if (!a) return sendError(res, 404, `no dashboard asset "${name}"`);
    res.statusCode = 200;
    res.setHeader('Content-Type', a.type);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Linked with ?v=<content hash>: a new build links new URLs.
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.end(a.body);
  }

  private list(res: ServerResponse, auth: RequestAuth, page: unknown, agent: unknown, render: (q: ListQuery) => string): void {
    const p = parsePageParam(page);
    const a = parseAgentParam(agent);
    const problem = typeof p === 'string' ? p : typeof a === 'object' ? a.problem : undefined;
    if (problem !== undefined) return sendPage(res, 400, this.pages.error(400, problem, auth));
    sendPage(res, 200, render({ page: p as number, agent: a as string | undefined }));
  }
}
