import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

/** BYODS defaults the tokens carry unless a test says otherwise. */
export const TEST_DATASOURCE_URL = 'https://gateway.example.com/byova';
export const TEST_SCHEMA_ID = '5397013b-7920-4ffc-807c-e8a3e0a18f43';

/** How the key endpoint answers: normally, 500, 429 (with Retry-After), dropped connections, never, or too much. */
export type KeyServerMode = 'ok' | 'error' | 'throttled' | 'down' | 'hang' | 'huge' | 'huge-announced';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export interface TokenOptions {
  /** Claims laid over the defaults; `undefined` removes one. */
  claims?: Record<string, unknown>;
  /** Header fields laid over `{ alg: RS256, kid }`. */
  header?: Record<string, unknown>;
  /** Sign with this key (default: the newest published one). */
  key?: SigningKey;
}

/**
 * A Webex identity broker as the gateway sees it, on 127.0.0.1: the key set at
 * `<issuer>/oauth2/v2/keys/verificationjwk`, keys that rotate, and a key endpoint that can fail in each way
 * (`mode`). It signs the BYODS tokens WxCC would send, and records every request it gets.
 */
export class FakeWebexIdBroker {
  mode: KeyServerMode = 'ok';
  retryAfterSeconds = 1;
  /** Every request's path, in order. */
  readonly requests: string[] = [];
  /** Published keys (newest last). */
  published: SigningKey[] = [];
  /** Served after the published keys (odd entries: other key types, broken keys). */
  extraJwks: unknown[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  get origin(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Its issuer name: the gateway derives the key URL from it. */
  get issuer(): string {
    return `${this.origin}/idb`;
  }

  get jwksPath(): string {
    return '/idb/oauth2/v2/keys/verificationjwk';
  }

  /** Another path serving the same key set, for jwks_url_overrides. */
  get overridePath(): string {
    return '/override/keys';
  }

  get jwksRequests(): number {
    return this.requests.filter((p) => p === this.jwksPath).length;
  }

  async start(port = 0): Promise<this> {
    this.published = [await FakeWebexIdBroker.newKey('key-1')];
    this.server = createServer((req, res) => this.route(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  static async newKey(kid: string): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    return { kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
  }

  /** Publishes a new key (and by default withdraws the others): tokens signed with it name a kid the gateway has not seen. */
  async rotate(kid: string, keepOld = false): Promise<SigningKey> {
    const k = await FakeWebexIdBroker.newKey(kid);
    this.published = keepOld ? [...this.published, k] : [k];
    return k;
  }

  get currentKey(): SigningKey {
    return this.published[this.published.length - 1];
  }

  /** A token as WxCC sends it for a data source registered with the defaults, valid for an hour. */
  async token(opts: TokenOptions = {}, issuer = this.issuer): Promise<string> {
    const key = opts.key ?? this.currentKey;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: issuer,
      aud: 'BYOVAGateway',
      sub: 'callAudioData',
      jti: randomUUID(),
      iat: now,
      exp: now + 3600,
      'com.cisco.datasource.url': TEST_DATASOURCE_URL,
      'com.cisco.datasource.schema.uuid': TEST_SCHEMA_ID,
      'com.cisco.org.uuid': randomUUID(),
      ...opts.claims,
    };
    for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
    return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...opts.header } as { alg: string }).sign(key.privateKey);
  }

  /** The PEM text of the current public key: what an attacker would use as an HMAC secret. */
  async publicKeyPem(): Promise<string> {
    return exportSPKI(this.currentKey.publicKey);
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req.url ?? '');
    if (req.url !== this.jwksPath && req.url !== this.overridePath) {
      res.writeHead(404).end();
      return;
    }
    switch (this.mode) {
      case 'down':
        req.socket.destroy();
        return;
      case 'hang':
        return;
      case 'error':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('oops');
        return;
      case 'throttled':
        res.writeHead(429, { 'retry-after': String(this.retryAfterSeconds) }).end();
        return;
      case 'huge-announced':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 * 1024) });
        res.write('{"keys":[');
        return;
      case 'huge': {
        // A key set padded past any sensible size, without a content-length (chunked).
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`{"keys":${JSON.stringify(this.published.map((k) => k.jwk))},"pad":"`);
        res.write('x'.repeat(200 * 1024));
        res.end('"}');
        return;
      }
      default:
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [...this.published.map((k) => k.jwk), ...this.extraJwks] }));
    }
  }
}

/** Base64url of a JSON value, to hand-build tokens jose would refuse to make (alg none). */
export const b64json = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
