import 'reflect-metadata';
import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsNumber, IsObject, IsString, Matches, Max, Min, MinLength } from 'class-validator';

/** Webex's identity brokers: the issuers of the tokens WxCC sends (production, then the test brokers). */
export const WEBEX_ID_BROKERS = [
  'https://idbroker.webex.com/idb',
  'https://idbroker-eu.webex.com/idb',
  'https://idbroker-b-us.webex.com/idb',
  'https://idbroker-ca.webex.com/idb',
  'https://idbrokerbts.webex.com/idb',
  'https://idbrokerbts-eu.webex.com/idb',
] as const;

/** BYODS schema of the gRPC VoiceVirtualAgent data source. */
export const VOICE_VIRTUAL_AGENT_SCHEMA_ID = '5397013b-7920-4ffc-807c-e8a3e0a18f43';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * `jwt_validation`: the token WxCC sends on every BYOVA RPC. The first five keys are the Python gateway's (its files
 * load as they are); the others close its gaps (issuer allow-list, key server override for tests, leeway, aud/sub).
 */
export class JwtValidationSection {
  @IsBoolean() enabled = false;
  /** false: log what would be refused and let it through (for rolling the check out). */
  @IsBoolean() enforce_validation = true;
  /** The data source URL registered with Webex; tokens name it in `com.cisco.datasource.url`. */
  @IsString() datasource_url = '';
  @Matches(UUID, { message: '$property must be a UUID' }) datasource_schema_uuid = VOICE_VIRTUAL_AGENT_SCHEMA_ID;
  /** How long an issuer's keys are used before they are fetched again (in the background: stale keys keep serving). */
  @IsNumber() @Min(0.01) @Max(1440) cache_duration_minutes = 60;
  /** Accepted `iss` values; nothing is fetched for any other. */
  @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) issuers: string[] = [...WEBEX_ID_BROKERS];
  /** issuer → JWKS URL instead of `<issuer>/oauth2/v2/keys/verificationjwk` (tests, private networks). */
  @IsObject() jwks_url_overrides: Record<string, string> = {};
  /** Clock skew allowed on exp, nbf and iat. */
  @IsInt() @Min(0) @Max(600) leeway_seconds = 60;
  /** `aud` and `sub` as registered with the data source. */
  @IsString() @MinLength(1) audience = 'BYOVAGateway';
  @IsString() @MinLength(1) subject = 'callAudioData';
  /** A token naming an unknown key makes the keys be fetched again, at most this often per issuer. */
  @IsNumber() @Min(0) @Max(3600) jwks_refresh_min_interval_seconds = 30;
  /** Bound of one key fetch. */
  @IsInt() @Min(100) @Max(30_000) jwks_timeout_ms = 5000;
}

/** https, or http on a loopback host (a local key server in development and tests). */
function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value) return 'must be a URL';
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `must be an absolute URL, got "${value}"`;
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return undefined;
  return `must be an https URL (http only on loopback), got "${value}"`;
}

/** What validation cannot see key by key: required-when-enabled, URLs, overrides of issuers not on the list. */
export function jwtValidationProblems(s: JwtValidationSection, prefix = 'jwt_validation'): string[] {
  const out: string[] = [];
  if (s.enabled && !s.datasource_url) out.push(`${prefix}.datasource_url: required when ${prefix}.enabled is true (the data source URL registered with Webex)`);
  if (s.datasource_url) {
    // The URL the gateway is registered under: any scheme Webex accepts, but absolute.
    try {
      const u = new URL(s.datasource_url);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') out.push(`${prefix}.datasource_url: must be an http(s) URL, got "${s.datasource_url}"`);
    } catch {
      out.push(`${prefix}.datasource_url: must be an absolute URL, got "${s.datasource_url}"`);
    }
  }
  if (!Array.isArray(s.issuers) || !s.issuers.every((i) => typeof i === 'string')) return out;
  if (s.enabled && s.issuers.length === 0) out.push(`${prefix}.issuers: list at least one issuer (no token could be accepted)`);
  s.issuers.forEach((iss, i) => {
    const p = urlProblem(iss);
    if (p) out.push(`${prefix}.issuers.${i}: ${p}`);
  });
  if (s.jwks_url_overrides && typeof s.jwks_url_overrides === 'object') {
    for (const [iss, url] of Object.entries(s.jwks_url_overrides)) {
      if (!s.issuers.includes(iss)) out.push(`${prefix}.jwks_url_overrides: "${iss}" is not in ${prefix}.issuers`);
      const p = urlProblem(url);
      if (p) out.push(`${prefix}.jwks_url_overrides."${iss}": ${p}`);
    }
  }
  return out;
}
