import type { MonitoringRole } from '@app/config';

/** Who is asking: a script with a bearer token, or a person logged in through OIDC (session cookie). */
export interface MonitoringPrincipal {
  via: 'token' | 'session';
  role: MonitoringRole;
  /** Token name, or the user's subject at the provider. */
  name: string;
  email?: string;
  orgId?: string;
  /** Session id (cookie logins only): what the CSRF token and logout are bound to. */
  sid?: string;
  /** Session expiry, seconds since the epoch (cookie logins only). */
  exp?: number;
}

/** What the auth layer leaves on each HTTP request for guards, controllers and views. */
export interface RequestAuth {
  principal?: MonitoringPrincipal;
  /** Present with a session: put it in the page (`<meta name="csrf-token">`) and send it back as `X-CSRF-Token`. */
  csrfToken?: string;
  /** Why the credentials sent were refused (bad token, expired session), for the 401 message. */
  problem?: string;
}

export const REQUEST_AUTH = Symbol.for('byova.monitoring.auth');

/** The subset of an Express request the auth layer reads (keeps it testable without Express types everywhere). */
export interface AuthRequest {
  method: string;
  path: string;
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  socket?: { encrypted?: boolean };
  [REQUEST_AUTH]?: RequestAuth;
}

export const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const roleSatisfies = (have: MonitoringRole, need: MonitoringRole): boolean => have === 'admin' || have === need;

export function header(req: AuthRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
