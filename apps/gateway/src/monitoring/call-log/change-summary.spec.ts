import { ChangeCollector, MAX_CHANGED_IDS } from './change-summary';

describe('ChangeCollector', () => {
  it('counts each kind, names each call once, and starts afresh after take()', () => {
    const c = new ChangeCollector();
    expect(c.empty).toBe(true);
    c.add('started', 'a');
    c.add('updated', 'a');
    c.add('updated', 'b');
    c.add('ended', 'a');
    expect(c.empty).toBe(false);
    expect(c.take()).toEqual({ started: 1, updated: 2, ended: 1, ids: ['a', 'b'], more: false });
    expect(c.empty).toBe(true);
    expect(c.take()).toEqual({ started: 0, updated: 0, ended: 0, ids: [], more: false });
  });

  it('names at most MAX_CHANGED_IDS calls and says there were more, alone or merged', () => {
    const c = new ChangeCollector();
    for (let i = 0; i <= MAX_CHANGED_IDS; i++) c.add('updated', `c${i}`);
    const big = c.take();
    expect([big.updated, big.ids.length, big.more]).toEqual([MAX_CHANGED_IDS + 1, MAX_CHANGED_IDS, true]);
    const m = new ChangeCollector();
    m.add('started', 'x');
    m.merge(big);
    m.merge({ started: 0, updated: 0, ended: 2, ids: ['y'], more: false });
    const out = m.take();
    expect([out.started, out.updated, out.ended, out.ids.length, out.ids[0], out.more]).toEqual([1, MAX_CHANGED_IDS + 1, 2, MAX_CHANGED_IDS, 'x', true]);
  });
});
