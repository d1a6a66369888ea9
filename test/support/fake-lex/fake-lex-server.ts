import { performance } from 'node:perf_hooks';
import { decodeLexHeader, encodeLexHeader, pcmLevelDbfs, pcmTone } from './lex-codec';
import { tinyBot } from './tiny-bot';
import { listen, type Exchange, type Listener } from './transport';
import type {
  FailureKind,
  FakeBot,
  FakeBotAlias,
  LexOp,
  LexReply,
  LexTurn,
  Message,
  RecordedRequest,
  SessionState,
  TurnHandler,
} from './types';

export interface FakeLexOptions {
  /** Bots served by ListBots/ListBotAliases and accepted by the runtime (default: DEFAULT_FAKE_BOTS). */
  bots?: FakeBot[];
  /** Caps every page (below the request's maxResults) so paging is exercised with few bots. */
  pageSize?: number;
  /** Request bodies above this are drained, not kept, and answered with ValidationException (default 5 MB). */
  maxBodyBytes?: number;
}

/** One bot with a live alias and the TestBotAlias every Lex V2 bot has. */
export const DEFAULT_FAKE_BOTS: FakeBot[] = [
  {
    botId: 'BANKBOT001',
    botName: 'Banking',
    latestBotVersion: '1',
    lastUpdatedDateTime: new Date('2026-01-02T03:04:05Z'),
    aliases: [
      { botAliasId: 'TSTALIASID', botAliasName: 'TestBotAlias', botVersion: 'DRAFT', lastUpdatedDateTime: new Date('2026-01-01T00:00:00Z') },
      { botAliasId: 'LIVEALIAS1', botAliasName: 'live', botVersion: '1', lastUpdatedDateTime: new Date('2026-01-02T03:04:05Z') },
    ],
  },
];

interface ErrorSpec {
  status: number;
  type: string;
  message: string;
}

const AWS_ERRORS: Record<Exclude<FailureKind, 'reset' | 'disconnect' | 'hang'>, ErrorSpec> = {
  throttle: { status: 429, type: 'ThrottlingException', message: 'Rate exceeded' },
  internal: { status: 500, type: 'InternalServerException', message: 'Internal server error' },
  // Not modelled by the Lex clients: the SDK surfaces it as a generic service exception with this name.
  'internal-failure': { status: 500, type: 'InternalFailureException', message: 'The request processing has failed because of an unknown error' },
  'bad-gateway': { status: 502, type: 'BadGatewayException', message: 'Bad gateway' },
  'dependency-failed': { status: 424, type: 'DependencyFailedException', message: 'Lambda function failed' },
  conflict: { status: 409, type: 'ConflictException', message: 'Conflict' },
  validation: { status: 400, type: 'ValidationException', message: 'Invalid request' },
  'not-found': { status: 404, type: 'ResourceNotFoundException', message: 'Resource not found' },
  'access-denied': { status: 403, type: 'AccessDeniedException', message: 'User is not authorized to perform this action' },
};

const RUNTIME_PATH = /^\/bots\/([^/]+)\/botAliases\/([^/]+)\/botLocales\/([^/]+)\/sessions\/([^/]+)(?:\/(utterance|text))?\/?$/;
const LIST_ALIASES_PATH = /^\/bots\/([^/]+)\/botaliases\/?$/;
const SESSION_ID = /^[0-9a-zA-Z._:-]{2,100}$/;
const RESPONSE_TYPES = ['audio/pcm', 'audio/mpeg', 'audio/ogg', 'audio/*', 'text/plain; charset=utf-8'];

class LexError extends Error {
  constructor(readonly spec: ErrorSpec) {
    super(spec.message);
  }
}
const validation = (message: string) => new LexError({ status: 400, type: 'ValidationException', message });
const notFound = (message: string) => new LexError({ status: 404, type: 'ResourceNotFoundException', message });

/**
 * A protocol-level fake of Amazon Lex V2 (runtime + the models calls used for discovery), speaking h2c like
 * the SDK's default Node handler, so tests drive it through the real AWS SDK clients with `endpoint: lex.url`.
 */
export class FakeLexServer {
  readonly requests: RecordedRequest[] = [];
  private bots: FakeBot[];
  private readonly sessionsByKey = new Map<string, SessionState>();
  private readonly failures: Array<{ op: LexOp | '*'; kind: FailureKind; remaining: number }> = [];
  private delays: Array<{ op: LexOp | '*'; ms: number; match?: (req: RecordedRequest) => boolean }> = [];
  private readonly heard: string[] = [];
  private handler: TurnHandler | undefined;
  private readonly stopping = new AbortController();
  private readonly pageSize: number;
  private readonly maxBodyBytes: number;
  private reqSeq = 0;

