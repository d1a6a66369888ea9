import { Module } from '@nestjs/common';
import { GrpcServerHost } from './grpc-server.host';

/** The gRPC transport's own pieces: the grpc-js server handle (GOAWAY, bounded close). */
@Module({ providers: [GrpcServerHost], exports: [GrpcServerHost] })
export class GrpcModule {}
