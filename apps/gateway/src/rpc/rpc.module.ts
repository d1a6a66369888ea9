import { Module } from '@nestjs/common';
import { EngineModule } from '@app/engine';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { RequestRejections } from './request-rejections.service';
import { RpcGateway } from './rpc-gateway.service';

/** The transport-neutral RPC adapter every transport of BYOVA shares. */
@Module({ imports: [EngineModule, LifecycleModule], providers: [RpcGateway, RequestRejections], exports: [RpcGateway, RequestRejections] })
export class RpcModule {}
