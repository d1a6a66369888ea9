import { Injectable } from '@nestjs/common';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { JwtValidationSection } from '@app/config';
import { JwksKeyStore } from './jwks-key-store';
import { JwtRefusal, type JwtRefusalReason } from './jwt-refusal';

/** Longest token read (bytes of the metadata value); anything longer is refused unparsed. */
export const MAX_TOKEN_BYTES = 8 * 1024;
/** Recently verified tokens remembered; WxCC sends the data source's token on every RPC, so few are live at once. */
export const VERIFIED_CACHE_SIZE = 1000;

/** `verified`: checked in full now (not found among recently verified tokens). `error`: the bug behind 'internal error'. */
export type JwtVerdict = { ok: true; verified: boolean } | { ok: false; reason: JwtRefusalReason; error?: unknown };

const DATASOURCE_URL_CLAIM = 'com.cisco.datasource.url';
const SCHEMA_CLAIM = 'com.cisco.datasource.schema.uuid';

/** A token that passed: good until `until` (ms, exp + leeway) while its issuer's key set stays `version`. */
interface Verified {
  iss: string;
  version: number;
  until: number;
}

/**
 * Checks WxCC's token: RS256 only, issuer on the allow-list before any key is looked up, key by `kid`, exp/nbf/iat
 * with leeway, aud, sub, jti, the data source URL and schema. A token that passed is remembered (by its exact text)
 * until it expires or its issuer's keys are fetched again, so the RPCs of a call cost a map lookup, not a signature.
 */
@Injectable()
export class JwtValidator {
  private readonly issuers: ReadonlySet<string>;
  private readonly dataSourceUrl: string;
  private readonly leewayMs: number;
  private readonly verified = new Map<string, Verified>();

  constructor(
    private readonly settings: JwtValidationSection,
    private readonly keys: JwksKeyStore,
  ) {
    this.issuers = new Set(settings.issuers);
    // Webex compares it character for character with the registered URL: `https://host` and `https://host:443` differ.
    this.dataSourceUrl = settings.datasource_url;
    this.leewayMs = settings.leeway_seconds * 1000;
  }

  /** The token of an `authorization` metadata value: `Bearer <token>` (any case) or the bare token. */
  static tokenOf(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const v = value.trim();
    const prefix = /^bearer(?:\s+|$)/i.exec(v);
    return (prefix ? v.slice(prefix[0].length) : v) || undefined;
  }

  async check(token: string | undefined): Promise<JwtVerdict> {
    if (!token) return { ok: false, reason: 'missing token' };
    // Characters, not bytes: a token is ASCII, and anything that is not is refused by the parser below.
    if (token.length > MAX_TOKEN_BYTES) return { ok: false, reason: 'token too large' };
    const hit = this.verified.get(token);
    if (hit) {
      if (Date.now() > hit.until) {
        this.verified.delete(token);
        return { ok: false, reason: 'token expired' };
      }
      if (this.keys.isCurrent(hit.iss, hit.version)) return { ok: true, verified: false };
      this.verified.delete(token);
    }
    try {
      this.remember(token, await this.verify(token));
      return { ok: true, verified: true };
    } catch (err) {
      const reason = reasonOf(err);
      return reason === 'internal error' ? { ok: false, reason, error: err } : { ok: false, reason };
    }
  }

  private async verify(token: string): Promise<Verified> {
    // Unverified reads, only to refuse early and to pick the issuer; nothing from them is trusted further.
    let alg: unknown;
    let kid: unknown;
    let iss: unknown;
    try {
      ({ alg, kid } = decodeProtectedHeader(token));
      ({ iss } = decodeJwt(token));
    } catch {
      throw new JwtRefusal('malformed token');
    }
    if (alg !== 'RS256') throw new JwtRefusal('unsupported algorithm');
    if (typeof iss !== 'string' || !this.issuers.has(iss)) throw new JwtRefusal('unknown issuer');
    if (kid !== undefined && typeof kid !== 'string') throw new JwtRefusal('malformed token');
    const { keys, version } = await this.keys.candidates(iss, kid);
    let payload: JWTPayload | undefined;
    let lastError: unknown;
    for (const key of keys) {
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: ['RS256'],
          issuer: iss,
          audience: this.settings.audience,
          subject: this.settings.subject,
          clockTolerance: this.settings.leeway_seconds,
          requiredClaims: ['exp', 'jti'],
        }));
        break;
      } catch (err) {
        lastError = err;
        // Without a kid, another key of the issuer may have signed it.
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    if (!payload) throw lastError;
    this.checkClaims(payload);
    return { iss, version, until: (payload.exp as number) * 1000 + this.leewayMs };
  }

  /** What jose does not check: iat not in the future, jti not empty, the data source URL and schema. */
  private checkClaims(p: JWTPayload): void {
    if (typeof p.iat === 'number' && p.iat * 1000 > Date.now() + this.leewayMs) throw new JwtRefusal('token not yet valid');
    if (typeof p.jti !== 'string' || !p.jti) throw new JwtRefusal('missing claim');
    const url = p[DATASOURCE_URL_CLAIM];
    if (typeof url !== 'string' || url !== this.dataSourceUrl) throw new JwtRefusal('data source url mismatch');
    if (typeof p[SCHEMA_CLAIM] !== 'string' || (p[SCHEMA_CLAIM] as string).toLowerCase() !== this.settings.datasource_schema_uuid.toLowerCase()) {
      throw new JwtRefusal('schema id mismatch');
    }
  }

  private remember(token: string, v: Verified): void {
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      // Oldest first (insertion order): bounded whatever callers send.
      this.verified.delete(this.verified.keys().next().value as string);
    }
    this.verified.set(token, v);
  }
}

/** jose's errors as our reasons; anything else is a bug, reported without detail. */
function reasonOf(err: unknown): JwtRefusalReason {
  if (err instanceof JwtRefusal) return err.reason;
  if (err instanceof errors.JWTExpired) return err.claim === 'iat' ? 'token not yet valid' : 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return 'missing claim';
    switch (err.claim) {
      case 'nbf':
      case 'iat':
        return err.reason === 'check_failed' ? 'token not yet valid' : 'malformed token';
      case 'aud':
        return 'audience mismatch';
      case 'sub':
        return 'subject mismatch';
      case 'iss':
        return 'unknown issuer';
      default:
        return 'malformed token';
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature invalid';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'unsupported algorithm';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed token';
  return 'internal error';
}
