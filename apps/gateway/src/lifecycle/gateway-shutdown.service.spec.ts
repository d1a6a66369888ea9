import { createLogger } from '@app/config';
import type { Conversation, ConversationEngine, EngineError } from '@app/engine';
import type { CallRecorder } from '@app/recording';
import type { GrpcServerHost } from '../grpc/grpc-server.host';
import { DrainService } from './drain.service';
import { GatewayShutdown } from './gateway-shutdown.service';

const never = () => new Promise<never>(() => undefined);

/**
 * When a timer due `ms` from now actually fires, in ms from now: the reference for "on time" on a busy machine,
 * where every timer (the service's too) fires late by about as much.
 */
function firedAfter(ms: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((r) => setTimeout(() => r(Date.now() - t0), ms));
}

function setup(opts: { endHangs?: boolean; closeHangs?: boolean; recordingsLeft?: string[] } = {}) {
  const drain = new DrainService();
  const steps: Array<[string, number]> = [];
  let t0 = 0;
  const at = (name: string) => steps.push([name, Date.now() - t0]);
  const grpc = { goAway: () => (at('goaway'), true), flushMs: 1000 } as unknown as GrpcServerHost;
  const convs = [{ id: 'conv-a' }, { id: 'conv-b' }] as Conversation[];
  const engine = {
    conversations: () => convs.values(),
    endConversation: (c: Conversation) => (at(`end ${c.id}`), opts.endHangs && c.id === 'conv-b' ? never() : Promise.resolve()),
  } as unknown as ConversationEngine;
  let recorderDeadline = 0;
  const recorder = {
    shutdownBy: (d: number) => (recorderDeadline = d - t0),
    pendingConversations: () => opts.recordingsLeft ?? [],
  } as unknown as CallRecorder;
  const close = () => (at('close'), opts.closeHangs ? never() : Promise.resolve());
  const shutdown = new GatewayShutdown(drain, grpc, engine, createLogger('silent'), recorder);
  return {
    drain,
    steps,
    grpc,
    recorderDeadline: () => recorderDeadline,
    run: (graceMs: number) => {
      t0 = Date.now();
      return shutdown.run(graceMs, close);
    },
  };
}

describe('GatewayShutdown', () => {
  it('with nothing in flight and everything answering, is done at once: {drained: true}, nothing pending', async () => {
    const s = setup();
    const t0 = Date.now();
    expect(await s.run(2000)).toEqual({ drained: true });
    expect(Date.now() - t0).toBeLessThan(1000); // well inside the grace: it did not wait for any part of it
    expect(s.steps.map(([n]) => n)).toEqual(['goaway', 'end conv-a', 'end conv-b', 'close']);
  });

  it('keeps the whole stop inside the grace when every step hangs, and names what was left', async () => {
    const s = setup({ endHangs: true, closeHangs: true, recordingsLeft: ['conv-a'] });
    const aborted: EngineError[] = [];
    s.drain.track({ conversationId: 'conv-a', abort: (e) => void aborted.push(e) });
    const t0 = Date.now();
    const [atDue800, atDue1000] = [firedAfter(800), firedAfter(1000)];
    const report = await s.run(1000);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(990);
    // Upper bounds against timers due at the same moments, not the clock: load delays those as much.
    expect(took).toBeLessThan(Math.max(1000, await atDue1000) + 50);
    expect(report).toEqual({
      drained: false,
      pending: { rpcs: ['conv-a'], conversations: ['conv-b'], recordings: ['conv-a'], close: true },
    });
    expect(aborted.map((e) => [e.code, e.message])).toEqual([['unavailable', 'gateway is shutting down']]);
    // The budget: RPCs until grace - tail (tail = a fifth: 200 ms), conversations until grace - tail/2,
    // recordings until grace - tail/4, the flush window at most tail/4.
    const when = Object.fromEntries(s.steps);
    expect(when['end conv-a']).toBeGreaterThanOrEqual(795);
    expect(when['end conv-a']).toBeLessThan(Math.max(800, await atDue800) + 50);
    expect(when.close).toBeGreaterThanOrEqual(895);
    expect(s.recorderDeadline()).toBe(950);
    expect(s.grpc.flushMs).toBe(50);
  });

  it('lets RPCs finish by themselves before the end of their part of the grace', async () => {
    const s = setup();
    const end = s.drain.track({ conversationId: 'conv-a', abort: () => {
      throw new Error('must not be cut');
    }, });
    setTimeout(end, 100);
    const t0 = Date.now();
    const atDue100 = firedAfter(100);
    expect(await s.run(5000)).toEqual({ drained: true });
    expect(Date.now() - t0).toBeLessThan(Math.max(100, await atDue100) + 200); // when the RPC ended, not at grace - tail (4 s)
  });
});
