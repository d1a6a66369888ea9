/**
 * Why a token was not accepted: the gRPC status details the caller sees, the log's `reason` and the metric's label.
 * A fixed list, so the metric's label set stays bounded whatever callers send.
 */
export const JWT_REFUSAL_REASONS = [
  'missing token',
  'token too large',
  'malformed token',
  'unsupported algorithm',
  'unknown issuer',
  'unknown key',
  'signature invalid',
  'token expired',
  'token not yet valid',
  'missing claim',
  'audience mismatch',
  'subject mismatch',
  'data source url mismatch',
  'schema id mismatch',
  // The token could not be checked: no keys of its issuer (key server unreachable, nothing cached). Not the caller's fault.
  'keys unavailable',
  'internal error',
] as const;
export type JwtRefusalReason = (typeof JWT_REFUSAL_REASONS)[number];

/** A refusal on the way out of the checks. */
export class JwtRefusal extends Error {
  constructor(readonly reason: JwtRefusalReason) {
    super(reason);
    this.name = 'JwtRefusal';
  }
}
