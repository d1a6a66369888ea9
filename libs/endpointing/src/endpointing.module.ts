import { Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigPaths, LOGGER, type Logger, VadSection } from '@app/config';
import { createSpeechEndpointerFactory } from './silero/select-endpointer';
import { SPEECH_ENDPOINTER_FACTORY, type SpeechEndpointerFactory } from './speech-endpointer';

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

/** The speech endpointer factory the config asks for (Silero, or energy), shared by every call. */
@Module({
  providers: [
    {
      provide: SPEECH_ENDPOINTER_FACTORY,
      inject: [VadSection, ConfigPaths, LOGGER],
      // Async: the Silero model is loaded (and checked) before the gateway accepts calls.
      useFactory: async (vad: VadSection, paths: ConfigPaths, log: Logger) =>
        createSpeechEndpointerFactory(vad, { baseDir: paths.baseDir, log }),
    },
    SpeechEndpointerShutdown,
  ],
  exports: [SPEECH_ENDPOINTER_FACTORY],
})
export class EndpointingModule {}
