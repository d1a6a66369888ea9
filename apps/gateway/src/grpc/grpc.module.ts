import { Module } from '@nestjs/common';
import { GrpcServerHost } from './grpc-server.host';
import { ResponseBacklog } from './response-backlog';

/** The gRPC transport's own pieces: the grpc-js server handle (GOAWAY, bounded close), the bound on unread responses. */
@Module({ providers: [GrpcServerHost, ResponseBacklog], exports: [GrpcServerHost, ResponseBacklog] })
export class GrpcModule {}
