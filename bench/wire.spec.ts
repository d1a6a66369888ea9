import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connect } from './wire';

/** A server that refuses the first `refusals` streams with REFUSED_STREAM and answers the others OK with one empty message. */
async function refusingServer(refusals: number) {
  const received: Buffer[][] = [];
  let n = 0;
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.on('error', () => undefined); // the refusal itself
    if (n++ < refusals) return stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    const body: Buffer[] = [];
    received.push(body);
    stream.on('data', (c: Buffer) => body.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    target: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    streams: () => n,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function call(target: string, messages: Buffer[]) {
  const conn = connect('h2', target);
  return new Promise<{ code: number; details: string; messages: number; retried?: number }>((resolve) => {
    let count = 0;
    const wire = conn.open(5000, {
      message: () => count++,
      status: (code, details) => resolve({ code, details, messages: count, retried: conn.refusedRetried }),
    });
    for (const m of messages) wire.write(conn.frame(m));
    wire.end();
  }).finally(() => conn.close());
}

describe('bench h2 client', () => {
  it('retries a stream refused with REFUSED_STREAM once, replaying what was written', async () => {
    const s = await refusingServer(1);
    try {
      const r = await call(s.target, [Buffer.from('one'), Buffer.from('two')]);
      expect(r).toEqual({ code: 0, details: '', messages: 1, retried: 1 });
      expect(s.streams()).toBe(2);
      expect(Buffer.concat(s.received[0])).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 0, 3]), Buffer.from('one'), Buffer.from([0, 0, 0, 0, 3]), Buffer.from('two')]));
    } finally {
      await s.close();
    }
  });

  it('does not retry a second time: a stream refused twice ends UNAVAILABLE', async () => {
    const s = await refusingServer(2);
    try {
      const r = await call(s.target, [Buffer.from('one')]);
      expect(r.code).toBe(14);
      expect(r.details).toContain('rst 7');
      expect(s.streams()).toBe(2);
    } finally {
      await s.close();
    }
  });
});
