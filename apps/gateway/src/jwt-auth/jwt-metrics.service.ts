import { Injectable } from '@nestjs/common';
import { JWT_REFUSAL_REASONS, type JwtRefusalReason } from './jwt-refusal';

export type JwtReasonCounts = Record<JwtRefusalReason, number>;

export interface JwtMetricsSnapshot {
  /** RPCs whose token was accepted. */
  accepted: number;
  /** RPCs refused, by reason. */
  refused: JwtReasonCounts;
  /** With enforce_validation false: RPCs that would have been refused and were let through, by reason. */
  notEnforced: JwtReasonCounts;
  /** Accepted tokens checked in full (signature) rather than found among recently verified ones. */
  verified: number;
  /** Key set fetches, by outcome. */
  keyFetches: { ok: number; failed: number };
  /** Tokens checked with keys older than cache_duration_minutes because the key server could not be reached. */
  staleKeyUses: number;
}

const zeroCounts = (): JwtReasonCounts => Object.fromEntries(JWT_REFUSAL_REASONS.map((r) => [r, 0])) as JwtReasonCounts;

/**
 * Counters of the gRPC token check, per RPC (never per frame). Read with snapshot(); the label set is
 * JWT_REFUSAL_REASONS, fixed whatever callers send.
 */
@Injectable()
export class JwtMetrics {
  private accepted = 0;
  private verified = 0;
  private readonly refused = zeroCounts();
  private readonly notEnforced = zeroCounts();
  private readonly keyFetches = { ok: 0, failed: 0 };
  private staleKeyUses = 0;

  countAccepted(verified: boolean): void {
    this.accepted++;
    if (verified) this.verified++;
  }

  countRefused(reason: JwtRefusalReason, enforced: boolean): void {
    (enforced ? this.refused : this.notEnforced)[reason]++;
  }

  countKeyFetch(ok: boolean): void {
    this.keyFetches[ok ? 'ok' : 'failed']++;
  }

  countStaleKeyUse(): void {
    this.staleKeyUses++;
  }

  snapshot(): JwtMetricsSnapshot {
    return {
      accepted: this.accepted,
      refused: { ...this.refused },
      notEnforced: { ...this.notEnforced },
      verified: this.verified,
      keyFetches: { ...this.keyFetches },
      staleKeyUses: this.staleKeyUses,
    };
  }
}
