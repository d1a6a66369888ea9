import type { Server } from '@grpc/grpc-js';
import type { Http2Server, ServerHttp2Session } from 'node:http2';

type PingCallback = (err: Error | null, duration: number, payload: Buffer) => void;

/**
 * Keeps grpc-js's keepalive from cutting a connection's grace short. grpc-js pings every connection each
 * `keepalive.time_ms` and destroys it when a ping cannot be sent; Node refuses pings on a session that is closing
 * (GOAWAY sent: max_connection_age, or the shutdown's drain), so the first ping due within the grace destroyed the
 * connection with every RPC it was letting finish. A closing connection is destroyed at the end of its grace
 * anyway, so its keepalive pings count as answered. False when grpc-js's listeners cannot be reached (an upgrade
 * renamed them): aged connections then lose their calls at the first ping in the grace, as before.
 */
export function spareClosingConnections(server: Server): boolean {
  const listeners = (server as unknown as { http2Servers?: Map<Http2Server, { sessions?: Set<ServerHttp2Session> }> }).http2Servers;
  if (!(listeners instanceof Map) || listeners.size === 0) return false;
  for (const [listener, entry] of listeners) {
    for (const session of entry?.sessions ?? []) sparePings(session);
    listener.on('session', sparePings);
  }
  return true;
}

function sparePings(session: ServerHttp2Session): void {
  const ping = session.ping.bind(session) as (...args: unknown[]) => boolean;
  session.ping = ((...args: unknown[]): boolean => {
    if (!session.closed || session.destroyed) return ping(...args);
    const callback = args.find((a): a is PingCallback => typeof a === 'function');
    const payload = args.find((a): a is Buffer => Buffer.isBuffer(a)) ?? Buffer.alloc(8);
    if (callback) process.nextTick(callback, null, 0, payload);
    return true;
  }) as ServerHttp2Session['ping'];
}