  private constructor(opts: FakeLexOptions) {
    this.bots = opts.bots ?? DEFAULT_FAKE_BOTS;
    this.pageSize = opts.pageSize ?? Infinity;
    this.maxBodyBytes = opts.maxBodyBytes ?? 5 * 1024 * 1024;
  }

  /** 'http://127.0.0.1:PORT', for the SDK clients' `endpoint` (runtime and models alike). */
  get url(): string {
    return `http://127.0.0.1:${this.listener.port}`;
  }

  private listener: Listener;

  static async start(opts: FakeLexOptions = {}): Promise<FakeLexServer> {
    const lex = new FakeLexServer(opts);
    lex.listener = await listen((ex) => void lex.handle(ex));
    return lex;
  }

  /** Scripted replies for RecognizeUtterance/RecognizeText; return undefined to use the tiny bot. */
  onTurn(handler: TurnHandler | undefined): void {
    this.handler = handler;
  }

  /** Transcripts the next non-silent audio turns "hear", in order (default 'hello'). Silence hears ''. */
  hear(...transcripts: string[]): void {
    this.heard.push(...transcripts);
  }

  /** The next `count` calls of `op` ('*' = any operation) fail with `kind`. */
  failNext(op: LexOp | '*', kind: FailureKind, count = 1): void {
    this.failures.push({ op, kind, remaining: count });
  }

  /**
   * Service time before every answer to `op` ('*' = any) until changed; 0 clears. Recorded as serviceMs.
   * `match` narrows it (e.g. one bot or session) so a slow Lex can be tested next to fast calls.
   */
  delay(op: LexOp | '*', ms: number, match?: (req: RecordedRequest) => boolean): void {
    this.delays = this.delays.filter((d) => !(d.op === op && d.match === match));
    if (ms > 0) this.delays.unshift({ op, ms, match });
  }

  setBots(bots: FakeBot[]): void {
    this.bots = bots;
  }

  /** The stored session state (what Lex would use if the next request sends none). */
  getSession(sessionId: string, botId?: string): SessionState | undefined {
    for (const [key, state] of this.sessionsByKey) {
      const [b, , , s] = key.split('\u0000');
      if (s === sessionId && (botId === undefined || b === botId)) return state;
    }
    return undefined;
  }

  /** Recorded calls of one operation. */
  calls(op: LexOp): RecordedRequest[] {
    return this.requests.filter((r) => r.op === op);
  }

