import { BodyTooLargeError, readLimitedBody } from '../common/read-limited-body';

/** Largest Webex response the gateway reads (a page of data sources is a few KiB). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Longest Retry-After honoured; a larger value is capped. */
const MAX_RETRY_AFTER_MS = 3600_000;

/**
 * A failed Webex request. `transient`: worth retrying as is (network, timeout, 408, 429, 5xx); otherwise the
 * request or the credentials need fixing. The message never holds a token or a request body.
 */
export class WebexApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly transient = true,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'WebexApiError';
  }
}

export interface WebexResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface WebexRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL (`/dataSources`), or an absolute URL on the same origin (a `Link: next` page). */
  path: string;
  token?: string;
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(v: string | null, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const ms = /^\d+$/.test(v.trim()) ? Number(v.trim()) * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/** Reads at most `limit` bytes of a body; more is an error (and the rest is not downloaded). */
async function readLimited(res: Response, limit: number): Promise<string> {
  try {
    return await readLimitedBody(res, limit);
  } catch (e) {
    if (e instanceof BodyTooLargeError) throw new WebexApiError(`response too large (${e.announced !== undefined ? `${e.announced} bytes` : `over ${limit} bytes`})`, res.status, false);
    throw e;
  }
}

/** Webex's error text (`message`, or the first of `errors[].description`), short; never the whole body. */
function errorText(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; error_description?: unknown; errors?: Array<{ description?: unknown }> };
    const t = b.message ?? b.error_description ?? b.errors?.[0]?.description;
    if (typeof t === 'string') return t.slice(0, 200);
  }
  return '';
}

/**
 * The one way this module talks HTTP to Webex: every request bounded in time (`timeoutMs`, also covering the
 * body) and in response size, JSON in and out, errors classified for retrying.
 */
export class WebexHttp {
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
    private readonly maxBytes = MAX_RESPONSE_BYTES,
  ) {
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  }

  url(path: string): URL {
    if (/^https?:\/\//.test(path)) {
      const u = new URL(path);
      // A pagination link elsewhere would receive our token.
      if (u.origin !== this.base.origin) throw new WebexApiError(`refusing to follow a link to ${u.origin}`, undefined, false);
      return u;
    }
    return new URL(path.replace(/^\//, ''), this.base);
  }

  async request(req: WebexRequest, signal?: AbortSignal): Promise<WebexResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (req.token) headers.authorization = `Bearer ${req.token}`;
    let body: string | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const all = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const what = `${req.method} ${this.url(req.path).pathname}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url(req.path), { method: req.method, headers, body, signal: all, redirect: 'error' });
      text = await readLimited(res, this.maxBytes);
    } catch (e) {
      if (e instanceof WebexApiError) throw e;
      if (signal?.aborted) throw new WebexApiError(`${what}: cancelled`, undefined, false);
      if (timeout.aborted) throw new WebexApiError(`${what}: no answer within ${this.timeoutMs} ms`);
      // fetch says only "fetch failed"; the cause names the network problem (ECONNREFUSED, ENOTFOUND, ...).
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new WebexApiError(`${what}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.ok) throw new WebexApiError(`${what}: response is not JSON`, res.status);
      }
    }
    if (!res.ok) {
      const s = res.status;
      const transient = s === 408 || s === 429 || s >= 500;
      const detail = errorText(parsed);
      throw new WebexApiError(`${what}: HTTP ${s}${detail ? ` ${detail}` : ''}`, s, transient, parseRetryAfter(res.headers.get('retry-after')));
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }
}
