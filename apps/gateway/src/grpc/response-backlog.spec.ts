import { connect, constants as h2, createServer, type ClientHttp2Session, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createLogger, GatewaySection } from '@app/config';
import { prompt, voiceVAResponse, type VoiceVAResponse } from '@app/proto';
import { type BacklogOverflow, ResponseBacklog, responseBytes } from './response-backlog';

/** A grpc-js-shaped call over a real HTTP/2 stream: `write` holds its callbacks until the test says they were written. */
function grpcCall(stream: ServerHttp2Stream) {
  const callbacks: Array<() => void> = [];
  const call = {
    call: { nextCall: { stream } }, // grpc-js: the intercepting call wraps the one that holds the stream
    write(_chunk: unknown, cb?: () => void) {
      if (cb) callbacks.push(cb);
      return true;
    },
    once: () => call,
  };
  return { call, flushOne: () => callbacks.shift()?.() };
}

const reply = (bytes: number): VoiceVAResponse => voiceVAResponse({ prompts: [prompt({ audioContent: new Uint8Array(bytes) })] });

describe('ResponseBacklog', () => {
  let server: Http2Server;
  let client: ClientHttp2Session;
  let streams: ServerHttp2Stream[];
  let backlog: ResponseBacklog;

  beforeEach(async () => {
    streams = [];
    server = createServer((_req, res) => void res);
    server.on('stream', (s) => streams.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const g = Object.assign(new GatewaySection(), { max_queued_response_bytes_per_rpc: 100_000, max_queued_response_bytes_per_connection: 250_000, stalled_reader_timeout_ms: 1000 });
    backlog = new ResponseBacklog(g, createLogger('silent'));
  });
  afterEach(async () => {
    backlog.onModuleDestroy();
    client.destroy();
    await new Promise((r) => server.close(r));
  });

  async function rpc() {
    const req = client.request({ ':method': 'POST', ':path': '/x' });
    req.on('error', () => undefined);
    const closed = new Promise<number>((r) => req.on('close', () => r(req.rstCode ?? 0)));
    while (streams.length === 0 || streams[streams.length - 1].id !== req.id) await new Promise((r) => setImmediate(r));
    const stream = streams[streams.length - 1];
    const { call, flushOne } = grpcCall(stream);
    const resets: BacklogOverflow[] = [];
    const b = backlog.watch(call, (why) => resets.push(why))!;
    return { b, call, flushOne, resets, closed };
  }

  it('counts a response from hand-over until grpc-js wrote it', async () => {
    const r = await rpc();
    expect(r.b.add(reply(40_000))).toBe(true);
    r.call.write(reply(40_000));
    expect(r.b.bytes).toBe(responseBytes(reply(40_000)));
    r.flushOne();
    expect(r.b.bytes).toBe(0);
    expect(backlog.waiting.size).toBe(0);
  });

  it('resets an RPC over its own bound with ENHANCE_YOUR_CALM and frees what it held', async () => {
    const r = await rpc();
    expect(r.b.add(reply(60_000))).toBe(true);
    expect(r.b.add(reply(60_000))).toBe(false);
    expect(r.resets).toEqual(['rpc']);
    expect(await r.closed).toBe(h2.NGHTTP2_ENHANCE_YOUR_CALM);
    expect([r.b.bytes, backlog.waiting.size]).toEqual([0, 0]);
  });

  it('bounds a connection across its RPCs; a closed stream gives its room back', async () => {
    const rs = [await rpc(), await rpc(), await rpc()];
    for (const r of rs) expect(r.b.add(reply(80_000))).toBe(true);
    const fourth = await rpc();
    expect(fourth.b.add(reply(10_000))).toBe(false);
    expect(fourth.resets).toEqual(['connection']);
    // the first RPC's stream closes: the connection has room again
    rs[0].b.release();
    const fifth = await rpc();
    expect(fifth.b.add(reply(10_000))).toBe(true);
  });

  it('resets an RPC whose queued responses made no progress within the stall timeout', async () => {
    const r = await rpc();
    r.b.add(reply(1000));
    expect(await r.closed).toBe(h2.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(r.resets).toEqual(['stalled']);
  });

  it('leaves calls that are not grpc-js HTTP/2 calls alone', () => {
    expect(backlog.watch(undefined, () => undefined)).toBeUndefined();
    expect(backlog.watch({ write: () => true }, () => undefined)).toBeUndefined();
  });
});
