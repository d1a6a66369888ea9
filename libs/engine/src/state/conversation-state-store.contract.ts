import { LeaseConflictError, type ConversationState, type ConversationStateStore } from './conversation-state';

/** A clock that moves only when told; pass `clock.now` to the store under test. */
export class TestClock {
  constructor(private t = 1_700_000_000_000) {}
  readonly now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

/**
 * The rules every ConversationStateStore keeps, as jest tests. Call it from a spec with a factory that
 * builds a fresh, empty store reading time from the given clock.
 */
export function describeConversationStateStoreContract(
  name: string,
  make: (clock: TestClock) => ConversationStateStore | Promise<ConversationStateStore>,
) {
  describe(`${name} (ConversationStateStore contract)`, () => {
    const LEASE = 10_000;
    const RETENTION = 60_000;
    let clock: TestClock;
    let store: ConversationStateStore;

    beforeEach(async () => {
      clock = new TestClock();
      store = await make(clock);
    });

    function state(id: string, over: Partial<ConversationState> = {}): ConversationState {
      return {
        id,
        agentId: 'agent-1',
        customerOrgId: 'org-1',
        createdAt: clock.now(),
        lastActivityAt: clock.now(),
        started: false,
        expect: {
          mode: 'voice',
          dtmf: { length: 1, interDigitTimeoutMs: 300, terminator: '#' },
          speech: { completeTimeoutMs: 5000, incompleteTimeoutMs: 1500, maxSpeechMs: 30000, noInputTimeoutMs: 5000 },
          bargeIn: true,
          sensitive: false,
        },
        noBargeInUntil: 0,
        promptsEndAt: 0,
        ...over,
      };
    }

    describe('create and get', () => {
      it('returns a lease for the creator and a deep copy of the state, never the same object', async () => {
        const s = state('c1', { connectorState: { nested: { n: 1 } } });
        const lease = await store.create(s, 'A', LEASE);
        expect(lease).toEqual({ conversationId: 'c1', owner: 'A', expiresAt: clock.now() + LEASE });

        (s.connectorState!.nested as { n: number }).n = 2; // the caller's object, after create
        s.started = true;
        const got = await store.get('c1');
        expect(got).toEqual(state('c1', { connectorState: { nested: { n: 1 } } }));
        expect(got).not.toBe(s);

        got!.expect.bargeIn = false; // a read copy, changed by its reader
        expect((await store.get('c1'))!.expect.bargeIn).toBe(true);
        expect(await store.get('c1')).not.toBe(await store.get('c1'));
      });

      it('answers undefined for an id it does not hold', async () => {
        expect(await store.get('nope')).toBeUndefined();
      });

      it('rejects a second create of a live id with LeaseConflictError and keeps the first', async () => {
        await store.create(state('c1', { agentId: 'first' }), 'A', LEASE);
        await expect(store.create(state('c1', { agentId: 'second' }), 'B', LEASE)).rejects.toThrow(LeaseConflictError);
        await expect(store.create(state('c1'), 'A', LEASE)).rejects.toThrow(LeaseConflictError);
        expect((await store.get('c1'))!.agentId).toBe('first');
        expect(await store.acquire('c1', 'B', LEASE)).toBeUndefined(); // A's lease untouched
      });

      it('rejects a create of an id ended within its retention, and allows it after', async () => {
        const lease = await store.create(state('c1'), 'A', LEASE);
        await store.end(lease, RETENTION);
        await expect(store.create(state('c1'), 'B', LEASE)).rejects.toThrow(LeaseConflictError);
        expect(await store.get('c1')).toBeUndefined();
        clock.advance(RETENTION);
        await expect(store.create(state('c1'), 'B', LEASE)).resolves.toMatchObject({ owner: 'B' });
      });

      it('round-trips the connector state blob, and its absence', async () => {
        const blob = { s: 'x', n: -1.5, b: false, z: null, list: [1, 'two', { three: [3] }], deep: { a: { b: { c: 'd' } } } };
        await store.create(state('c1', { connectorState: blob }), 'A', LEASE);
        await store.create(state('c2'), 'A', LEASE);
        expect((await store.get('c1'))!.connectorState).toEqual(blob);
        expect('connectorState' in (await store.get('c2'))!).toBe(false);
      });
    });

    describe('non-serialisable state', () => {
      class Session {
        id = 1;
      }
      const bad: [string, unknown][] = [
        ['a function', () => 1],
        ['a BigInt', BigInt(1)],
        ['a symbol', Symbol('s')],
        ['NaN', NaN],
        ['Infinity', Infinity],
        ['undefined in an array', [1, undefined]],
        ['a Date', new Date(0)],
        ['a Map', new Map([['k', 1]])],
        ['a class instance', new Session()],
        ['an object with toJSON', { toJSON: () => 'replaced' }],
      ];

      it.each(bad)('rejects %s on create (TypeError) and does not store the conversation', async (_, v) => {
        await expect(store.create(state('c1', { connectorState: { v } }), 'A', LEASE)).rejects.toThrow(TypeError);
        expect(await store.get('c1')).toBeUndefined();
        expect(await store.count()).toBe(0);
        await expect(store.create(state('c1'), 'A', LEASE)).resolves.toBeDefined();
      });

      it.each(bad)('rejects %s on save (TypeError) and keeps the previous state', async (_, v) => {
        const lease = await store.create(state('c1', { connectorState: { v: 'ok' } }), 'A', LEASE);
        await expect(store.save(lease, state('c1', { connectorState: { deep: [{ v }] } }), LEASE)).rejects.toThrow(TypeError);
        expect((await store.get('c1'))!.connectorState).toEqual({ v: 'ok' });
      });
    });

    describe('acquire', () => {
      it('answers undefined for an id it does not hold', async () => {
        expect(await store.acquire('nope', 'A', LEASE)).toBeUndefined();
      });

      it('renews the lease for its owner', async () => {
        await store.create(state('c1'), 'A', LEASE);
        clock.advance(LEASE - 1);
        expect(await store.acquire('c1', 'A', LEASE)).toEqual({ conversationId: 'c1', owner: 'A', expiresAt: clock.now() + LEASE });
        clock.advance(LEASE - 1); // past the first lease, within the renewed one
        expect(await store.acquire('c1', 'B', LEASE)).toBeUndefined();
      });

      it('refuses another owner while the lease is live and lets it take over once expired', async () => {
        await store.create(state('c1'), 'A', LEASE);
        expect(await store.acquire('c1', 'B', LEASE)).toBeUndefined();
        clock.advance(LEASE - 1);
        expect(await store.acquire('c1', 'B', LEASE)).toBeUndefined();
        clock.advance(1);
        expect(await store.acquire('c1', 'B', LEASE)).toEqual({ conversationId: 'c1', owner: 'B', expiresAt: clock.now() + LEASE });
        expect(await store.acquire('c1', 'A', LEASE)).toBeUndefined(); // now B's
      });

      it('does not change the state', async () => {
        await store.create(state('c1', { started: true }), 'A', LEASE);
        clock.advance(LEASE);
        await store.acquire('c1', 'B', LEASE);
        expect(await store.get('c1')).toEqual(state('c1', { started: true, createdAt: clock.now() - LEASE, lastActivityAt: clock.now() - LEASE }));
      });
    });

    describe('save', () => {
      it('writes the state and renews the lease', async () => {
        const lease = await store.create(state('c1'), 'A', LEASE);
        clock.advance(LEASE - 1);
        const renewed = await store.save(lease, state('c1', { started: true, promptsEndAt: 42 }), LEASE);
        expect(renewed).toEqual({ conversationId: 'c1', owner: 'A', expiresAt: clock.now() + LEASE });
        expect(await store.get('c1')).toMatchObject({ started: true, promptsEndAt: 42 });
        clock.advance(LEASE - 1); // past the first lease, within the renewed one
        expect(await store.acquire('c1', 'B', LEASE)).toBeUndefined();
        clock.advance(1);
        expect(await store.acquire('c1', 'B', LEASE)).toBeDefined();
      });

      it('goes through past expiry while nobody took over', async () => {
        const lease = await store.create(state('c1'), 'A', LEASE);
        clock.advance(LEASE * 3);
        await expect(store.save(lease, state('c1', { started: true }), LEASE)).resolves.toMatchObject({ owner: 'A' });
        expect((await store.get('c1'))!.started).toBe(true);
        expect(await store.acquire('c1', 'B', LEASE)).toBeUndefined();
      });

      it('rejects with LeaseConflictError after another owner took over, keeping its state', async () => {
        const leaseA = await store.create(state('c1'), 'A', LEASE);
        clock.advance(LEASE);
        const leaseB = (await store.acquire('c1', 'B', LEASE))!;
        await store.save(leaseB, state('c1', { agentId: 'by-B' }), LEASE);
        await expect(store.save(leaseA, state('c1', { agentId: 'by-A' }), LEASE)).rejects.toThrow(LeaseConflictError);
        expect((await store.get('c1'))!.agentId).toBe('by-B');
        expect(await store.acquire('c1', 'A', LEASE)).toBeUndefined(); // B still owns it
      });

      it('rejects with LeaseConflictError after the lease was released or the conversation ended', async () => {
        const l1 = await store.create(state('c1'), 'A', LEASE);
        await store.release(l1);
        await expect(store.save(l1, state('c1', { started: true }), LEASE)).rejects.toThrow(LeaseConflictError);
        expect((await store.get('c1'))!.started).toBe(false);

        const l2 = await store.create(state('c2'), 'A', LEASE);
        await store.end(l2, RETENTION);
        await expect(store.save(l2, state('c2'), LEASE)).rejects.toThrow(LeaseConflictError);
        expect(await store.get('c2')).toBeUndefined();
      });
    });

    describe('release', () => {
      it('lets another owner acquire at once and keeps the state', async () => {
        const lease = await store.create(state('c1', { started: true }), 'A', LEASE);
        await store.release(lease);
        expect(await store.get('c1')).toMatchObject({ started: true });
        expect(await store.acquire('c1', 'B', LEASE)).toMatchObject({ owner: 'B' });
      });

      it('does nothing with a lost lease', async () => {
        const leaseA = await store.create(state('c1'), 'A', LEASE);
        clock.advance(LEASE);
        await store.acquire('c1', 'B', LEASE);
        await store.release(leaseA);
        expect(await store.acquire('c1', 'C', LEASE)).toBeUndefined(); // B still owns it
      });
    });

    describe('end and wasEnded', () => {
      it('removes the conversation and remembers its id for the retention, then forgets it', async () => {
        const lease = await store.create(state('c1'), 'A', LEASE);
        expect(await store.wasEnded('c1')).toBe(false);
        await store.end(lease, RETENTION);
        expect(await store.get('c1')).toBeUndefined();
        expect(await store.acquire('c1', 'A', LEASE)).toBeUndefined();
        expect(await store.wasEnded('c1')).toBe(true);
        clock.advance(RETENTION - 1);
        expect(await store.wasEnded('c1')).toBe(true);
        clock.advance(1);
        expect(await store.wasEnded('c1')).toBe(false);
      });

      it('answers false for ids never seen or still live', async () => {
        await store.create(state('c1'), 'A', LEASE);
        expect(await store.wasEnded('c1')).toBe(false);
        expect(await store.wasEnded('nope')).toBe(false);
      });

      it('ends under a lease past expiry while nobody took over', async () => {
        const lease = await store.create(state('c1'), 'A', LEASE);
        clock.advance(LEASE * 3);
        await store.end(lease, RETENTION);
        expect(await store.get('c1')).toBeUndefined();
        expect(await store.wasEnded('c1')).toBe(true);
      });

      it('does nothing with a lost lease', async () => {
        const leaseA = await store.create(state('c1'), 'A', LEASE);
        clock.advance(LEASE);
        const leaseB = (await store.acquire('c1', 'B', LEASE))!;
        await store.end(leaseA, RETENTION);
        expect(await store.get('c1')).toBeDefined();
        expect(await store.wasEnded('c1')).toBe(false);
        await expect(store.save(leaseB, state('c1'), LEASE)).resolves.toMatchObject({ owner: 'B' });
      });

      it('does nothing with a released lease', async () => {
        const lease = await store.create(state('c1'), 'A', LEASE);
        await store.release(lease);
        await store.end(lease, RETENTION);
        expect(await store.get('c1')).toBeDefined();
        expect(await store.wasEnded('c1')).toBe(false);
      });
    });

    describe('count and list', () => {
      it('cover live conversations only, owned or not, and never ended ones', async () => {
        expect(await store.count()).toBe(0);
        expect(await store.list()).toEqual([]);
        const l1 = await store.create(state('c1'), 'A', LEASE);
        const l2 = await store.create(state('c2'), 'B', LEASE);
        await store.create(state('c3'), 'A', LEASE);
        await store.release(l2);
        clock.advance(LEASE * 2); // c3's lease expired: still live
        await store.end(l1, RETENTION);
        expect(await store.wasEnded('c1')).toBe(true);
        expect(await store.count()).toBe(2);
        const listed = await store.list();
        expect(listed.map((s) => s.id).sort()).toEqual(['c2', 'c3']);
        expect(listed.find((s) => s.id === 'c2')).toEqual(state('c2', { createdAt: clock.now() - LEASE * 2, lastActivityAt: clock.now() - LEASE * 2 }));
      });

      it('lists copies', async () => {
        await store.create(state('c1'), 'A', LEASE);
        (await store.list())[0].started = true;
        expect((await store.get('c1'))!.started).toBe(false);
      });
    });
  });
}
