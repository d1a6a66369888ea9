import { createServer, connect, type Server, type Socket } from 'node:net';

export interface RoutingProxy {
  readonly port: number;
  /** Backend port each accepted connection was sent to, in order. */
  readonly routed: number[];
  close(): Promise<void>;
}

/**
 * A TCP load balancer in miniature: every new client connection goes to the backend `pick` names for it
 * (connections are pinned, as with kube-proxy), bytes passed through untouched, HTTP/2 GOAWAY included.
 */
export function routingProxy(pick: (connectionIndex: number) => number): Promise<RoutingProxy> {
  const routed: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const port = pick(routed.length);
    routed.push(port);
    const upstream = connect({ port, host: '127.0.0.1' });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as { port: number }).port,
        routed,
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      }),
    ),
  );
}
