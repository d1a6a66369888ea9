import 'reflect-metadata';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, Min, MinLength, ValidateIf } from 'class-validator';

export const CLIENT_AUTH_MODES = ['none', 'optional', 'require'] as const;
export type ClientAuthMode = (typeof CLIENT_AUTH_MODES)[number];

// The monitoring listener may borrow the gateway's files instead of naming its own.
const needsFiles = (o: TlsSettings & { same_as_gateway?: boolean }) => o.enabled && !o.same_as_gateway;
const FILE_REQUIRED = 'required when TLS is enabled';

/**
 * A TLS listener's certificate (PEM files; relative paths resolve against the working directory, like the others).
 * The files are checked at start-up (readable, parsable, key matching the certificate) and watched: a replaced
 * pair is taken for new connections without a restart.
 */
export class TlsSettings {
  @IsBoolean() enabled = true;
  /** Server certificate, leaf first, then any intermediates. */
  @ValidateIf(needsFiles) @IsString() @MinLength(1, { message: FILE_REQUIRED }) cert_file = '';
  /** Its private key (unencrypted PEM: PKCS#8, PKCS#1 or SEC1). */
  @ValidateIf(needsFiles) @IsString() @MinLength(1, { message: FILE_REQUIRED }) key_file = '';
  /** CA certificates that client certificates must chain to (mutual TLS). */
  @IsOptional() @IsString() @MinLength(1) client_ca_file?: string;
  /** none: no client certificate asked; optional: asked, and one given must be valid; require: a valid one is needed. */
  @IsIn(CLIENT_AUTH_MODES, { message: '$property must be none, optional or require' }) client_auth: ClientAuthMode = 'none';
  /** Besides watching the files, how often they are read again (file systems where change events do not come). */
  @IsInt() @Min(1) @Max(86_400) watch_interval_seconds = 30;
}

/**
 * The monitoring listener's TLS: its own files (the keys of TlsSettings), or `same_as_gateway: true` to serve the
 * gateway's certificate and key (gateway.tls.cert_file/key_file). Client authentication is the monitoring
 * server's own either way (default none: browsers rarely carry client certificates).
 */
export class MonitoringTlsSettings extends TlsSettings {
  @IsBoolean() same_as_gateway = false;
}

/** What validation of each field alone cannot see: client_auth without a CA, same_as_gateway without gateway TLS. */
export function tlsProblems(gatewayTls: TlsSettings | undefined, monitoringTls: MonitoringTlsSettings | undefined): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const check = (t: TlsSettings | undefined, prefix: string) => {
    if (!t?.enabled) return;
    if ((t.client_auth === 'optional' || t.client_auth === 'require') && !t.client_ca_file) problems.push(`${prefix}.client_ca_file: required when client_auth is ${t.client_auth}`);
    if (t.client_auth === 'none' && t.client_ca_file) warnings.push(`${prefix}.client_ca_file is not used: client_auth is none (set optional or require for mutual TLS)`);
  };
  check(gatewayTls, 'gateway.tls');
  check(monitoringTls, 'monitoring.tls');
  if (monitoringTls?.enabled && monitoringTls.same_as_gateway) {
    if (!gatewayTls?.enabled) problems.push('monitoring.tls.same_as_gateway: gateway.tls is not enabled, so there is no certificate to share');
    if (monitoringTls.cert_file || monitoringTls.key_file) problems.push('monitoring.tls: give either same_as_gateway: true or cert_file/key_file, not both');
  }
  return { problems, warnings };
}

/** The files a monitoring listener serves: its own, or the gateway's with same_as_gateway. Undefined when TLS is off. */
export function effectiveMonitoringTls(gatewayTls: TlsSettings | undefined, monitoringTls: MonitoringTlsSettings | undefined): TlsSettings | undefined {
  if (!monitoringTls?.enabled) return undefined;
  if (!monitoringTls.same_as_gateway) return monitoringTls;
  const out = Object.assign(new TlsSettings(), monitoringTls, { cert_file: gatewayTls?.cert_file ?? '', key_file: gatewayTls?.key_file ?? '' });
  delete (out as Partial<MonitoringTlsSettings>).same_as_gateway;
  return out;
}
