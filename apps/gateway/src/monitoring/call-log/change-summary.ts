import type { CallLogChangeId } from './call-log.types';

/** Changed ids a summary names; past that it says `more` (pages then refresh whatever they show). */
export const MAX_CHANGED_IDS = 100;

/** Call-log changes summed up: how many of each kind, and which calls (up to MAX_CHANGED_IDS). */
export interface ChangeSummary {
  started: number;
  updated: number;
  ended: number;
  ids: string[];
  more: boolean;
}

/** Sums changes (or other summaries) into one: constant work per change, bounded size. */
export class ChangeCollector {
  private started = 0;
  private updated = 0;
  private ended = 0;
  private ids = new Set<string>();
  private more = false;

  get empty(): boolean {
    return this.started + this.updated + this.ended === 0;
  }

  /** A change, as its kind and call id (nothing allocated per change). */
  add(kind: CallLogChangeId['kind'], id: string): void {
    if (kind === 'updated') this.updated++;
    else if (kind === 'started') this.started++;
    else this.ended++;
    this.name(id);
  }

  merge(s: ChangeSummary): void {
    this.started += s.started;
    this.updated += s.updated;
    this.ended += s.ended;
    for (const id of s.ids) this.name(id);
    this.more ||= s.more;
  }

  /** The sum so far, and a fresh start. */
  take(): ChangeSummary {
    const out = { started: this.started, updated: this.updated, ended: this.ended, ids: [...this.ids], more: this.more };
    this.started = this.updated = this.ended = 0;
    this.ids = new Set();
    this.more = false;
    return out;
  }

  private name(id: string): void {
    if (this.ids.has(id)) return;
    if (this.ids.size < MAX_CHANGED_IDS) this.ids.add(id);
    else this.more = true;
  }
}
