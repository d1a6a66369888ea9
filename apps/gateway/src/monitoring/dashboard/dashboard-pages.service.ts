import { Injectable } from '@nestjs/common';
import { stringify as toYaml } from 'yaml';
import { GatewaySection, MonitoringSection } from '@app/config';
import type { RequestAuth } from '../auth/auth.types';
import type { ConversationDetail, ConversationSummary, ReplyRecord, RpcInput, RpcRecord } from '../call-log/call-log.types';
import { CallLogReader, StatusReader } from '../monitoring-readers';
import { callsChart, latencyChart } from './chart';
import { DashboardViews } from './dashboard-views.service';
import { ago, duration, iso, type LiveView, liveViewQuery, pageWindow, type PageWindow } from './format';

export type NavKey = 'overview' | 'calls' | 'history' | 'agents' | 'config';
/** What the page's script refreshes on a pushed change: nothing, the overview, a list, or one call. */
type Live = '' | 'overview' | 'calls' | 'history' | 'call';

const NAV: Array<{ key: NavKey; label: string; href: string }> = [
  { key: 'overview', label: 'Overview', href: '/dashboard' },
  { key: 'calls', label: 'Active calls', href: '/dashboard/calls' },
  { key: 'history', label: 'History', href: '/dashboard/history' },
  { key: 'agents', label: 'Agents', href: '/dashboard/agents' },
  { key: 'config', label: 'Configuration', href: '/dashboard/config' },
];

export interface ListQuery {
  page: number;
  agent?: string;
}

const tone = (ok: boolean, warn = false) => (ok ? (warn ? 'warn' : 'ok') : 'bad');

/** What every template formats with: times relative to `now`, dates, durations, URL parts. */
const templateHelpers = (now: number) => ({ ago: (at: number) => ago(at, now), iso, dur: duration, enc: encodeURIComponent });

/** A page's live region as the event stream pushes it: the element's id and its HTML. */
export interface LiveRegion {
  id: string;
  html: string;
}

/** A list page's link to page `p` keeping its filter. */
function pageHref(base: string, agent: string | undefined, p: number): string {
  const q = new URLSearchParams();
  if (agent !== undefined) q.set('agent', agent);
  if (p > 1) q.set('page', String(p));
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}

function inputLabel(i: RpcInput | undefined): string {
  if (!i) return 'no input yet';
  switch (i.kind) {
    case 'session_start':
      return 'SESSION_START';
    case 'session_end':
      return 'SESSION_END';
    case 'start_of_dtmf':
      return 'START_OF_DTMF';
    case 'no_input':
      return 'NO_INPUT';
    case 'audio':
      return 'caller audio';
    case 'dtmf':
      return `DTMF (${i.digitCount} digit${i.digitCount === 1 ? '' : 's'})`;
    case 'event':
      return `event ${i.name}`;
  }
}

function inputDetails(i: RpcInput | undefined): Array<[string, string]> {
  if (!i) return [];
  if (i.kind === 'audio') return [['Audio', `${i.encoding}, ${i.sampleRateHz} Hz`]];
  if (i.kind === 'dtmf') return i.digits !== undefined ? [['Digits', i.digits]] : [];
  if (i.kind === 'event' && i.parameters !== undefined) return [['Parameters', JSON.stringify(i.parameters)]];
  return [];
}

/** Offsets within the RPC: `+1.2 s`. */
const offset = (at: number | undefined, start: number) => (at === undefined ? undefined : `+${duration(at - start)}`);

