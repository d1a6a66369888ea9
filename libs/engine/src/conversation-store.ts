import type { Conversation } from './conversation';

/**
 * Where conversations live between RPCs. In memory today; a shared store for several gateway
 * instances plugs in behind this interface.
 */
export interface ConversationStore {
  get(id: string): Conversation | undefined;
  add(conversation: Conversation): void;
  delete(id: string): boolean;
  readonly size: number;
  values(): IterableIterator<Conversation>;
}

export const CONVERSATION_STORE = Symbol.for('byova.conversation-store');

export class InMemoryConversationStore implements ConversationStore {
  private readonly map = new Map<string, Conversation>();
  get(id: string) { return this.map.get(id); }
  add(c: Conversation) { this.map.set(c.id, c); }
  delete(id: string) { return this.map.delete(id); }
  get size() { return this.map.size; }
  values() { return this.map.values(); }
}
