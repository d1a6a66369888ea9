import { Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { GatewayConfig, LOADED_CONFIG, type LoadedConfig, LOGGER, type Logger } from '@app/config';
import { ConversationEngine } from './conversation-engine.service';
import { CONVERSATION_STORE, InMemoryConversationStore } from './conversation-store';
import { createSpeechEndpointerFactory } from './endpointing/silero/select-endpointer';
import { SPEECH_ENDPOINTER_FACTORY, type SpeechEndpointerFactory } from './endpointing/speech-endpointer';
import { CallRecorder } from './recording/call-recorder.service';

/**
 * Stops the detector's background inference once the server is closed: the process may exit right after, and
 * onnxruntime aborts the whole process if its thread is torn down in the middle of a run.
 */
@Injectable()
export class SpeechEndpointerShutdown implements OnApplicationShutdown {
  constructor(@Inject(SPEECH_ENDPOINTER_FACTORY) private readonly factory: SpeechEndpointerFactory) {}

  async onApplicationShutdown(): Promise<void> {
    await this.factory.shutdown?.();
  }
}

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
    SpeechEndpointerShutdown,
    CallRecorder,
    ConversationEngine,
  ],
  // The factory is exported for health reporting (which detector runs, and whether it is degraded).
  exports: [ConversationEngine, SPEECH_ENDPOINTER_FACTORY],
})
export class EngineModule {}
