import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import type { EngineError, EngineErrorCode } from '@app/engine';

const GRPC_STATUS: Record<EngineErrorCode, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  failed_precondition: status.FAILED_PRECONDITION,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  internal: status.INTERNAL,
};

export function grpcStatusOf(code: EngineErrorCode): status {
  return GRPC_STATUS[code];
}

/** NestJS's gRPC exception filter turns `{ code, message }` into that status; details never carry a stack. */
export function rpcException(e: EngineError): RpcException {
  return new RpcException({ code: GRPC_STATUS[e.code], message: e.message });
}
