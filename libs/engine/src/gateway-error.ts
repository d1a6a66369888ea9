import { status } from '@grpc/grpc-js';

/** A failure reported to the caller as a gRPC status; `message` is safe to show (no internals). */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(readonly code: status, message: string) {
    super(message);
  }
  static invalidArgument(m: string) { return new GatewayError(status.INVALID_ARGUMENT, m); }
  static notFound(m: string) { return new GatewayError(status.NOT_FOUND, m); }
  static exhausted(m: string) { return new GatewayError(status.RESOURCE_EXHAUSTED, m); }
  static unavailable(m: string) { return new GatewayError(status.UNAVAILABLE, m); }
  static failedPrecondition(m: string) { return new GatewayError(status.FAILED_PRECONDITION, m); }
}
