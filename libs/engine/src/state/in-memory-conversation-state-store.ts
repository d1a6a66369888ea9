import {
  LeaseConflictError,
  type ConversationState,
  type ConversationStateStore,
  type Lease,
} from './conversation-state';
import { parseState, serialiseState } from './state-json';

export interface InMemoryConversationStateStoreOptions {
  /** Epoch ms; tests inject their own to expire leases and ended ids without waiting. */
  now?: () => number;
  /** Most ended ids remembered at once; beyond it the oldest are forgotten first. */
  maxEndedIds?: number;
}

interface Entry {
  /** Kept as JSON, as a networked store would: callers never share objects with the store. */
  json: string;
  /** Undefined once released. */
  owner?: string;
  expiresAt: number;
}

/**
 * ConversationStateStore for a single gateway process. Lease rules, as a store shared by replicas would
 * apply them with a compare-and-set on the owner:
 * - a lease is live while now < expiresAt; `acquire` by its owner renews it, by another owner waits for expiry;
 * - `save`/`release`/`end` go through while the lease's owner still holds the conversation, even past expiry
 *   if nobody took over; once another owner took over, or it was released or ended, the lease is lost: save
 *   rejects, release and end do nothing;
 * - `create` rejects an id that is live or remembered as ended, so a late RPC on another replica cannot
 *   bring an ended call back.
 * An ended id evicted by the cap is forgotten early; the cap only bounds memory under an end storm.
 */
export class InMemoryConversationStateStore implements ConversationStateStore {
  private readonly live = new Map<string, Entry>();
  /** Ended id to epoch ms until which it is remembered, in the order they ended. */
  private readonly ended = new Map<string, number>();
  private readonly now: () => number;
  private readonly maxEndedIds: number;

  constructor(opts: InMemoryConversationStateStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxEndedIds = opts.maxEndedIds ?? 100_000;
    if (!Number.isInteger(this.maxEndedIds) || this.maxEndedIds < 1) {
      throw new RangeError(`maxEndedIds must be a positive integer, got ${this.maxEndedIds}`);
    }
  }

  /** Ended ids held in memory, including expired ones not purged yet. */
  get endedIdsRemembered(): number {
    return this.ended.size;
  }

  async create(state: ConversationState, owner: string, leaseMs: number): Promise<Lease> {
    checkMs('leaseMs', leaseMs, false);
    const json = serialiseState(state);
    if (this.live.has(state.id)) throw new LeaseConflictError(`Conversation ${state.id} already exists`);
    if (this.isEnded(state.id)) throw new LeaseConflictError(`Conversation ${state.id} has ended`);
    const expiresAt = this.now() + leaseMs;
    this.live.set(state.id, { json, owner, expiresAt });
    return { conversationId: state.id, owner, expiresAt };
  }

  async get(id: string): Promise<ConversationState | undefined> {
    const e = this.live.get(id);
    return e && parseState(e.json);
  }

  async acquire(id: string, owner: string, leaseMs: number): Promise<Lease | undefined> {
    checkMs('leaseMs', leaseMs, false);
    const e = this.live.get(id);
    if (!e) return undefined;
    const now = this.now();
    if (e.owner !== owner && now < e.expiresAt) return undefined; // a released entry has expired
    e.owner = owner;
    e.expiresAt = now + leaseMs;
    return { conversationId: id, owner, expiresAt: e.expiresAt };
  }

  async save(lease: Lease, state: ConversationState, leaseMs: number): Promise<Lease> {
    checkMs('leaseMs', leaseMs, false);
    // Serialise first: a bad state is a bug to surface even when the lease was lost.
    const json = serialiseState(state);
    if (state.id !== lease.conversationId) {
      throw new Error(`State of ${state.id} saved under the lease of ${lease.conversationId}`);
    }
    const e = this.held(lease);
    if (!e) throw new LeaseConflictError(`Lease of ${lease.owner} on ${lease.conversationId} was lost`);
    e.json = json;
    e.expiresAt = this.now() + leaseMs;
    return { conversationId: lease.conversationId, owner: lease.owner, expiresAt: e.expiresAt };
  }

  async release(lease: Lease): Promise<void> {
    const e = this.held(lease);
    if (!e) return;
    e.owner = undefined;
    e.expiresAt = 0; // free to acquire at once
  }

  async end(lease: Lease, retentionMs: number): Promise<void> {
    checkMs('retentionMs', retentionMs, true);
    if (!this.held(lease)) return;
    const id = lease.conversationId;
    this.live.delete(id);
    const now = this.now();
    this.purgeEnded(now);
    if (retentionMs === 0) return;
    this.ended.set(id, now + retentionMs);
    if (this.ended.size > this.maxEndedIds) this.ended.delete(this.ended.keys().next().value!);
  }

  async wasEnded(id: string): Promise<boolean> {
    return this.isEnded(id);
  }

  async count(): Promise<number> {
    return this.live.size;
  }

  async list(): Promise<ConversationState[]> {
    return Array.from(this.live.values(), (e) => parseState(e.json));
  }

  private held(lease: Lease): Entry | undefined {
    const e = this.live.get(lease.conversationId);
    return e?.owner === lease.owner ? e : undefined;
  }

  private isEnded(id: string): boolean {
    const until = this.ended.get(id);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.ended.delete(id);
    return false;
  }

  /**
   * Drops expired ids from the oldest end on, stopping at the first still remembered: O(1) amortised per end.
   * With mixed retentions an expired id may wait behind a longer one; the cap still bounds them.
   */
  private purgeEnded(now: number) {
    for (const [id, until] of this.ended) {
      if (now < until) break;
      this.ended.delete(id);
    }
  }
}

function checkMs(name: string, ms: number, zeroOk: boolean) {
  if (!Number.isFinite(ms) || ms < 0 || (ms === 0 && !zeroOk)) throw new RangeError(`${name} must be ${zeroOk ? '>= 0' : '> 0'}, got ${ms}`);
}
