import { createServer } from 'node:net';

/** A loopback port free right now, for starting a gateway under test or bench (small race: fine on loopback). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}
