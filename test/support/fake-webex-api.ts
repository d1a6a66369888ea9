import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A data source as the fake keeps it (Webex's fields). */
export interface FakeDataSource {
  id: string;
  schemaId: string;
  orgId: string;
  applicationId: string;
  url: string;
  audience: string;
  subject: string;
  nonce: string;
  jwsToken: string;
  status: 'active' | 'disabled';
  tokenExpiryTime: string;
  errorMessage?: string;
}

/** One injected failure: the next `times` requests matching `method`/`path` get it instead of an answer. */
export interface Fault {
  method?: string;
  /** A regular expression on the path below /v1, e.g. /^\/dataSources/ . */
  path?: RegExp;
  times?: number;
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long before answering (longer than the client's timeout: a hung server). */
  delayMs?: number;
  /** Drop the connection without an answer. */
  reset?: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  at: number;
  /** Parsed JSON or form body (tests check what was sent). */
  body?: Record<string, unknown>;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/**
 * Webex's token and data source API on 127.0.0.1, for tests, as `webex-byods-notes.md` describes it: the OAuth
 * refresh grant (`POST /v1/access_token`), service-app tokens (`POST /v1/applications/{id}/token`), and
 * `/v1/dataSources` (list with `Link` pagination, read, register, full-body PUT with a fresh nonce, delete), every
 * data source call needing a live access token. A data source's token lives `tokenLifetimeMinutes` ×
 * `secondsPerMinute` seconds, so tests can use lifetimes of seconds. Faults (5xx, 429 + Retry-After, hangs,
 * resets), downtime, token revocation and a registration barrier are injectable.
 */
export class FakeWebexApi {
  readonly clientId = 'C-test-client';
  readonly clientSecret = randomBytes(16).toString('hex');
  readonly refreshToken = `RT-${randomBytes(12).toString('hex')}`;
  /** A user token with spark:applications_token, for the service-app flow. */
  readonly personalToken = `PT-${randomBytes(12).toString('hex')}`;
  readonly appId = 'APP-1';
  readonly orgId = 'ORG-1';
  /** Seconds one "minute" of a data source token lasts. */
  secondsPerMinute = 60;
  /** Lifetime of access tokens handed out (expires_in). */
  accessTokenSeconds = 14 * 24 * 3600;
  /** Items per page of GET /dataSources. */
  pageSize = 100;
  /** When > 1: POST /dataSources answers only once this many registrations are waiting (or after 2 s). */
  registrationBarrier = 0;
  /** While true, every request has its connection dropped. */
  down = false;
  readonly dataSources = new Map<string, FakeDataSource>();
  readonly requests: LoggedRequest[] = [];
  readonly faults: Fault[] = [];
  private readonly accessTokens = new Set<string>();
  private waitingRegistrations: Array<() => void> = [];
  private server?: Server;
  private nextId = 1;

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }
  /** data_source.api_base_url for the gateway. */
  get baseUrl(): string {
    return `${this.url}/v1`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return this;
  }

  async stop(): Promise<void> {
    for (const r of this.waitingRegistrations) r();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Every access token handed out so far stops working (the next call gets 401). */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** A data source created directly, as an administrator or another tool would. */
  seed(fields: Partial<FakeDataSource> & { url: string }, lifetimeMinutes = 60): FakeDataSource {
    const ds = this.issue(
      {
        id: `DS-${this.nextId++}`,
        schemaId: '5397013b-7920-4ffc-807c-e8a3e0a18f43',
        orgId: this.orgId,
        applicationId: this.appId,
        audience: 'BYOVAGateway',
        subject: 'callAudioData',
        nonce: randomUUID(),
        status: 'active',
        ...fields,
      } as FakeDataSource,
      lifetimeMinutes,
    );
    this.dataSources.set(ds.id, ds);
    return ds;
  }

  /** A renewal made by someone else (another replica, another tool), with its own lifetime. */
  renewElsewhere(id: string, lifetimeMinutes: number): FakeDataSource {
    const ds = this.dataSources.get(id)!;
    ds.nonce = randomUUID();
    return this.issue(ds, lifetimeMinutes);
  }

  /** Requests matching method and a path regular expression. */
  count(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.method === method && path.test(r.path)).length;
  }

  private issue(ds: FakeDataSource, lifetimeMinutes: number): FakeDataSource {
    const iat = Date.now();
    const exp = iat + lifetimeMinutes * this.secondsPerMinute * 1000;
    // Shaped like Webex's JWS (header.claims.signature); the lifecycle reads iat/exp, never verifies it.
    const claims = { iss: 'https://idbroker.webex.com/idb', aud: ds.audience, sub: ds.subject, iat: iat / 1000, exp: exp / 1000, jti: randomUUID(), 'com.cisco.datasource.url': ds.url };
    ds.jwsToken = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.${randomBytes(8).toString('base64url')}`;
    ds.tokenExpiryTime = new Date(exp).toISOString();
    return ds;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/v1/, '');
    const raw = await new Promise<string>((resolve) => {
      let s = '';
      req.on('data', (c) => (s += c));
      req.on('end', () => resolve(s));
    });
    let body: Record<string, unknown> | undefined;
    try {
      body = raw ? (req.headers['content-type']?.includes('json') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw))) : undefined;
    } catch {
      body = undefined;
    }
    const entry: LoggedRequest = { method: req.method ?? '', path, status: 0, at: Date.now(), body };
    this.requests.push(entry);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      if (res.destroyed) return;
      res.writeHead(status, { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    if (this.down) {
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    const fault = this.faults.find((f) => (!f.method || f.method === req.method) && (!f.path || f.path.test(path)) && (f.times ?? 1) > 0);
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.reset) {
        entry.status = -1;
        req.socket.destroy();
        return;
      }
      if (fault.status) return send(fault.status, fault.body ?? { message: 'injected failure' }, fault.headers);
    }
    this.route(req.method ?? '', path, url, req.headers.authorization, body, send);
    if (req.method === 'POST' && path === '/dataSources' && entry.status === 0) await this.registered(send, body!);
  }

  private route(
    method: string,
    path: string,
    url: URL,
    authorization: string | undefined,
    body: Record<string, unknown> | undefined,
    send: (status: number, payload?: unknown, headers?: Record<string, string>) => void,
  ): void {
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
    if (method === 'POST' && path === '/access_token') {
      const ok = body?.grant_type === 'refresh_token' && body.client_id === this.clientId && body.client_secret === this.clientSecret && body.refresh_token === this.refreshToken;
      if (!ok) return send(400, { error: 'invalid_grant', error_description: 'bad refresh token or client' });
      return send(200, this.newAccessToken());
    }
    const appToken = /^\/applications\/([^/]+)\/token$/.exec(path);
    if (method === 'POST' && appToken) {
      if (bearer !== this.personalToken) return send(401, { message: 'The request requires a valid access token.' });
      const ok = appToken[1] === this.appId && body?.clientId === this.clientId && body?.clientSecret === this.clientSecret && body?.targetOrgId === this.orgId;
      if (!ok) return send(400, { message: 'bad service app credentials' });
      return send(200, this.newAccessToken());
    }
    if (!path.startsWith('/dataSources')) return send(404, { message: 'no such endpoint' });
    if (!bearer || !this.accessTokens.has(bearer)) return send(401, { message: 'The request requires a valid access token.' });

    const one = /^\/dataSources\/([^/]+)$/.exec(path);
    if (method === 'GET' && path === '/dataSources') {
      const all = [...this.dataSources.values()];
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const items = all.slice(start, start + this.pageSize);
      const headers: Record<string, string> = start + this.pageSize < all.length ? { link: `<${this.baseUrl}/dataSources?cursor=${start + this.pageSize}>; rel="next"` } : {};
      return send(200, { items }, headers);
    }
    if (method === 'POST' && path === '/dataSources') {
      const problem = this.invalid(body, false);
      if (problem) return send(400, { message: problem });
      return; // answered by registered(), after the barrier
    }
    if (one) {
      const ds = this.dataSources.get(one[1]);
      if (!ds) return send(404, { message: 'data source not found' });
      if (method === 'GET') return send(200, ds);
      if (method === 'DELETE') {
        this.dataSources.delete(ds.id);
        return send(204);
      }
      if (method === 'PUT') {
        const problem = this.invalid(body, true);
        if (problem) return send(400, { message: problem });
        if (body!.nonce === ds.nonce) return send(400, { message: 'nonce already used' });
        const b = body as Record<string, string>;
        Object.assign(ds, { schemaId: b.schemaId, url: b.url, audience: b.audience, subject: b.subject, nonce: b.nonce, status: b.status ?? 'active', errorMessage: b.errorMessage });
        this.issue(ds, Number(body!.tokenLifetimeMinutes));
        return send(200, ds);
      }
    }
    return send(405, { message: 'method not allowed' });
  }

  private async registered(send: (status: number, payload?: unknown) => void, body: Record<string, unknown>): Promise<void> {
    if (this.registrationBarrier > 1) {
      await new Promise<void>((resolve) => {
        this.waitingRegistrations.push(resolve);
        if (this.waitingRegistrations.length >= this.registrationBarrier) {
          for (const r of this.waitingRegistrations.splice(0)) r();
        } else setTimeout(resolve, 2000);
      });
    }
    const b = body as Record<string, string>;
    const ds = this.issue(
      {
        id: `DS-${this.nextId++}`,
        schemaId: b.schemaId,
        orgId: this.orgId,
        applicationId: this.appId,
        url: b.url,
        audience: b.audience,
        subject: b.subject,
        nonce: b.nonce,
        status: 'active',
      } as FakeDataSource,
      Number(body.tokenLifetimeMinutes),
    );
    this.dataSources.set(ds.id, ds);
    send(200, ds);
  }

  private invalid(body: Record<string, unknown> | undefined, put: boolean): string | undefined {
    if (!body) return 'JSON body required';
    for (const k of ['schemaId', 'url', 'audience', 'subject', 'nonce']) if (typeof body[k] !== 'string' || !body[k]) return `${k} is required`;
    const life = body.tokenLifetimeMinutes;
    if (typeof life !== 'number' || !Number.isInteger(life) || life < 1 || life > 1440) return 'tokenLifetimeMinutes must be 1..1440';
    if (put && body.status !== undefined && body.status !== 'active' && body.status !== 'disabled') return 'status must be active or disabled';
    return undefined;
  }

  private newAccessToken() {
    const token = `AT-${randomBytes(12).toString('hex')}`;
    this.accessTokens.add(token);
    return { access_token: token, expires_in: this.accessTokenSeconds, refresh_token: this.refreshToken, refresh_token_expires_in: 90 * 24 * 3600, token_type: 'Bearer' };
  }
}
