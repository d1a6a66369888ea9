import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** What the next id-token says or breaks (applied to every token until changed). */
export interface IdTokenOptions {
  claims?: Record<string, unknown>;
  /** Replace the nonce the login sent (a replayed or forged token). */
  nonce?: string;
  /** Seconds from now the token expires; negative: already expired. */
  expiresIn?: number;
  /** Sign with a key that is not in the JWKS. */
  foreignKey?: boolean;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  nonce?: string;
  challenge?: string;
}

const b64url = (b: Buffer) => b.toString('base64url');

/**
 * A minimal OpenID provider on 127.0.0.1 for tests: discovery document, JWKS, an authorize endpoint that logs
 * the user in at once (302 back with a code), and a token endpoint that checks the client secret and the PKCE
 * verifier and returns an RS256 id-token.
 */
export class FakeOidcProvider {
  readonly clientId = 'gateway-test-client';
  readonly clientSecret = b64url(randomBytes(24));
  idToken: IdTokenOptions = {};
  readonly tokenRequests: URLSearchParams[] = [];
  private server?: Server;
  private readonly codes = new Map<string, PendingCode>();
  private keys?: { privateKey: PrivateKey; publicJwk: JWK; foreign: PrivateKey };

  get issuer(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    const pair = await generateKeyPair('RS256');
    const foreign = await generateKeyPair('RS256');
    this.keys = { privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }, foreign: foreign.privateKey };
    this.server = createServer((req, res) => void this.route(req, res).catch((e) => this.json(res, 500, { error: 'server_error', error_description: String(e) })));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return this.json(res, 200, {
        issuer: this.issuer,
        authorization_endpoint: `${this.issuer}/authorize`,
        token_endpoint: `${this.issuer}/token`,
        jwks_uri: `${this.issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return this.json(res, 200, { keys: [this.keys!.publicJwk] });
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const q = url.searchParams;
      if (q.get('client_id') !== this.clientId || q.get('response_type') !== 'code' || !q.get('redirect_uri')) {
        return this.json(res, 400, { error: 'invalid_request' });
      }
      const code = b64url(randomBytes(16));
      this.codes.set(code, {
        clientId: q.get('client_id')!,
        redirectUri: q.get('redirect_uri')!,
        nonce: q.get('nonce') ?? undefined,
        challenge: q.get('code_challenge_method') === 'S256' ? (q.get('code_challenge') ?? undefined) : undefined,
      });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      if (q.get('state') !== null) back.searchParams.set('state', q.get('state')!);
      res.writeHead(302, { Location: back.href });
      res.end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      this.tokenRequests.push(form);
      const pending = this.codes.get(form.get('code') ?? '');
      this.codes.delete(form.get('code') ?? '');
      if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) return this.json(res, 401, { error: 'invalid_client' });
      if (!pending || form.get('grant_type') !== 'authorization_code' || form.get('redirect_uri') !== pending.redirectUri) {
        return this.json(res, 400, { error: 'invalid_grant' });
      }
      const verifier = form.get('code_verifier') ?? '';
      if (!pending.challenge || b64url(createHash('sha256').update(verifier).digest()) !== pending.challenge) {
        return this.json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      }
      const o = this.idToken;
      const now = Math.floor(Date.now() / 1000);
      const idToken = await new SignJWT({ nonce: o.nonce ?? pending.nonce, email: 'ops@example.com', email_verified: true, name: 'Ops Person', ...o.claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(this.issuer)
        .setAudience(this.clientId)
        .setSubject('user-1')
        .setIssuedAt(now - 5)
        .setExpirationTime(now + (o.expiresIn ?? 300))
        .sign(o.foreignKey ? this.keys!.foreign : this.keys!.privateKey);
      return this.json(res, 200, { access_token: b64url(randomBytes(16)), token_type: 'Bearer', expires_in: 3600, id_token: idToken });
    }
    this.json(res, 404, { error: 'not_found' });
  }
}