function replyView(r: ReplyRecord, rpcStart: number) {
  const s = r.input.speech;
  return {
    at: offset(r.at, rpcStart),
    latency: r.latencyMs === undefined ? undefined : duration(r.latencyMs),
    apology: r.apology,
    prompts: r.prompts.map((p) => ({ text: p.text ?? '(audio without text)', duration: duration(p.durationMs), bargeIn: p.bargeIn })),
    events: r.events.map((e) => (e.name ? `${e.type} ${e.name}` : e.type)),
    next:
      `${r.input.mode}` +
      (r.input.mode !== 'voice' ? `, DTMF ${r.input.dtmf.length} digit${r.input.dtmf.length === 1 ? '' : 's'}` : '') +
      (r.input.mode !== 'dtmf' ? `, ${s.noInputTimeoutMs > 0 ? `no input after ${duration(s.noInputTimeoutMs)}` : 'no no-input timer'}, end of speech after ${duration(s.completeTimeoutMs)}` : '') +
      (r.input.bargeIn ? ', barge-in' : '') +
      (r.input.sensitive ? ', sensitive' : ''),
  };
}

function rpcView(r: RpcRecord, callStart: number) {
  const timings: Array<[string, string]> = [];
  const add = (label: string, v: string | undefined) => v !== undefined && timings.push([label, v]);
  add('Speech started', offset(r.speechStartedAt, r.startedAt));
  add('Speech ended', offset(r.speechEndedAt, r.startedAt));
  add('Utterance', r.utteranceMs === undefined ? undefined : duration(r.utteranceMs));
  add('No input at', offset(r.noInputAt, r.startedAt));
  add('Duration', r.durationMs === undefined ? undefined : duration(r.durationMs));
  const status = r.status ?? 'running';
  return {
    seq: r.seq,
    method: r.method,
    startedAt: r.startedAt,
    intoCall: `+${duration(r.startedAt - callStart)}`,
    input: inputLabel(r.input),
    details: inputDetails(r.input),
    timings,
    status,
    statusTone: r.status === undefined ? 'warn' : tone(r.status === 'OK'),
    replies: r.replies.map((x) => replyView(x, r.startedAt)),
  };
}

/** Health details a connector reports (`{ degraded, discovery: {...}, openCircuits }`), as label/value pairs. */
function flatten(obj: Record<string, unknown> | undefined, prefix = ''): Array<[string, string]> {
  if (!obj) return [];
  return Object.entries(obj).flatMap(([k, v]): Array<[string, string]> => {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return flatten(v as Record<string, unknown>, key);
    return [[key, typeof v === 'string' ? v : JSON.stringify(v)]];
  });
}

/**
 * The dashboard's pages: reads the call log and the status service (the same sources as the REST API) and
 * renders them. Thin formatting only; nothing here changes the gateway.
 */
@Injectable()
export class DashboardPages {
  constructor(
    private readonly callLog: CallLogReader,
    private readonly status: StatusReader,
    private readonly views: DashboardViews,
    private readonly monitoring: MonitoringSection,
    private readonly gateway: GatewaySection,
  ) {}

  /** Ending calls is for admins; with auth off anyone who reaches the (loopback) server may. */
  canEnd(auth: RequestAuth): boolean {
    return !(this.monitoring.enabled && this.monitoring.auth.enabled) || auth.principal?.role === 'admin';
  }

  /** `view`: the live region the page's event stream pushes (overview and lists); a call's page fetches itself. */
  private page(template: string, nav: NavKey | undefined, title: string, live: Live, auth: RequestAuth, data: object, callId?: string, view?: LiveView): string {
    const now = Date.now();
    return this.views.render(template, {
      ...data,
      title,
      live,
      callId: callId ?? '',
      events: live === '' ? '' : view === undefined ? '/dashboard/events' : `/dashboard/events?${liveViewQuery(view)}`,
      nav: NAV.map((n) => ({ ...n, current: n.key === nav })),
      gatewayName: this.gateway.name ?? 'BYOVA Gateway',
      version: this.status.version,
      csrfToken: auth.csrfToken,
      user: auth.principal ? { name: auth.principal.email ?? auth.principal.name, role: auth.principal.role, session: auth.principal.via === 'session' } : undefined,
      css: this.views.assetUrl('dashboard.css'),
      js: this.views.assetUrl('dashboard.js'),
      favicon: this.views.assetUrl('favicon.svg'),
      renderedAt: iso(now),
      ...templateHelpers(now),
    });
  }

