import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConnectorEntry, ConnectorsSection, GatewayConfig, UNSUPPORTED_SECTIONS } from './gateway-config';
import { resolveDataSource } from './data-source-config';
import { jwtValidationProblems } from './jwt-validation-config';
import { parseSize } from './log-output';
import { isLogLevel } from './logger';
import { authFromPythonSection, monitoringAuthProblems } from './monitoring-auth-config';
import { tlsProblems } from './tls-config';
import { turnGraceWarnings } from './turn-grace';
import { validateSection } from './validate-section';

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const DEFAULT_CONFIG_PATH = 'config/config.yaml';

/** Start-up configuration problem; its message is meant for the operator, as is. */
export class ConfigError extends Error {
  /**
   * `partial`: when the file could be read, the configuration as far as it was valid (a refused value left at its
   * default), so that its connectors can still be checked and their mistakes reported in the same run.
   */
  constructor(
    readonly problems: string[],
    readonly file?: string,
    readonly partial?: LoadedConfig,
  ) {
    super(`Invalid configuration${file ? ` in ${file}` : ''}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: GatewayConfig;
  /** Absolute path of the file read. */
  file: string;
  /** Folder relative paths (audio, plugin modules) resolve against: the working directory, as in the Python gateway. */
  baseDir: string;
  warnings: string[];
}

function validateConfig(raw: Record<string, unknown>): { config: GatewayConfig; problems: string[]; warnings: string[] } {
  const { connectors, ...rest } = raw;
  const { value: config, problems } = validateSection(GatewayConfig, rest, '');
  config.connectors = new ConnectorsSection();
  if (connectors !== undefined && connectors !== null) {
    if (typeof connectors !== 'object' || Array.isArray(connectors)) {
      problems.push('connectors: must be a map of connector id to settings');
    } else {
      for (const [id, entryRaw] of Object.entries(connectors as Record<string, unknown>)) {
        if (!entryRaw || typeof entryRaw !== 'object' || Array.isArray(entryRaw)) {
          problems.push(`connectors.${id}: must be a map of settings`);
          continue;
        }
        const { value: entry, problems: entryProblems } = validateSection(ConnectorEntry, entryRaw, `connectors.${id}`);
        problems.push(...entryProblems);
        if (!entry.type && !entry.module) problems.push(`connectors.${id}: needs a type (e.g. local_audio) or a module`);
        config.connectors[id] = entry;
      }
    }
  }
  if (config.jwt_validation instanceof Object) problems.push(...jwtValidationProblems(config.jwt_validation));
  const auth = config.monitoring?.auth;
  if (auth instanceof Object) {
    problems.push(...monitoringAuthProblems(auth));
    // Unauthenticated monitoring stays on loopback unless the file names a host itself.
    if ((rest.monitoring as Record<string, unknown> | undefined)?.host === undefined && !auth.enabled) config.monitoring.host = '127.0.0.1';
  }
  if (config.data_source instanceof Object) problems.push(...resolveDataSource(config.data_source, config.jwt_validation));
  const tls = tlsProblems(config.gateway?.tls, config.monitoring?.tls);
  problems.push(...tls.problems);
  const g = config.gateway;
  // An aged connection's calls could otherwise outlive a stop's drain and be cut by it. Left unset, the grace
  // follows a shorter drain grace; set above it, it is refused.
  const ageGraceGiven = (rest.gateway as Record<string, unknown> | undefined)?.max_connection_age_grace_seconds !== undefined;
  if (g && !ageGraceGiven) g.max_connection_age_grace_seconds = Math.min(g.max_connection_age_grace_seconds, g.shutdown_grace_seconds);
  if (g && g.max_connection_age_grace_seconds > g.shutdown_grace_seconds) {
    problems.push(
      `gateway.max_connection_age_grace_seconds: ${g.max_connection_age_grace_seconds} is above gateway.shutdown_grace_seconds (${g.shutdown_grace_seconds}); keep it at most that`,
    );
  }
  const logs = logProblems(config.logging);
  problems.push(...logs.problems);
  return { config, problems, warnings: [...tls.warnings, ...logs.warnings] };
}

/** What the log settings' types cannot say: sizes, and the keys of the Python layout that do nothing here. */
function logProblems(logging: GatewayConfig['logging'] | undefined): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const g = logging?.gateway;
  if (g instanceof Object) {
    if (g.max_size !== undefined && parseSize(g.max_size) === undefined) {
      problems.push(`logging.gateway.max_size: must be a size such as 10MB, 512KB or a number of bytes, got ${JSON.stringify(g.max_size)}`);
    }
    if (!g.file && (g.max_size !== undefined || g.backup_count !== undefined)) {
      warnings.push('logging.gateway.max_size and backup_count apply to logging.gateway.file, which is not set: no log file is written');
    }
    if (g.format !== undefined && g.format !== 'pretty' && g.format !== 'json') {
      warnings.push(`logging.gateway.format: ${JSON.stringify(g.format)} is not used (write pretty or json); stdout gets one readable line per event on a terminal, JSON lines otherwise`);
    }
  }
  if (logging?.web !== undefined) warnings.push('logging.web (the Python dashboard\'s log) is ignored: the monitoring server logs into the gateway log');
  return { problems, warnings };
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, problems: string[]): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  // Digits only: Number() would also take "1e3", "0x50" or " 80".
  if (!/^\d+$/.test(v) || n > 65535) {
    problems.push(`${name}: must be a port number, got "${v}"`);
    return undefined;
  }
  return n;
}

/**
 * Reads the YAML named by GATEWAY_CONFIG (default config/config.yaml), applies environment overrides
 * (PORT for gRPC as on Cloud Run, MONITORING_PORT, LOG_LEVEL) and validates the whole thing.
 */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LoadedConfig {
  const file = resolve(cwd, env.GATEWAY_CONFIG || DEFAULT_CONFIG_PATH);
  if (!existsSync(file)) throw new ConfigError([`configuration file not found: ${file} (set GATEWAY_CONFIG)`]);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (e) {
    throw new ConfigError([`cannot parse YAML: ${(e as Error).message}`], file);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(['the top level must be a map of sections'], file);
  let top = raw as Record<string, unknown>;
  // The Python layout's dashboard login, unless monitoring.auth is written out.
  let authNote: string | undefined;
  const { authentication: pyAuth, monitoring: mon } = top;
  if (isMap(pyAuth) && (mon === undefined || mon === null || isMap(mon))) {
    if (isMap(mon) && mon.auth !== undefined) authNote = 'section "authentication" (Python layout) is ignored: monitoring.auth is set';
    else {
      const mapped = authFromPythonSection(pyAuth, env);
      top = { ...top, monitoring: { ...(mon ?? {}), auth: mapped.auth } };
      authNote = mapped.note;
    }
  }
  const { config, problems, warnings: configWarnings } = validateConfig(top);

  const port = intFromEnv(env, 'PORT', problems);
  if (port !== undefined) config.gateway.port = port;
  const monitoringPort = intFromEnv(env, 'MONITORING_PORT', problems);
  if (monitoringPort !== undefined) config.monitoring.port = monitoringPort;
  if (env.LOG_LEVEL) {
    // Checked here: the override bypasses validation, and the logger would quietly fall back to info.
    if (isLogLevel(env.LOG_LEVEL)) config.logging.gateway.level = env.LOG_LEVEL;
    else problems.push(`LOG_LEVEL: must be one of trace, debug, info, warn(ing), error, fatal, critical, silent; got "${env.LOG_LEVEL}"`);
  }

  if (problems.length) throw new ConfigError(problems, file, { config, file, baseDir: cwd, warnings: [] });
  const enabled = Object.values(config.connectors).filter((c) => c.enabled).length;
  const warnings = [
    ...(enabled === 0
      ? [
          `no agent is configured: ${Object.keys(config.connectors).length ? 'every entry under connectors is disabled' : 'connectors is empty'} in ${file}; ` +
            'the gateway serves no call (health NOT_SERVING) until one is added, e.g. connectors: { local: { type: local_audio } }',
        ]
      : []),
    ...(authNote ? [authNote] : []),
    ...configWarnings,
    ...turnGraceWarnings(config),
    ...UNSUPPORTED_SECTIONS.filter((s) => config[s] !== undefined && !(s === 'authentication' && authNote)).map(
      (s) => `section "${s}" is not supported by this gateway yet and is ignored`,
    ),
  ];
  return { config, file, baseDir: cwd, warnings };
}

/** Validates an in-memory config (tests, embedding); `file`, when known, is named in the error. */
export function buildGatewayConfig(raw: Record<string, unknown>, file?: string): GatewayConfig {
  const { config, problems } = validateConfig(raw);
  if (problems.length) throw new ConfigError(problems, file);
  return config;
}
