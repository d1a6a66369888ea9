import { Injectable } from '@nestjs/common';
import { REJECT_REASONS, type RejectReason } from '@app/proto';

/** Requests refused because they could not be decoded, by reason (a fixed set); monitoring reads the totals at scrape time. */
@Injectable()
export class RequestRejections {
  private readonly counts = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;

  count(reason: RejectReason): void {
    this.counts[reason]++;
  }

  snapshot(): Readonly<Record<RejectReason, number>> {
    return { ...this.counts };
  }
}
