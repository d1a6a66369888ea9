import { describeConversationStateStoreContract, TestClock } from './conversation-state-store.contract';
import { LeaseConflictError, type ConversationState } from './conversation-state';
import { InMemoryConversationStateStore } from './in-memory-conversation-state-store';

describeConversationStateStoreContract('InMemoryConversationStateStore', (clock) => new InMemoryConversationStateStore({ now: clock.now }));

describe('InMemoryConversationStateStore', () => {
  const LEASE = 10_000;
  let clock: TestClock;
  beforeEach(() => (clock = new TestClock()));

  const state = (id: string): ConversationState => ({
    id,
    agentId: 'agent-1',
    customerOrgId: 'org-1',
    createdAt: 0,
    lastActivityAt: 0,
    started: false,
    expect: {
      mode: 'dtmf',
      dtmf: { length: 4, interDigitTimeoutMs: 300, terminator: '#' },
      speech: { completeTimeoutMs: 5000, incompleteTimeoutMs: 1500, maxSpeechMs: 30000, noInputTimeoutMs: 5000 },
      bargeIn: false,
      sensitive: true,
    },
    noBargeInUntil: 0,
    promptsEndAt: 0,
  });

  async function endAll(store: InMemoryConversationStateStore, ids: string[], retentionMs: number) {
    for (const id of ids) await store.end(await store.create(state(id), 'A', LEASE), retentionMs);
  }

  it('forgets the oldest ended ids beyond its cap, which can then be created again', async () => {
    const store = new InMemoryConversationStateStore({ now: clock.now, maxEndedIds: 2 });
    await endAll(store, ['c1', 'c2', 'c3'], 60_000);
    expect(store.endedIdsRemembered).toBe(2);
    expect(await store.wasEnded('c1')).toBe(false);
    expect(await store.wasEnded('c2')).toBe(true);
    expect(await store.wasEnded('c3')).toBe(true);
    await expect(store.create(state('c1'), 'A', LEASE)).resolves.toBeDefined();
  });

  it('purges expired ended ids from the oldest on as others end', async () => {
    const store = new InMemoryConversationStateStore({ now: clock.now });
    await endAll(store, ['c1', 'c2', 'c3'], 1_000);
    await endAll(store, ['c4'], 5_000);
    expect(store.endedIdsRemembered).toBe(4);
    clock.advance(1_000);
    await endAll(store, ['c5'], 5_000);
    expect(store.endedIdsRemembered).toBe(2);
    expect(await store.wasEnded('c4')).toBe(true);
    clock.advance(5_000);
    expect(await store.wasEnded('c4')).toBe(false); // checked, so dropped
    expect(store.endedIdsRemembered).toBe(1);
  });

  it('does not remember an id ended with no retention', async () => {
    const store = new InMemoryConversationStateStore({ now: clock.now });
    await endAll(store, ['c1'], 0);
    expect(store.endedIdsRemembered).toBe(0);
    expect(await store.wasEnded('c1')).toBe(false);
  });

  it('rejects a state saved under the lease of another conversation', async () => {
    const store = new InMemoryConversationStateStore({ now: clock.now });
    const lease = await store.create(state('c1'), 'A', LEASE);
    await store.create(state('c2'), 'A', LEASE);
    await expect(store.save(lease, { ...state('c2'), started: true }, LEASE)).rejects.toThrow('saved under the lease of c1');
    expect((await store.get('c2'))!.started).toBe(false);
  });

  it('rejects lease and retention times it cannot honour', async () => {
    const store = new InMemoryConversationStateStore({ now: clock.now });
    await expect(store.create(state('c1'), 'A', 0)).rejects.toThrow(RangeError);
    await expect(store.create(state('c1'), 'A', NaN)).rejects.toThrow(RangeError);
    const lease = await store.create(state('c1'), 'A', LEASE);
    await expect(store.acquire('c1', 'A', -1)).rejects.toThrow(RangeError);
    await expect(store.save(lease, state('c1'), Infinity)).rejects.toThrow(RangeError);
    await expect(store.end(lease, -1)).rejects.toThrow(RangeError);
    expect(await store.get('c1')).toBeDefined();
    expect(() => new InMemoryConversationStateStore({ maxEndedIds: 0 })).toThrow(RangeError);
  });

  it('reads the wall clock by default', async () => {
    const store = new InMemoryConversationStateStore();
    const before = Date.now();
    const lease = await store.create(state('c1'), 'A', LEASE);
    expect(lease.expiresAt).toBeGreaterThanOrEqual(before + LEASE);
    expect(lease.expiresAt).toBeLessThanOrEqual(Date.now() + LEASE);
  });

  it('a lost lease is a LeaseConflictError, named as such', async () => {
    const store = new InMemoryConversationStateStore({ now: clock.now });
    const lease = await store.create(state('c1'), 'A', LEASE);
    await store.release(lease);
    const err = await store.save(lease, state('c1'), LEASE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseConflictError);
    expect((err as Error).name).toBe('LeaseConflictError');
  });
});
