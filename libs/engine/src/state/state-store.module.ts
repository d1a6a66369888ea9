import { DynamicModule, Global, Module } from '@nestjs/common';
import { CONVERSATION_STATE_STORE, type ConversationStateStore } from './conversation-state';
import { InMemoryConversationStateStore } from './in-memory-conversation-state-store';

/**
 * Provides the conversation state store to the whole app: the in-memory one by default; replicas that share
 * calls are given a shared store here.
 */
@Global()
@Module({})
export class ConversationStateStoreModule {
  static forRoot(store?: ConversationStateStore): DynamicModule {
    return {
      module: ConversationStateStoreModule,
      providers: [{ provide: CONVERSATION_STATE_STORE, useFactory: () => store ?? new InMemoryConversationStateStore() }],
      exports: [CONVERSATION_STATE_STORE],
    };
  }
}
