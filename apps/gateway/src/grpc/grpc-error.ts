import { RpcException } from '@nestjs/microservices';
import { GatewayError } from '@app/engine';

/** NestJS's gRPC exception filter turns `{ code, message }` into that status; details never carry a stack. */
export function rpcException(e: GatewayError): RpcException {
  return new RpcException({ code: e.code, message: e.message });
}
