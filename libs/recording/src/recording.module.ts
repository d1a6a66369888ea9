import { Module } from '@nestjs/common';
import { CallRecorder } from './call-recorder.service';

/** Call recording for agents that ask for it (finalised at conversation end and at shutdown). */
@Module({ providers: [CallRecorder], exports: [CallRecorder] })
export class RecordingModule {}
