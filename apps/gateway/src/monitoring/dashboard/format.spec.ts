import { ago, duration, liveViewQuery, pageWindow, parseAgentParam, parseLiveView, parsePageParam } from './format';

describe('dashboard formatting', () => {
  it('relative times, and durations at every scale', () => {
    const now = 1_000_000_000;
    expect([0, 1000, 12_000, 185_000, 2 * 3600_000 + 5, 3 * 86400_000].map((d) => ago(now - d, now))).toEqual(['just now', 'just now', '12 s ago', '3 min ago', '2 h ago', '3 d ago']);
    expect(ago(now + 5000, now)).toBe('in 5 s');
    expect([undefined, 850, 12_340, 245_000, 3_725_000].map(duration)).toEqual(['–', '850 ms', '12.3 s', '4 min 05 s', '1 h 02 min']);
  });

  it('pages 50 at a time; a page past the end shows the last one', () => {
    expect(pageWindow(0, 1)).toEqual({ page: 1, pages: 1, offset: 0, limit: 50, prev: undefined, next: undefined, from: 0, to: 0 });
    expect(pageWindow(1000, 1)).toMatchObject({ page: 1, pages: 20, offset: 0, next: 2, prev: undefined, from: 1, to: 50 });
    expect(pageWindow(1000, 20)).toMatchObject({ page: 20, offset: 950, prev: 19, next: undefined, from: 951, to: 1000 });
    expect(pageWindow(120, 9)).toMatchObject({ page: 3, offset: 100, from: 101, to: 120 });
    expect(pageWindow(50, 2)).toMatchObject({ page: 1, pages: 1, next: undefined });
  });

  it('reads ?page= and ?agent= strictly', () => {
    expect([undefined, '', '1', '20'].map(parsePageParam)).toEqual([1, 1, 1, 20]);
    for (const bad of ['0', '-1', '1.5', 'x', '1e3', '9999999', ['1', '2']]) expect(typeof parsePageParam(bad)).toBe('string');
    expect(parseAgentParam(undefined)).toBeUndefined();
    expect(parseAgentParam('')).toBeUndefined();
    expect(parseAgentParam('Local Audio: Secure')).toBe('Local Audio: Secure');
    expect(parseAgentParam(['a', 'b'])).toEqual({ problem: 'agent must be one agent id' });
  });

  it('reads the event stream\'s view strictly, and links it back from a page', () => {
    expect(parseLiveView(undefined, undefined, undefined)).toBeUndefined();
    expect(parseLiveView('overview', '7', 'x')).toEqual({ kind: 'overview' });
    expect(parseLiveView('calls', '2', 'A b')).toEqual({ kind: 'calls', page: 2, agent: 'A b' });
    expect(parseLiveView('history', undefined, '')).toEqual({ kind: 'history', page: 1, agent: undefined });
    for (const [v, p, a] of [['call', undefined, undefined], [['calls', 'x'], undefined, undefined], ['calls', '0', undefined], ['history', '1', ['a', 'b']]]) {
      expect(parseLiveView(v, p, a)).toEqual({ problem: expect.any(String) });
    }
    const view = { kind: 'calls', page: 3, agent: 'Local Audio: a&b' } as const;
    const q = new URLSearchParams(liveViewQuery(view));
    expect(parseLiveView(q.get('view') ?? undefined, q.get('page') ?? undefined, q.get('agent') ?? undefined)).toEqual(view);
    expect(liveViewQuery({ kind: 'calls', page: 1 })).toBe('view=calls');
    expect(new Set([view, { ...view, page: 2 }, { ...view, agent: undefined }, { kind: 'history', page: 3, agent: view.agent }, { kind: 'overview' }].map((v) => liveViewQuery(v as never))).size).toBe(5);
  });
});
