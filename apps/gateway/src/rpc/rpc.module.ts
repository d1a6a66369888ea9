import { Module } from '@nestjs/common';
import { EngineModule } from '@app/engine';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { RpcGateway } from './rpc-gateway.service';

/** The transport-neutral RPC adapter every transport of BYOVA shares. */
@Module({ imports: [EngineModule, LifecycleModule], providers: [RpcGateway], exports: [RpcGateway] })
export class RpcModule {}
