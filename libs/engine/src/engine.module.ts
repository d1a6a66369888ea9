import { Module } from '@nestjs/common';
import { GatewayConfig } from '@app/config';
import { ConversationEngine } from './conversation-engine.service';
import { CONVERSATION_STORE, InMemoryConversationStore } from './conversation-store';
import { EnergyEndpointerFactory } from './endpointing/energy-endpointer';
import { SPEECH_ENDPOINTER_FACTORY } from './endpointing/speech-endpointer';

@Module({
  providers: [
    { provide: CONVERSATION_STORE, useClass: InMemoryConversationStore },
    {
      provide: SPEECH_ENDPOINTER_FACTORY,
      inject: [GatewayConfig],
      useFactory: (c: GatewayConfig) =>
        new EnergyEndpointerFactory({
          thresholdDbfs: c.voice_activity_detection.energy_threshold_dbfs,
          startDebounceMs: c.voice_activity_detection.start_debounce_ms,
          endSilenceMs: c.voice_activity_detection.end_silence_ms,
        }),
    },
    ConversationEngine,
  ],
  exports: [ConversationEngine],
})
export class EngineModule {}
