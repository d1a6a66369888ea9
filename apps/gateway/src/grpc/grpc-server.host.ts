import { Inject, Injectable } from '@nestjs/common';
import type { Server } from '@grpc/grpc-js';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { LOGGER, type Logger } from '@app/config';
import { spareClosingConnections } from './closing-connections';

/** After the drain: how long finished RPCs get to flush their last responses before open streams are cut. */
export const CLOSE_FLUSH_MS = 1000;

/**
 * The grpc-js server under Nest's gRPC transport (Nest does not expose it: it is handed over by
 * onLoadPackageDefinition), for what Nest's transport cannot do: drain with GOAWAY, and bound the close.
 */
@Injectable()
export class GrpcServerHost {
  private server?: Server;
  private url = '';
  /** The flush window of the next close; the shutdown sets it to what is left of its budget. */
  flushMs = CLOSE_FLUSH_MS;
  private readonly log: Logger;

  constructor(@Inject(LOGGER) logger: Logger) {
    this.log = logger.child({ context: 'GrpcServerHost' });
  }

  attach(server: Server, url: string): void {
    this.server = server;
    this.url = url;
    if (!spareClosingConnections(server)) {
      this.log.warn('cannot reach the gRPC listeners (grpc-js changed?): a keepalive ping during a GOAWAY grace will cut the calls on that connection');
    }
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

  /** The port the server is bound to (the real one when configured as 0), once bound. */
  boundPort(): number | undefined {
    // grpc-js keeps its listeners private; read them defensively (an upgrade that renames them only loses this).
    const servers = (this.server as unknown as { http2Servers?: Map<NetServer, unknown> } | undefined)?.http2Servers;
    if (!(servers instanceof Map)) return undefined;
    for (const s of servers.keys()) {
      const a = s.address?.() as AddressInfo | string | null;
      if (a && typeof a === 'object') return a.port;
    }
    return undefined;
  }

  /**
   * Sends GOAWAY on every connection: clients open no new RPC on them and reconnect (through a load balancer,
   * to another replica) while the RPCs in flight go on. The listener stays open, so a client that comes back
   * gets an explicit UNAVAILABLE / NOT_SERVING. grpc-js resets what is left after `graceMs`; the shutdown
   * closes the server before that.
   */
  goAway(graceMs: number): boolean {
    if (!this.server) return false;
    try {
      this.server.drain(this.url, graceMs);
      return true;
    } catch (err) {
      // grpc-js cannot drain a port bound as 0; the shutdown still refuses new RPCs itself.
      this.log.warn({ err, url: this.url }, 'could not send GOAWAY');
      return false;
    }
  }
}