  overview(auth: RequestAuth): string {
    const view: LiveView = { kind: 'overview' };
    return this.page('overview', 'overview', 'Overview', 'overview', auth, { regionHtml: this.region(view).html }, undefined, view);
  }

  private list(kind: 'calls' | 'history', q: ListQuery, auth: RequestAuth): string {
    const view: LiveView = { kind, page: q.page, agent: q.agent };
    const data = { kind, agent: q.agent, agents: this.status.agents().map((a) => a.id), regionHtml: this.region(view).html };
    return this.page(kind, kind, kind === 'calls' ? 'Active calls' : 'History', kind, auth, data, undefined, view);
  }

  /** A page's live region, the same for every viewer (no per-user content): the page embeds it, the stream pushes it. */
  region(view: LiveView): LiveRegion {
    return view.kind === 'overview' ? { id: 'overview-live', html: this.overviewRegion() } : { id: `${view.kind}-live`, html: this.listRegion(view.kind, view) };
  }

  private overviewRegion(): string {
    const s = this.status.status();
    const minutes = this.callLog.lastHour();
    const degradedConnectors = s.connectors.filter((c) => c.degraded);
    return this.views.render('overview-live', {
      s,
      grpcTone: s.health.grpc_status === 'SERVING' ? 'ok' : s.health.grpc_status === 'DEGRADED' ? 'warn' : 'bad',
      vadTone: tone(!s.vad.degraded),
      drainTone: tone(!s.draining),
      degradedConnectors,
      agents: this.status.agents(),
      calls: callsChart(minutes),
      latency: latencyChart(minutes),
      ...templateHelpers(Date.now()),
    });
  }

  /** The list's summary, table and pager. */
  private listRegion(kind: 'calls' | 'history', q: ListQuery): string {
    const read = (offset: number, limit: number) => (kind === 'calls' ? this.callLog.active({ agentId: q.agent, offset, limit }) : this.callLog.history({ agentId: q.agent, offset, limit }));
    // The total first (a zero-length read), then the page that exists: a page past the end shows the last one.
    const total = read(0, 0).total;
    const w: PageWindow = pageWindow(total, q.page);
    const items: ConversationSummary[] = read(w.offset, w.limit).items;
    const base = `/dashboard/${kind}`;
    return this.views.render('list-live', {
      kind,
      items,
      total,
      w,
      agent: q.agent,
      prevHref: w.prev === undefined ? undefined : pageHref(base, q.agent, w.prev),
      nextHref: w.next === undefined ? undefined : pageHref(base, q.agent, w.next),
      ...templateHelpers(Date.now()),
    });
  }

  calls(q: ListQuery, auth: RequestAuth): string {
    return this.list('calls', q, auth);
  }

  history(q: ListQuery, auth: RequestAuth): string {
    return this.list('history', q, auth);
  }

  /** A call's page, or undefined when the call is unknown (never seen, or out of the history). */
  call(id: string, auth: RequestAuth): string | undefined {
    const c: ConversationDetail | undefined = this.callLog.get(id);
    if (!c) return undefined;
    return this.page('call', c.state === 'active' ? 'calls' : 'history', `Call ${c.id}`, 'call', auth, { c, rpcs: c.rpcs.map((r) => rpcView(r, c.startedAt)), canEnd: this.canEnd(auth) }, c.id);
  }

  agents(auth: RequestAuth): string {
    const s = this.status.status();
    return this.page('agents', 'agents', 'Agents and connectors', '', auth, {
      agents: this.status.agents(),
      connectors: s.connectors.map((c) => ({ ...c, details: flatten(c.health).filter(([k]) => k !== 'degraded') })),
    });
  }

  config(auth: RequestAuth): string {
    const c = this.status.config();
    return this.page('config', 'config', 'Configuration', '', auth, { yaml: toYaml(c.config, { lineWidth: 0 }) });
  }

  error(status: number, message: string, auth: RequestAuth): string {
    const title = status === 404 ? 'Not found' : status === 400 ? 'Bad request' : status === 403 ? 'Forbidden' : `Error ${status}`;
    return this.page('error', undefined, title, '', auth, { status, message });
  }
}
