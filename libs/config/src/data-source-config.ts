import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, IsUrl, Matches, Max, Min, ValidateNested } from 'class-validator';

import { VOICE_VIRTUAL_AGENT_SCHEMA_ID } from './jwt-validation-config';

export const DATA_SOURCE_AUTH_TYPES = ['oauth_refresh', 'service_app', 'static'] as const;
export type DataSourceAuthType = (typeof DATA_SOURCE_AUTH_TYPES)[number];

const ENV = { message: '$property must be the name of an environment variable' };
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * How the gateway gets a Webex access token for the dataSources API. Only the names of environment variables are
 * written here; the secrets themselves are read from the environment at start-up. The Python gateway's keys.
 */
export class DataSourceAuth {
  @IsIn(DATA_SOURCE_AUTH_TYPES) type: DataSourceAuthType = 'oauth_refresh';
  @Matches(ENV_NAME, ENV) client_id_env = 'WEBEX_BYODS_CLIENT_ID';
  @Matches(ENV_NAME, ENV) client_secret_env = 'WEBEX_BYODS_CLIENT_SECRET';
  /** oauth_refresh: the integration's or service app's refresh token. */
  @Matches(ENV_NAME, ENV) refresh_token_env = 'WEBEX_BYODS_REFRESH_TOKEN';
  /** static: an access token used as is (no renewal; for trials). */
  @Matches(ENV_NAME, ENV) access_token_env = 'WEBEX_BYODS_ACCESS_TOKEN';
  /** service_app: the service app's id and the org it is authorised in. */
  @Matches(ENV_NAME, ENV) app_id_env = 'WEBEX_BYODS_APP_ID';
  @Matches(ENV_NAME, ENV) target_org_id_env = 'WEBEX_BYODS_TARGET_ORG_ID';
  /** service_app: how to get the token (scope spark:applications_token) that mints the service app's token. */
  @IsOptional() @IsObject() @ValidateNested() @Type(() => DataSourceAuth) personal_auth?: DataSourceAuth;
}

/** BYODS data source lifecycle: register this gateway with Webex and keep its token renewed. */
export class DataSourceSection {
  @IsBoolean() enabled = false;
  /**
   * Stop start-up when the data source cannot be set up for a reason a retry will not fix (credentials refused,
   * permission missing, the configured id unknown, several matching data sources). Webex being unreachable never
   * stops start-up: the gateway serves and keeps retrying.
   */
  @IsBoolean() fail_startup_on_error = true;
  /** This gateway's data source id; empty: the one with this url and schema, registered if there is none. */
  @IsString() id = '';
  @Matches(ENV_NAME, ENV) id_env = 'WEBEX_BYODS_DATA_SOURCE_ID';
  /** The URL WxCC calls, exactly as WxCC writes it in its tokens; empty: jwt_validation.datasource_url. */
  @IsString() url = '';
  /** Empty: jwt_validation.datasource_schema_uuid, else VoiceVirtualAgent's. */
  @IsString() schema_id = '';
  @IsString() @Matches(/\S/, { message: '$property must not be empty' }) audience = 'BYOVAGateway';
  @IsString() @Matches(/\S/, { message: '$property must not be empty' }) subject = 'callAudioData';
  /** Lifetime of the token Webex issues for the data source (Webex allows at most 1440). */
  @IsInt() @Min(1) @Max(1440) token_lifetime_minutes = 1440;
  /** Renew this long before the token expires (fractions allowed). */
  @IsNumber() @Min(0.001) renewal_lead_time_minutes = 60;
  /** Longest wait between retries after a failure (they start at retry_initial_seconds and double, with jitter). */
  @IsNumber() @Min(0.01) @Max(86_400) retry_interval_seconds = 60;
  @IsNumber() @Min(0.01) @Max(3600) retry_initial_seconds = 2;
  /** Re-read the data source this often, to notice changes made by another replica or an administrator. */
  @IsNumber() @Min(0.001) @Max(1440) check_interval_minutes = 15;
  /** How long start-up waits for the data source before serving anyway (then retrying in the background). */
  @IsNumber() @Min(0) @Max(600) startup_timeout_seconds = 20;
  /** Bound of every HTTP request to Webex. */
  @IsNumber() @Min(0.05) @Max(120) request_timeout_seconds = 10;
  @IsUrl({ require_tld: false, protocols: ['https', 'http'], require_protocol: true }) api_base_url = 'https://webexapis.com/v1';
  @IsObject() @ValidateNested() @Type(() => DataSourceAuth) auth = new DataSourceAuth();
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Fills url and schema_id from jwt_validation when they are not written, and reports what validation alone cannot
 * see: a missing url, a lead time not shorter than the lifetime, a url or schema that differs from the one JWT
 * validation expects (tokens would then never match). `jwt` is the raw or typed jwt_validation section.
 */
export function resolveDataSource(ds: DataSourceSection, jwt: unknown, prefix = 'data_source'): string[] {
  const out: string[] = [];
  const j = isMap(jwt) ? jwt : {};
  const jwtUrl = typeof j.datasource_url === 'string' ? j.datasource_url : '';
  const jwtSchema = typeof j.datasource_schema_uuid === 'string' ? j.datasource_schema_uuid : '';
  if (ds.url && jwtUrl && ds.url !== jwtUrl) out.push(`${prefix}.url must exactly match jwt_validation.datasource_url`);
  if (ds.schema_id && jwtSchema && ds.schema_id !== jwtSchema) out.push(`${prefix}.schema_id must match jwt_validation.datasource_schema_uuid`);
  ds.url ||= jwtUrl;
  ds.schema_id ||= jwtSchema || VOICE_VIRTUAL_AGENT_SCHEMA_ID;
  if (!ds.enabled) return out;
  if (!ds.url) out.push(`${prefix}.url: required when the data source is enabled (or set jwt_validation.datasource_url)`);
  else if (!/^https:\/\/[^\s/]+/.test(ds.url) || /\s/.test(ds.url)) out.push(`${prefix}.url: must be an https:// URL, got "${ds.url}"`);
  if (ds.renewal_lead_time_minutes >= ds.token_lifetime_minutes) {
    out.push(`${prefix}.renewal_lead_time_minutes must be shorter than token_lifetime_minutes`);
  }
  if (ds.auth?.type === 'service_app' && !ds.auth.personal_auth) {
    out.push(`${prefix}.auth.personal_auth: required for service_app (the token that may mint the service app's token)`);
  }
  if (ds.auth?.personal_auth?.type === 'service_app') out.push(`${prefix}.auth.personal_auth.type: must be oauth_refresh or static`);
  return out;
}
