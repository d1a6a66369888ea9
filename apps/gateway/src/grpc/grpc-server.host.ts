import { Injectable } from '@nestjs/common';
import type { Server } from '@grpc/grpc-js';

/** After the drain: how long finished RPCs get to flush their last responses before open streams are cut. */
export const CLOSE_FLUSH_MS = 1000;

/**
 * The grpc-js server under Nest's gRPC transport (Nest does not expose it: it is handed over by
 * onLoadPackageDefinition), for what Nest's transport cannot do: bound the close.
 */
@Injectable()
export class GrpcServerHost {
  private server?: Server;
  /** The flush window of the next close. */
  flushMs = CLOSE_FLUSH_MS;

  attach(server: Server, _url: string): void {
    this.server = server;
    // Nest's default close (forceShutdown) destroys connections at once, losing the final response and status of
    // an RPC that completed just before; so close gracefully, then cut what is still open once the flush window ends.
    const tryShutdown = server.tryShutdown.bind(server);
    server.tryShutdown = (callback) => {
      const timer = setTimeout(() => server.forceShutdown(), Math.max(0, this.flushMs));
      tryShutdown((err) => {
        clearTimeout(timer);
        callback(err);
      });
    };
  }
}
