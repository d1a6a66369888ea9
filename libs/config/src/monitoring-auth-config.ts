import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
  type ValidationArguments,
} from 'class-validator';

export const MONITORING_ROLES = ['viewer', 'admin'] as const;
export type MonitoringRole = (typeof MONITORING_ROLES)[number];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const entryName = (args: ValidationArguments) => {
  const name = (args.object as { name?: unknown }).name;
  return typeof name === 'string' && name ? ` (token "${name}")` : '';
};

/** One bearer token for scripts: the token itself never appears in the file, only its SHA-256 or the env var holding it. */
export class ApiTokenEntry {
  @IsString() @MinLength(1) name = '';
  @IsIn(MONITORING_ROLES, { message: (a) => `$property${entryName(a)} must be viewer or admin` }) role: MonitoringRole = 'viewer';
  @IsOptional()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: (a) => `$property${entryName(a)} must be the SHA-256 of the token as 64 hex digits` })
  sha256?: string;
  @IsOptional()
  @Matches(ENV_NAME, { message: (a) => `$property${entryName(a)} must be the name of an environment variable` })
  @ValidateBy({
    name: 'oneSource',
    validator: {
      validate: (_v, args) => (args?.object as ApiTokenEntry).sha256 === undefined,
      defaultMessage: (a) => `$property${a ? entryName(a) : ''}: give either sha256 or env, not both`,
    },
  })
  env?: string;
}

/** Browser login through OpenID Connect (authorization code + PKCE). */
export class OidcSettings {
  /** The provider's issuer or its discovery document URL; the default is Webex's. */
  @IsUrl({ require_tld: false, protocols: ['https', 'http'], require_protocol: true })
  issuer_url = 'https://webexapis.com/v1/.well-known/openid-configuration';
  @IsString() @MinLength(1) client_id = '';
  /** Env var holding the client secret; empty for a public client (PKCE only). */
  @IsString() @Matches(/^(?:[A-Za-z_][A-Za-z0-9_]*)?$/, { message: '$property must be the name of an environment variable' }) client_secret_env = '';
  /** The gateway's callback as registered with the provider, e.g. https://gw.example.com/auth/callback. */
  @IsUrl({ require_tld: false, protocols: ['https', 'http'], require_protocol: true }) redirect_uri = '';
  @IsString() scopes = 'openid email profile';
  /** Users of these organisations may log in (claim `org_claim`; Webex puts the org id in `org_id`). */
  @IsArray() @IsString({ each: true }) @ArrayMaxSize(1000) allowed_org_ids: string[] = [];
  /** ... and these users, by verified email. */
  @IsArray() @IsString({ each: true }) @ArrayMaxSize(1000) allowed_emails: string[] = [];
  @IsString() @MinLength(1) org_claim = 'org_id';
  /** Role of a user who logs in; emails in `admin_emails` get admin. */
  @IsIn(MONITORING_ROLES) role: MonitoringRole = 'viewer';
  @IsArray() @IsString({ each: true }) @ArrayMaxSize(1000) admin_emails: string[] = [];
}

export class SessionSettings {
  /** Env var holding the cookie-signing secret (32+ characters); unset, a random one per process (sessions end on restart). */
  @Matches(ENV_NAME, { message: '$property must be the name of an environment variable' }) secret_env = 'MONITORING_SESSION_SECRET';
  /** A browser session's lifetime. */
  @IsNumber() @Min(0.01) @Max(24 * 30) timeout_hours = 8;
}

export class MonitoringAuthSection {
  @IsBoolean() enabled = false;
  @IsArray() @ArrayMaxSize(1000) @ValidateNested({ each: true }) @Type(() => ApiTokenEntry)
  @ValidateBy({
    name: 'uniqueNames',
    validator: {
      validate: (v: unknown) => !Array.isArray(v) || new Set(v.map((t: ApiTokenEntry) => t?.name)).size === v.length,
      defaultMessage: () => 'token names must be unique',
    },
  })
  api_tokens: ApiTokenEntry[] = [];
  @IsOptional() @IsObject() @ValidateNested() @Type(() => OidcSettings) oidc?: OidcSettings;
  @IsObject() @ValidateNested() @Type(() => SessionSettings) session = new SessionSettings();
}

/** An entry with neither sha256 nor env, or an OIDC block allowing everyone: problems validation cannot see alone. */
export function monitoringAuthProblems(auth: MonitoringAuthSection, prefix = 'monitoring.auth'): string[] {
  const out: string[] = [];
  (auth.api_tokens ?? []).forEach((t, i) => {
    if (t && t.sha256 === undefined && t.env === undefined) out.push(`${prefix}.api_tokens.${i}: token "${t.name}" needs sha256 or env`);
  });
  const o = auth.oidc;
  if (o && !o.allowed_org_ids?.length && !o.allowed_emails?.length) {
    out.push(`${prefix}.oidc: name allowed_org_ids or allowed_emails (otherwise anyone with an account at the provider could log in)`);
  }
  return out;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The Python gateway's `authentication` section (its dashboard login), read as monitoring.auth where it maps:
 * `enabled`, `session.timeout_hours`, `session.secret_key_env` (default FLASK_SECRET_KEY), `webex_oauth.scopes`,
 * and the Webex login from the environment variables that gateway read (WEBEX_CLIENT_ID, WEBEX_CLIENT_SECRET,
 * WEBEX_REDIRECT_URI, and the org allow-list in AUTHORIZED_WEBEX_ORG_IDS or the variable `authorized_orgs_env`
 * names). Its static `state` is not used: every login gets its own.
 */
export function authFromPythonSection(section: Record<string, unknown>, env: NodeJS.ProcessEnv): { auth: Record<string, unknown>; note: string } {
  const session = isMap(section.session) ? section.session : {};
  const oauth = isMap(section.webex_oauth) ? section.webex_oauth : {};
  const enabled = section.enabled === true;
  const auth: Record<string, unknown> = {
    enabled,
    session: {
      secret_env: typeof session.secret_key_env === 'string' ? session.secret_key_env : 'FLASK_SECRET_KEY',
      ...(typeof session.timeout_hours === 'number' ? { timeout_hours: session.timeout_hours } : {}),
    },
  };
  const orgsEnv = typeof section.authorized_orgs_env === 'string' ? section.authorized_orgs_env : 'AUTHORIZED_WEBEX_ORG_IDS';
  const orgs = (env[orgsEnv] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const login = !!(env.WEBEX_CLIENT_ID && env.WEBEX_REDIRECT_URI && orgs.length);
  if (login) {
    auth.oidc = {
      client_id: env.WEBEX_CLIENT_ID,
      client_secret_env: env.WEBEX_CLIENT_SECRET ? 'WEBEX_CLIENT_SECRET' : '',
      redirect_uri: env.WEBEX_REDIRECT_URI,
      allowed_org_ids: orgs,
      ...(typeof oauth.scopes === 'string' ? { scopes: oauth.scopes } : {}),
    };
  }
  const how = !enabled
    ? 'auth off'
    : login
      ? `auth on, Webex login from WEBEX_CLIENT_ID, WEBEX_REDIRECT_URI and ${orgsEnv}`
      : `auth on, no browser login (set WEBEX_CLIENT_ID, WEBEX_CLIENT_SECRET, WEBEX_REDIRECT_URI and ${orgsEnv}, or use monitoring.auth)`;
  return { auth, note: `section "authentication" (Python layout) is read as monitoring.auth: ${how}` };
}
