import type { TokenProvider } from './webex-auth';
import { WebexApiError, type WebexHttp, type WebexRequest, type WebexResponse } from './webex-http';

/** A data source as Webex returns it (the fields the gateway uses; others are kept in `raw` form by nobody). */
export interface DataSource {
  id: string;
  schemaId?: string;
  url?: string;
  audience?: string;
  subject?: string;
  status?: string;
  tokenExpiryTime?: string;
  jwsToken?: string;
  errorMessage?: string;
}

/** What PUT and POST send: PUT takes the whole record. */
export interface DataSourceBody {
  schemaId: string;
  url: string;
  audience: string;
  subject: string;
  nonce: string;
  tokenLifetimeMinutes: number;
  status?: 'active' | 'disabled';
  errorMessage?: string;
}

/** Most pages of `GET /dataSources` followed (Link: rel="next"); an org has a handful of data sources. */
const MAX_PAGES = 20;
const MAX_ITEMS = 5000;

function asDataSource(v: unknown, what: string): DataSource {
  if (!v || typeof v !== 'object' || typeof (v as DataSource).id !== 'string' || !(v as DataSource).id) {
    throw new WebexApiError(`${what}: response has no data source id`, undefined, false);
  }
  return v as DataSource;
}

function nextLink(res: WebexResponse): string | undefined {
  const link = res.headers.get('link');
  return link?.split(',').map((p) => /<([^>]+)>\s*;\s*rel="?next"?/.exec(p)?.[1]).find(Boolean);
}

/**
 * Webex's /dataSources API. Every call takes a token from the provider; a 401 makes it drop that token, get a new
 * one and try once more (a token revoked or expired early), after which the 401 stands.
 */
export class WebexDataSourcesClient {
  constructor(
    private readonly http: WebexHttp,
    private readonly tokens: TokenProvider,
  ) {}

  private async call(req: Omit<WebexRequest, 'token'>, signal?: AbortSignal): Promise<WebexResponse> {
    const token = await this.tokens.token(signal);
    try {
      return await this.http.request({ ...req, token }, signal);
    } catch (e) {
      if (!(e instanceof WebexApiError) || e.status !== 401) throw e;
      this.tokens.invalidate(token);
      const again = await this.tokens.token(signal);
      return this.http.request({ ...req, token: again }, signal).catch((e2: unknown) => {
        if (e2 instanceof WebexApiError && e2.status === 401) {
          throw new WebexApiError(`${e2.message} (after a new access token): check the credentials and their scopes`, 401, false);
        }
        throw e2;
      });
    }
  }

  async list(signal?: AbortSignal): Promise<DataSource[]> {
    const out: DataSource[] = [];
    let path: string | undefined = '/dataSources';
    for (let page = 0; path && page < MAX_PAGES; page++) {
      const res = await this.call({ method: 'GET', path }, signal);
      const items = (res.body as { items?: unknown })?.items;
      if (!Array.isArray(items)) throw new WebexApiError('GET /dataSources: response has no items list', undefined, false);
      for (const i of items) if (out.length < MAX_ITEMS && i && typeof i === 'object' && typeof i.id === 'string') out.push(i as DataSource);
      path = nextLink(res);
    }
    return out;
  }

  /** undefined when Webex does not know the id (404). */
  async get(id: string, signal?: AbortSignal): Promise<DataSource | undefined> {
    try {
      const res = await this.call({ method: 'GET', path: `/dataSources/${encodeURIComponent(id)}` }, signal);
      return asDataSource(res.body, 'GET /dataSources/{id}');
    } catch (e) {
      if (e instanceof WebexApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async create(body: DataSourceBody, signal?: AbortSignal): Promise<DataSource> {
    const res = await this.call({ method: 'POST', path: '/dataSources', json: body }, signal);
    return asDataSource(res.body, 'POST /dataSources');
  }

  async update(id: string, body: DataSourceBody, signal?: AbortSignal): Promise<DataSource> {
    const res = await this.call({ method: 'PUT', path: `/dataSources/${encodeURIComponent(id)}`, json: body }, signal);
    return asDataSource(res.body, 'PUT /dataSources/{id}');
  }

  async remove(id: string, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'DELETE', path: `/dataSources/${encodeURIComponent(id)}` }, signal);
  }
}
