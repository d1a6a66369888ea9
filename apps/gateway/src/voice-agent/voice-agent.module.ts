import { Module } from '@nestjs/common';
import { RpcModule } from '../rpc/rpc.module';
import { VoiceAgentController } from './voice-agent.controller';

/** BYOVA's VoiceVirtualAgent gRPC service. */
@Module({ imports: [RpcModule], controllers: [VoiceAgentController] })
export class VoiceAgentModule {}
