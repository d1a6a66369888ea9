import { Module } from '@nestjs/common';
import { JwtAuthModule } from '../jwt-auth/jwt-auth.module';
import { RpcModule } from '../rpc/rpc.module';
import { VoiceAgentController } from './voice-agent.controller';

/** BYOVA's VoiceVirtualAgent gRPC service, behind WxCC's token (jwt_validation). */
@Module({ imports: [RpcModule, JwtAuthModule], controllers: [VoiceAgentController] })
export class VoiceAgentModule {}
