import { createLogger } from '@app/config';
import { type ConversationEngine, EngineError, EngineEvents, type TurnHandle, type TurnSink } from '@app/engine';
import { voiceVARequest } from '@app/simulator';
import type { VoiceVAResponse } from '@app/proto';
import { DrainService, SHUTTING_DOWN } from '../lifecycle/drain.service';
import { RequestRejections } from './request-rejections.service';
import { RpcGateway, type RpcSink } from './rpc-gateway.service';

/** A scripted engine turn: records what the adapter drives, lets the test answer through the engine's sink. */
class FakeTurn implements TurnHandle {
  calls: string[] = [];
  throwOn?: 'request' | 'halfClose' | 'cancel';
  constructor(readonly sink: TurnSink) {}
  request(): void {
    this.calls.push('request');
    if (this.throwOn === 'request') throw new TypeError('engine bug');
  }
  halfClose(): void {
    this.calls.push('halfClose');
    if (this.throwOn === 'halfClose') throw new TypeError('engine bug');
  }
  cancel(status?: string): void {
    this.calls.push(status ? `cancel ${status}` : 'cancel');
  }
}

function setup() {
  const turns: FakeTurn[] = [];
  const engine = { openTurn: (sink: TurnSink) => turns[turns.push(new FakeTurn(sink)) - 1] } as unknown as ConversationEngine;
  const drain = new DrainService();
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('debug', { write: (l: string) => void logs.push(JSON.parse(l)) });
  return { turns, drain, logs, rpc: new RpcGateway(engine, drain, logger, new EngineEvents(), new RequestRejections()) };
}

/** A transport sink that records the RPC's outcome. */
function recordingSink() {
  const out = { sent: [] as VoiceVAResponse[], outcome: undefined as undefined | 'ok' | EngineError };
  const sink: RpcSink = {
    send: (r) => void out.sent.push(r),
    complete: () => (out.outcome = 'ok'),
    fail: (e) => (out.outcome = e),
  };
  return { out, sink };
}

const req = voiceVARequest({ conversationId: 'c-1' });

describe('RpcGateway', () => {
  it('refuses an RPC while draining with UNAVAILABLE, without opening a turn or counting it', () => {
    const { rpc, drain, turns } = setup();
    drain.startDraining();
    const { out, sink } = recordingSink();
    const h = rpc.open(sink);
    expect(h.ended).toBe(true);
    expect(out.outcome).toEqual(new EngineError('unavailable', SHUTTING_DOWN));
    expect([turns.length, drain.inflightCount]).toEqual([0, 0]);
    h.request(req); // nothing to drive, nothing thrown
    expect(() => rpc.unary('ListVirtualAgents', () => 1)).toThrow(expect.objectContaining({ code: 'unavailable', message: SHUTTING_DOWN }));
  });

  it('counts an RPC in flight from open until it completes, fails or is cancelled, once each', () => {
    const { rpc, drain, turns } = setup();
    const a = rpc.open(recordingSink().sink);
    const b = rpc.open(recordingSink().sink);
    const c = rpc.open(recordingSink().sink);
    expect(drain.inflightCount).toBe(3);
    turns[0].sink.complete();
    turns[0].sink.complete();
    expect(drain.inflightCount).toBe(2);
    turns[1].sink.fail(EngineError.notFound('x'));
    c.cancel();
    c.cancel();
    expect(drain.inflightCount).toBe(0);
    expect([a.ended, b.ended, c.ended]).toEqual([true, true, true]);
    expect(turns[2].calls).toEqual(['cancel']);
  });

  it('delivers one outcome: nothing the engine sends after it reaches the transport', () => {
    const { rpc, turns } = setup();
    const { out, sink } = recordingSink();
    rpc.open(sink);
    turns[0].sink.send({} as VoiceVAResponse);
    turns[0].sink.complete();
    turns[0].sink.send({} as VoiceVAResponse);
    turns[0].sink.fail(EngineError.internal());
    expect([out.sent.length, out.outcome]).toEqual([1, 'ok']);
  });

  it('a bug in the engine costs that RPC only: INTERNAL without detail, the turn cancelled, a log line', () => {
    const { rpc, turns, logs, drain } = setup();
    const bad = recordingSink();
    const good = recordingSink();
    const h = rpc.open(bad.sink);
    rpc.open(good.sink);
    turns[0].throwOn = 'request';
    expect(() => h.request(req)).not.toThrow();
    expect(bad.out.outcome).toEqual(new EngineError('internal', 'internal error'));
    expect(turns[0].calls).toEqual(['request', 'cancel INTERNAL']);
    expect(logs).toContainEqual(expect.objectContaining({ level: 50, conversationId: 'c-1', msg: 'unexpected error in an RPC', err: expect.objectContaining({ message: 'engine bug' }) }));
    expect([good.out.outcome, drain.inflightCount]).toEqual([undefined, 1]);
    h.halfClose(); // after the bug: ignored
    expect(turns[0].calls).toEqual(['request', 'cancel INTERNAL']);
  });

  it('a bug on half-close and a throwing transport are guarded the same way', () => {
    const { rpc, turns } = setup();
    const a = recordingSink();
    const h = rpc.open(a.sink);
    turns[0].throwOn = 'halfClose';
    h.halfClose();
    expect(a.out.outcome).toMatchObject({ code: 'internal' });

    const b = recordingSink();
    b.sink.send = () => {
      throw new RangeError('cannot encode');
    };
    rpc.open(b.sink);
    turns[1].sink.send({} as VoiceVAResponse);
    expect(b.out.outcome).toMatchObject({ code: 'internal' });
    expect(turns[1].calls).toEqual(['cancel INTERNAL']);
  });

  it('an EngineError escaping the engine is the RPC\'s status, not INTERNAL', () => {
    const { rpc, turns } = setup();
    const { out, sink } = recordingSink();
    const h = rpc.open(sink);
    turns[0].request = () => {
      throw EngineError.invalidArgument('conversation_id is required');
    };
    h.request(req);
    expect(out.outcome).toEqual(EngineError.invalidArgument('conversation_id is required'));
  });

  it('a unary bug becomes INTERNAL and a log line', () => {
    const { rpc, logs } = setup();
    expect(() =>
      rpc.unary('ListVirtualAgents', () => {
        throw new Error('boom');
      }),
    ).toThrow(expect.objectContaining({ code: 'internal', message: 'internal error' }));
    expect(logs.some((l) => l.msg === 'unexpected error in an RPC')).toBe(true);
  });

  it('at shutdown, ends every RPC still open with UNAVAILABLE and cancels its turn; names them by conversation', () => {
    const { rpc, drain, turns } = setup();
    const a = recordingSink();
    const b = recordingSink();
    rpc.open(a.sink).request(req);
    rpc.open(b.sink);
    drain.startDraining();
    const cut = drain.abortAll(EngineError.unavailable(SHUTTING_DOWN));
    expect(cut.map((r) => r.conversationId)).toEqual(['c-1', '']);
    expect([a.out.outcome, b.out.outcome]).toEqual([expect.objectContaining({ code: 'unavailable' }), expect.objectContaining({ code: 'unavailable' })]);
    // The turns learn what the client was told (observers count it so).
    expect(turns.map((t) => t.calls.at(-1))).toEqual(['cancel UNAVAILABLE', 'cancel UNAVAILABLE']);
    expect(drain.inflightCount).toBe(0);
  });
});
