import { type EngineEvent, EngineEvents } from './engine-events';

const started: EngineEvent = { type: 'conversation_started', at: 1, conversationId: 'c', agentId: 'a', connectorId: 'x', customerOrgId: '', resumed: false };

describe('EngineEvents', () => {
  it('listens only while someone is subscribed; unsubscribing stops delivery', () => {
    const bus = new EngineEvents();
    expect(bus.listening).toBe(false);
    const seen: string[] = [];
    const off = bus.subscribe((e) => seen.push(e.type));
    expect(bus.listening).toBe(true);
    bus.emit(started);
    off();
    bus.emit(started);
    expect([seen, bus.listening]).toEqual([['conversation_started'], false]);
  });

  it('an observer that throws costs neither the emitter nor the other observers', () => {
    const bus = new EngineEvents();
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('observer bug');
    });
    bus.subscribe((e) => seen.push(e.type));
    expect(() => bus.emit(started)).not.toThrow();
    expect(seen).toEqual(['conversation_started']);
  });

  it('payload capture is off unless an observer asks for it', () => {
    expect(new EngineEvents().capturePayloads).toBe(false);
  });
});
