import { Module } from '@nestjs/common';
import { GatewayConfig, LOADED_CONFIG, type LoadedConfig, LOGGER, type Logger } from '@app/config';
import { ConversationEngine } from './conversation-engine.service';
import { CONVERSATION_STORE, InMemoryConversationStore } from './conversation-store';
import { createSpeechEndpointerFactory } from './endpointing/silero/select-endpointer';
import { SPEECH_ENDPOINTER_FACTORY } from './endpointing/speech-endpointer';
import { CallRecorder } from './recording/call-recorder.service';

@Module({
  providers: [
    { provide: CONVERSATION_STORE, useClass: InMemoryConversationStore },
    {
      provide: SPEECH_ENDPOINTER_FACTORY,
      inject: [GatewayConfig, LOADED_CONFIG, LOGGER],
      // Async: the Silero model is loaded (and checked) before the gateway accepts calls.
      useFactory: async (c: GatewayConfig, loaded: LoadedConfig, log: Logger) =>
        createSpeechEndpointerFactory(c.voice_activity_detection, { baseDir: loaded.baseDir, log }),
    },
    CallRecorder,
    ConversationEngine,
  ],
  // The factory is exported for health reporting (which detector runs, and whether it is degraded).
  exports: [ConversationEngine, SPEECH_ENDPOINTER_FACTORY],
})
export class EngineModule {}
