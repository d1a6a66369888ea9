import { Module } from '@nestjs/common';
import { EndpointingModule } from '@app/endpointing';
import { RecordingModule } from '@app/recording';
import { ConversationEngine } from './conversation-engine.service';
import { CONVERSATION_STATE_STORE } from './state/conversation-state';
import { InMemoryConversationStateStore } from './state/in-memory-conversation-state-store';

@Module({
  imports: [EndpointingModule, RecordingModule],
  providers: [{ provide: CONVERSATION_STATE_STORE, useFactory: () => new InMemoryConversationStateStore() }, ConversationEngine],
  // The endpointing module is re-exported for health reporting (which detector runs, and whether it is degraded).
  exports: [ConversationEngine, EndpointingModule],
})
export class EngineModule {}
