import { Module } from '@nestjs/common';
import { GrpcModule } from '../grpc/grpc.module';
import { JwtAuthModule } from '../jwt-auth/jwt-auth.module';
import { RpcModule } from '../rpc/rpc.module';
import { VoiceAgentController } from './voice-agent.controller';

/** BYOVA's VoiceVirtualAgent gRPC service, behind WxCC's token (jwt_validation). */
@Module({ imports: [RpcModule, JwtAuthModule, GrpcModule], controllers: [VoiceAgentController] })
export class VoiceAgentModule {}
