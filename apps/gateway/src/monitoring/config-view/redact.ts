/** What replaces a secret in the configuration the API shows. */
export const REDACTED = '[redacted]';

// Keys whose value is a secret, or names where one is kept (an env variable holding a token is still redacted:
// its name tells an attacker where to look). `keepalive`, `key_*` timings and the like do not match.
const SECRET_KEY = /(secret|token|passw|pwd|credential|private|api[_-]?key|access[_-]?key|session[_-]?key|signing|cookie|sha256|auth[_-]?header|bearer|(^|[_-])key$|^key[_-]|_env$)/i;
// Values that look like secrets wherever they appear: AWS access keys, bearer tokens, JWTs, long hex or base64 runs.
const SECRET_VALUE = [/^AKIA[0-9A-Z]{16}$/, /^bearer\s+\S+/i, /^eyJ[\w-]+\.[\w-]+\.[\w-]*$/, /^[0-9a-f]{32,}$/i, /^[A-Za-z0-9+/_-]{40,}={0,2}$/];

/** Copies a configuration (plain JSON data) with every secret replaced by `[redacted]`. */
export function redactConfig(value: unknown, key = ''): unknown {
  if (key && SECRET_KEY.test(key) && value !== null && value !== undefined && value !== '') return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactConfig(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactConfig(v, k)]));
  }
  if (typeof value === 'string') return redactString(value);
  return value;
}

function redactString(s: string): string {
  if (SECRET_VALUE.some((re) => re.test(s))) return REDACTED;
  // Credentials written into a URL (https://user:password@host).
  return s.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/i, `$1${REDACTED}@`);
}
