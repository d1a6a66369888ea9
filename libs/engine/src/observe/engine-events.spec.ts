import { DELIVERY_INTERVAL_MS, type EngineEvent, EngineEvents, MAX_PENDING_EVENTS } from './engine-events';

const started: EngineEvent = { type: 'conversation_started', at: 1, conversationId: 'c', agentId: 'a', connectorId: 'x', customerOrgId: '', resumed: false };
const rpc = (n: number): EngineEvent => ({ type: 'rpc_started', at: n, conversationId: 'c', rpc: n, method: 'ProcessCallerInput' });
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

describe('EngineEvents', () => {
  it('listens only while someone is subscribed; unsubscribing delivers what was emitted before, then stops', () => {
    const bus = new EngineEvents();
    expect(bus.listening).toBe(false);
    const seen: string[] = [];
    const off = bus.subscribe((e) => seen.push(e.type));
    expect(bus.listening).toBe(true);
    bus.emit(started);
    off();
    bus.emit(started);
    bus.flush();
    expect([seen, bus.listening]).toEqual([['conversation_started'], false]);
  });

  it('delivers in order within DELIVERY_INTERVAL_MS, in one batch, never inside the emitter; flush() delivers at once', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const bus = new EngineEvents();
      const seen: number[] = [];
      bus.subscribe((e) => seen.push(e.at));
      bus.emit(rpc(1));
      await nextTurn();
      jest.advanceTimersByTime(DELIVERY_INTERVAL_MS - 1);
      bus.emit(rpc(2));
      expect(seen).toEqual([]); // not after the loop turn, not per event
      jest.advanceTimersByTime(1);
      expect(seen).toEqual([1, 2]);
      bus.emit(rpc(3));
      bus.flush();
      expect(seen).toEqual([1, 2, 3]);
      jest.advanceTimersByTime(DELIVERY_INTERVAL_MS);
      expect(seen).toEqual([1, 2, 3]); // nothing twice
      expect(jest.getTimerCount()).toBe(0); // flush() cancelled the pending delivery
    } finally {
      jest.useRealTimers();
    }
  });

  it('holds at most MAX_PENDING_EVENTS: more than that are delivered at once', () => {
    const bus = new EngineEvents();
    let n = 0;
    bus.subscribe(() => n++);
    for (let i = 0; i < MAX_PENDING_EVENTS; i++) bus.emit(rpc(i));
    expect(n).toBe(MAX_PENDING_EVENTS);
    bus.emit(rpc(0));
    expect(n).toBe(MAX_PENDING_EVENTS);
  });

  it('keeps nothing while nobody listens', () => {
    const bus = new EngineEvents();
    bus.emit(started);
    const seen: string[] = [];
    bus.subscribe((e) => seen.push(e.type));
    bus.flush();
    expect(seen).toEqual([]);
  });

  it('an observer that throws costs neither the emitter nor the other observers', () => {
    const bus = new EngineEvents();
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('observer bug');
    });
    bus.subscribe((e) => seen.push(e.type));
    expect(() => bus.emit(started)).not.toThrow();
    expect(() => bus.flush()).not.toThrow();
    expect(seen).toEqual(['conversation_started']);
  });

  it('payload capture is off unless an observer asks for it', () => {
    expect(new EngineEvents().capturePayloads).toBe(false);
  });
});
