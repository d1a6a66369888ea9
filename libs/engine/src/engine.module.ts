import { Module } from '@nestjs/common';
import { EndpointingModule } from '@app/endpointing';
import { RecordingModule } from '@app/recording';
import { ConversationEngine } from './conversation-engine.service';
import { EngineEvents } from './observe/engine-events';

@Module({
  imports: [EndpointingModule, RecordingModule],
  // The state store comes from ConversationStateStoreModule (global), chosen by the app.
  providers: [ConversationEngine, EngineEvents],
  // The endpointing module is re-exported for health reporting (which detector runs, and whether it is degraded).
  exports: [ConversationEngine, EngineEvents, EndpointingModule],
})
export class EngineModule {}