  /** Cuts every connection at once (in-flight calls fail on the client), then closes the listener. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.listener.close();
  }

  // ---------------------------------------------------------------------------------------------------

  private async handle(ex: Exchange): Promise<void> {
    const { method } = ex;
    const path = ex.path.split('?')[0];
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(ex.headers)) if (!k.startsWith(':') && v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : String(v);
    const rec: RecordedRequest = {
      op: 'Unknown',
      protocol: ex.protocol,
      connection: ex.connection,
      method,
      path: ex.path,
      headers: flat,
      at: performance.timeOrigin + performance.now(),
      serviceMs: 0,
    };

    const m = RUNTIME_PATH.exec(path);
    const la = LIST_ALIASES_PATH.exec(path);
    if (m) {
      [rec.botId, rec.aliasId, rec.localeId, rec.sessionId] = m.slice(1, 5).map(safeDecode);
      if (method === 'POST' && m[5] === 'utterance') rec.op = 'RecognizeUtterance';
      else if (method === 'POST' && m[5] === 'text') rec.op = 'RecognizeText';
      else if (method === 'DELETE' && !m[5]) rec.op = 'DeleteSession';
      else if (method === 'GET' && !m[5]) rec.op = 'GetSession';
      else if (method === 'POST' && !m[5]) rec.op = 'PutSession';
    } else if (method === 'POST' && (path === '/bots' || path === '/bots/')) {
      rec.op = 'ListBots';
    } else if (method === 'POST' && la) {
      rec.op = 'ListBotAliases';
      rec.botId = safeDecode(la[1]);
    }
    this.requests.push(rec);
    const id = `fake-${++this.reqSeq}`;

    try {
      const body = await this.readBody(ex);
      if (ex.gone()) return this.finish(rec, 0, 'client-gone');

      const delay = this.delays.find((d) => (d.op === rec.op || d.op === '*') && (!d.match || d.match(rec)))?.ms ?? 0;
      if (delay > 0) {
        rec.serviceMs = delay;
        if (!(await this.sleep(delay, ex))) return this.finish(rec, 0, 'client-gone');
      }
      const failure = this.takeFailure(rec.op);
      if (failure === 'reset') {
        ex.reset();
        return this.finish(rec, 0, 'reset');
      }
      if (failure === 'disconnect') {
        ex.disconnect();
        return this.finish(rec, 0, 'disconnect');
      }
      if (failure === 'hang') {
        await this.sleep(Infinity, ex);
        return this.finish(rec, 0, 'hang');
      }
      if (failure) throw new LexError(AWS_ERRORS[failure]);
      if (body === 'too-large') throw validation(`Request body exceeds ${this.maxBodyBytes} bytes`);

      switch (rec.op) {
        case 'RecognizeUtterance':
          return await this.recognizeUtterance(rec, ex, body, id);
        case 'RecognizeText':
          return await this.recognizeText(rec, ex, body, id);
        case 'PutSession':
          return this.putSession(rec, ex, body, id);
        case 'DeleteSession':
        case 'GetSession':
          return this.sessionOp(rec, ex, id);
        case 'ListBots':
          return this.listBots(rec, ex, body, id);
        case 'ListBotAliases':
          return this.listBotAliases(rec, ex, body, id);
        default:
          throw new LexError({ status: 404, type: 'UnknownOperationException', message: `No operation for ${method} ${path}` });
      }
    } catch (e) {
      const spec = e instanceof LexError ? e.spec : { status: 500, type: 'InternalServerException', message: `fake-lex: ${(e as Error).message}` };
      if (ex.gone()) return this.finish(rec, 0, spec.type);
      ex.respond(spec.status, { 'content-type': 'application/json', 'x-amzn-errortype': spec.type, 'x-amzn-requestid': id }, JSON.stringify({ message: spec.message }));
      this.finish(rec, spec.status, spec.type);
    }
  }

  private finish(rec: RecordedRequest, status: number, error?: string): void {
    rec.status = status;
    if (error) rec.error = error;
    rec.respondedAt = performance.timeOrigin + performance.now();
  }

  private takeFailure(op: LexOp): FailureKind | undefined {
    const i = this.failures.findIndex((f) => f.op === op || f.op === '*');
    if (i < 0) return undefined;
    const f = this.failures[i];
    if (--f.remaining <= 0) this.failures.splice(i, 1);
    return f.kind;
  }

  /** Resolves true after `ms`, false early if the client goes away or the server stops. */
  private sleep(ms: number, ex: Exchange): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        this.stopping.signal.removeEventListener('abort', onGone);
        resolve(ok);
      };
      const onGone = () => done(false);
      const timer = Number.isFinite(ms) ? setTimeout(() => done(true), ms) : undefined;
      const unsubscribe = ex.onGone(onGone);
      this.stopping.signal.addEventListener('abort', onGone, { once: true });
    });
  }

  /** The body, or 'too-large' once it passes maxBodyBytes (the rest is drained, not kept). */
  private readBody(ex: Exchange): Promise<Buffer | 'too-large'> {
    const stream = ex.body;
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > this.maxBodyBytes) {
          tooLarge = true;
          chunks.length = 0;
        } else chunks.push(c);
      });
      stream.once('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
      stream.once('close', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    });
  }

  private findBot(rec: RecordedRequest): { bot: FakeBot; alias: FakeBotAlias } {
    const bot = this.bots.find((b) => b.botId === rec.botId);
    if (!bot) throw notFound(`Bot ${rec.botId} not found`);
    const alias = bot.aliases.find((a) => a.botAliasId === rec.aliasId);
    if (!alias) throw notFound(`Bot alias ${rec.aliasId} not found for bot ${rec.botId}`);
    if (!(bot.locales ?? ['en_US']).includes(rec.localeId ?? '')) throw notFound(`Locale ${rec.localeId} not found for bot ${rec.botId}`);
    if (!SESSION_ID.test(rec.sessionId ?? '')) throw validation(`sessionId must match ${SESSION_ID.source}`);
    return { bot, alias };
  }

  private sessionKey(rec: RecordedRequest): string {
    return [rec.botId, rec.aliasId, rec.localeId, rec.sessionId].join('\u0000');
  }

  private async recognizeUtterance(rec: RecordedRequest, ex: Exchange, body: Buffer, id: string): Promise<void> {
    const h = rec.headers;
    rec.contentType = h['content-type'];
    rec.responseContentType = h['response-content-type'];
    try {
      if (h['x-amz-lex-session-state']) rec.sessionState = decodeLexHeader<SessionState>(h['x-amz-lex-session-state']);
    } catch {
      throw validation('x-amz-lex-session-state must be gzip-compressed, base64-encoded JSON');
    }
    try {
      if (h['x-amz-lex-request-attributes']) rec.requestAttributes = decodeLexHeader<Record<string, string>>(h['x-amz-lex-request-attributes']);
    } catch {
      throw validation('x-amz-lex-request-attributes must be gzip-compressed, base64-encoded JSON');
    }
    this.findBot(rec);
    const input = parseRequestContentType(rec.contentType);
    if (!input) throw validation(`Unsupported requestContentType: ${rec.contentType ?? '(none)'}`);
    if (rec.responseContentType !== undefined && !RESPONSE_TYPES.includes(normalizeType(rec.responseContentType)))
      throw validation(`Unsupported responseContentType: ${rec.responseContentType}`);

    let text: string;
    if (input.kind === 'text') {
      rec.text = text = body.toString('utf8');
    } else {
      rec.audio = body;
      rec.sampleRate = input.sampleRate;
      // Opus cannot be inspected here: treat it as speech.
      const silent = input.kind === 'pcm' && pcmLevelDbfs(body) < -50;
      rec.transcript = text = silent ? '' : (this.heard.shift() ?? 'hello');
    }
    const { reply, session } = await this.runTurn(rec, text);
    const respType = normalizeType(rec.responseContentType ?? 'text/plain; charset=utf-8');
    const audio = respType === 'audio/pcm' ? replyAudio(reply) : Buffer.alloc(0);
    const out: Record<string, string | undefined> = {
      'content-type': respType === 'audio/*' ? 'audio/mpeg' : respType,
      'x-amz-lex-session-id': rec.sessionId,
      'x-amz-lex-input-mode': input.kind === 'text' ? 'Text' : 'Speech',
      'x-amz-lex-session-state': encodeLexHeader(session),
      'x-amz-lex-input-transcript': encodeLexHeader(reply.inputTranscript ?? text),
      'x-amzn-requestid': id,
    };
    const messages = toMessages(reply.messages);
    if (messages.length) out['x-amz-lex-messages'] = encodeLexHeader(messages);
    if (reply.interpretations) out['x-amz-lex-interpretations'] = encodeLexHeader(reply.interpretations);
    const attrs = reply.requestAttributes ?? rec.requestAttributes;
    if (attrs) out['x-amz-lex-request-attributes'] = encodeLexHeader(attrs);
    if (ex.gone()) return this.finish(rec, 0, 'client-gone');
    ex.respond(200, out, audio);
    this.finish(rec, 200);
  }

  private async recognizeText(rec: RecordedRequest, ex: Exchange, body: Buffer, id: string): Promise<void> {
    const json = parseJson(body);
    rec.body = json;
    if (typeof json.text !== 'string' || json.text === '') throw validation('text is required');
    rec.text = json.text;
    if (json.sessionState) rec.sessionState = json.sessionState as SessionState;
    if (json.requestAttributes) rec.requestAttributes = json.requestAttributes as Record<string, string>;
    this.findBot(rec);
    const { reply, session } = await this.runTurn(rec, json.text);
    this.json(rec, ex, id, {
      messages: toMessages(reply.messages),
      sessionState: session,
      interpretations: reply.interpretations ?? [],
      requestAttributes: reply.requestAttributes ?? rec.requestAttributes,
      sessionId: rec.sessionId,
    });
  }

  private async runTurn(rec: RecordedRequest, input: string): Promise<{ reply: LexReply; session: SessionState }> {
    const key = this.sessionKey(rec);
    const turn: LexTurn = { ...rec, op: rec.op as LexTurn['op'], input, session: rec.sessionState ?? this.sessionsByKey.get(key) ?? {} };
    const reply = (await this.handler?.(turn)) ?? tinyBot(turn);
    const session = reply.sessionState ?? turn.session;
    this.sessionsByKey.set(key, session);
    return { reply, session };
  }

  /** Sets the session state as given and plays back the given messages; the bot itself does not run. */
  private putSession(rec: RecordedRequest, ex: Exchange, body: Buffer, id: string): void {
    const json = (rec.body = parseJson(body));
    rec.responseContentType = rec.headers['responsecontenttype']; // PutSession's header name differs from RecognizeUtterance's
    if (!json.sessionState || typeof json.sessionState !== 'object') throw validation('sessionState is required');
    rec.sessionState = json.sessionState as SessionState;
    if (json.requestAttributes) rec.requestAttributes = json.requestAttributes as Record<string, string>;
    this.findBot(rec);
    if (rec.responseContentType !== undefined && !RESPONSE_TYPES.includes(normalizeType(rec.responseContentType)))
      throw validation(`Unsupported responseContentType: ${rec.responseContentType}`);
    this.sessionsByKey.set(this.sessionKey(rec), rec.sessionState);
    const messages = toMessages(json.messages as Message[] | undefined);
    const respType = normalizeType(rec.responseContentType ?? 'text/plain; charset=utf-8');
    const out: Record<string, string | undefined> = {
      'content-type': respType === 'audio/*' ? 'audio/mpeg' : respType,
      'x-amz-lex-session-id': rec.sessionId,
      'x-amz-lex-session-state': encodeLexHeader(rec.sessionState),
      'x-amz-lex-messages': messages.length ? encodeLexHeader(messages) : undefined,
      'x-amz-lex-request-attributes': rec.requestAttributes ? encodeLexHeader(rec.requestAttributes) : undefined,
      'x-amzn-requestid': id,
    };
    if (ex.gone()) return this.finish(rec, 0, 'client-gone');
    ex.respond(200, out, respType === 'audio/pcm' ? replyAudio({ messages }) : Buffer.alloc(0));
    this.finish(rec, 200);
  }

  private sessionOp(rec: RecordedRequest, ex: Exchange, id: string): void {
    this.findBot(rec);
    const key = this.sessionKey(rec);
    const state = this.sessionsByKey.get(key);
    if (rec.op === 'GetSession') {
      if (!state) throw notFound(`Session ${rec.sessionId} not found`);
      return this.json(rec, ex, id, { sessionId: rec.sessionId, sessionState: state, messages: [], interpretations: [] });
    }
    this.sessionsByKey.delete(key);
    this.json(rec, ex, id, { botId: rec.botId, botAliasId: rec.aliasId, localeId: rec.localeId, sessionId: rec.sessionId });
  }

  private listBots(rec: RecordedRequest, ex: Exchange, body: Buffer, id: string): void {
    const req = (rec.body = parseJson(body));
    let bots = [...this.bots];
    for (const f of (req.filters ?? []) as Array<{ name: string; values: string[]; operator: string }>) {
      if (f.name !== 'BotName') continue; // BotType filters: every fake bot is a plain Bot
      const hit = (n: string) => f.values.some((v) => (f.operator === 'CO' || f.operator === 'NCO' ? n.includes(v) : n === v));
      bots = bots.filter((b) => (f.operator === 'NE' || f.operator === 'NCO' ? !hit(b.botName) : hit(b.botName)));
    }
    const sort = req.sortBy as { attribute?: string; order?: string } | undefined;
    bots.sort((a, b) => a.botName.localeCompare(b.botName) * (sort?.order === 'Descending' ? -1 : 1));
    const page = this.page(bots, req);
    this.json(rec, ex, id, {
      botSummaries: page.items.map((b) => ({
        botId: b.botId,
        botName: b.botName,
        description: b.description,
        botStatus: b.botStatus ?? 'Available',
        latestBotVersion: b.latestBotVersion ?? '1',
        lastUpdatedDateTime: epochSeconds(b.lastUpdatedDateTime),
        botType: 'Bot',
      })),
      nextToken: page.nextToken,
    });
  }

  private listBotAliases(rec: RecordedRequest, ex: Exchange, body: Buffer, id: string): void {
    const req = (rec.body = parseJson(body));
    const bot = this.bots.find((b) => b.botId === rec.botId);
    if (!bot) throw notFound(`Bot ${rec.botId} not found`);
    const page = this.page(bot.aliases, req);
    this.json(rec, ex, id, {
      botAliasSummaries: page.items.map((a) => ({
        botAliasId: a.botAliasId,
        botAliasName: a.botAliasName,
        description: a.description,
        botVersion: a.botVersion ?? (a.botAliasName === 'TestBotAlias' ? 'DRAFT' : '1'),
        botAliasStatus: a.botAliasStatus ?? 'Available',
        creationDateTime: epochSeconds(a.creationDateTime ?? a.lastUpdatedDateTime),
        lastUpdatedDateTime: epochSeconds(a.lastUpdatedDateTime),
      })),
      nextToken: page.nextToken,
      botId: bot.botId,
    });
  }

  /** Lex's paging: maxResults 1..1000 (default 10), an opaque nextToken; pageSize caps it further. */
  private page<T>(items: T[], req: Record<string, unknown>): { items: T[]; nextToken?: string } {
    const max = req.maxResults === undefined ? 10 : Number(req.maxResults);
    if (!Number.isInteger(max) || max < 1 || max > 1000) throw validation('maxResults must be between 1 and 1000');
    let start = 0;
    if (req.nextToken !== undefined) {
      const m = /^page:(\d+)$/.exec(Buffer.from(String(req.nextToken), 'base64').toString('utf8'));
      if (!m) throw validation('Invalid nextToken');
      start = Number(m[1]);
    }
    const end = start + Math.min(max, this.pageSize);
    return { items: items.slice(start, end), nextToken: end < items.length ? Buffer.from(`page:${end}`).toString('base64') : undefined };
  }

  private json(rec: RecordedRequest, ex: Exchange, id: string, payload: unknown): void {
    if (ex.gone()) return this.finish(rec, 0, 'client-gone');
    ex.respond(200, { 'content-type': 'application/json', 'x-amzn-requestid': id }, JSON.stringify(payload));
    this.finish(rec, 200);
  }
}

