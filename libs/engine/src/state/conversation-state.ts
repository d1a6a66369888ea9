import type { ResolvedInput } from '../next-input';

/**
 * What outlives one RPC of a call, in a form any process can read: JSON-serialisable, no runtime objects.
 * Open RPCs, the ordering lock, the recorder and live connector sessions stay with the process that owns
 * the conversation.
 */
export interface ConversationState {
  id: string;
  agentId: string;
  customerOrgId: string;
  /** Epoch ms. */
  createdAt: number;
  lastActivityAt: number;
  /** The agent's start has run (with or without a SESSION_START from WxCC). */
  started: boolean;
  /** What the agent last asked to collect. */
  expect: ResolvedInput;
  /** Epoch ms until which the last answer's prompts that cannot be barged in are playing. */
  noBargeInUntil: number;
  /** Epoch ms when the last answer's prompts have all played. */
  promptsEndAt: number;
  /** A small blob the connector's session keeps with the call (AgentSessionContext.state). */
  connectorState?: Record<string, unknown>;
}

/** Ownership of one conversation by one process until `expiresAt` (epoch ms), unless renewed. */
export interface Lease {
  readonly conversationId: string;
  readonly owner: string;
  readonly expiresAt: number;
}

/** Raised when a lease was lost (expired and taken over by another owner) or a create found the id taken. */
export class LeaseConflictError extends Error {
  override name = 'LeaseConflictError';
}

/**
 * Where conversation state lives between RPCs, shared by every gateway replica that uses the same store.
 * All calls are async (a networked store plugs in behind this); each resolves within the store's own bound.
 */
export interface ConversationStateStore {
  /** Creates a conversation and takes its lease; rejects with LeaseConflictError if the id exists. */
  create(state: ConversationState, owner: string, leaseMs: number): Promise<Lease>;
  get(id: string): Promise<ConversationState | undefined>;
  /**
   * Takes (or renews) ownership: succeeds when the conversation exists and is unowned, owned by `owner`,
   * or its lease has expired; undefined when it does not exist or another owner's lease is live.
   */
  acquire(id: string, owner: string, leaseMs: number): Promise<Lease | undefined>;
  /** Writes the state under a live lease (renewing it); rejects with LeaseConflictError if the lease was lost. */
  save(lease: Lease, state: ConversationState, leaseMs: number): Promise<Lease>;
  /** Gives ownership up (the state stays). No-op if the lease was lost. */
  release(lease: Lease): Promise<void>;
  /**
   * Removes the conversation and remembers its id as ended for `retentionMs`; no-op if the lease was lost.
   */
  end(lease: Lease, retentionMs: number): Promise<void>;
  /** The conversation ended within its retention. */
  wasEnded(id: string): Promise<boolean>;
  /** Live conversations (not ended ones). */
  count(): Promise<number>;
  /** Live conversations' states, for sweeps and monitoring. */
  list(): Promise<ConversationState[]>;
}

export const CONVERSATION_STATE_STORE = Symbol.for('byova.conversation-state-store');