/** A malformed escape must become a 4xx for that call, not an unhandled rejection in the fake. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw validation('Request body must be a JSON object');
}

function epochSeconds(d: Date | undefined): number {
  return (d ?? new Date('2026-01-01T00:00:00Z')).getTime() / 1000;
}

function normalizeType(t: string): string {
  return t
    .split(';')
    .map((p) => p.trim().toLowerCase())
    .join('; ');
}

type InputKind = { kind: 'text' } | { kind: 'pcm'; sampleRate: number } | { kind: 'opus'; sampleRate: number };

/** The request content types Lex V2 documents for RecognizeUtterance; anything else is a ValidationException. */
export function parseRequestContentType(contentType: string | undefined): InputKind | undefined {
  if (!contentType) return undefined;
  const [type, ...rest] = contentType.split(';').map((p) => p.trim().toLowerCase());
  const p: Record<string, string> = {};
  for (const kv of rest) {
    const [k, v] = kv.split('=').map((x) => x.trim());
    if (k) p[k] = v ?? '';
  }
  switch (type) {
    case 'text/plain':
      return !p.charset || p.charset === 'utf-8' ? { kind: 'text' } : undefined;
    case 'audio/l16':
      return p.rate === '16000' && (p.channels ?? '1') === '1' ? { kind: 'pcm', sampleRate: 16000 } : undefined;
    case 'audio/x-l16':
      return p['sample-rate'] === '16000' && (p['channel-count'] ?? '1') === '1' ? { kind: 'pcm', sampleRate: 16000 } : undefined;
    case 'audio/lpcm':
      return ['8000', '16000'].includes(p['sample-rate']) &&
        p['sample-size-bits'] === '16' &&
        (p['channel-count'] ?? '1') === '1' &&
        p['is-big-endian'] === 'false'
        ? { kind: 'pcm', sampleRate: Number(p['sample-rate']) }
        : undefined;
    case 'audio/x-cbr-opus-with-preamble':
      return { kind: 'opus', sampleRate: 16000 };
    default:
      return undefined;
  }
}

function toMessages(messages: LexReply['messages']): Message[] {
  return (messages ?? []).map((m) => (typeof m === 'string' ? { contentType: 'PlainText', content: m } : m));
}

/** Stand-in for synthesized speech: a tone of 60 ms per spoken word (at least 200 ms). */
function replyAudio(reply: LexReply): Buffer {
  if (Buffer.isBuffer(reply.audio)) return reply.audio;
  if (reply.audio === 'none') return Buffer.alloc(0);
  const spoken = toMessages(reply.messages).filter((m) => m.contentType === 'PlainText' || m.contentType === 'SSML');
  if (spoken.length === 0) return Buffer.alloc(0);
  const words = spoken.reduce((n, m) => n + (m.content ?? '').split(/\s+/).filter(Boolean).length, 0);
  const ms = Math.max(200, words * 60);
  // Cached: synthesizing the tone was the fake's main CPU cost under 100 concurrent calls.
  let tone = toneCache.get(ms);
  if (!tone) {
    if (toneCache.size > 64) toneCache.clear();
    toneCache.set(ms, (tone = pcmTone(ms)));
  }
  return tone;
}
const toneCache = new Map<number, Buffer>();
