// The soak's pass/fail rules, as pure functions over what the run sampled (unit specs beside this file).

export interface Sample {
  /** ms since the soak started. */
  t: number;
  rssKB: number;
  fds: number;
  /** The gateway's active libuv resources (IPC), null when it did not answer. */
  handles: number | null;
  /** The gateway's JS heap in use and its off-heap memory (buffers), KB (IPC; absent when it did not answer). */
  heapUsedKB?: number;
  externalKB?: number;
}

export interface Line {
  /** Units of y per ms. */
  slope: number;
  intercept: number;
  n: number;
}

/** Least-squares line through (x, y); null with fewer than 3 points or no spread in x. */
export function fitLine(xs: number[], ys: number[]): Line | null {
  const n = xs.length;
  if (n < 3 || ys.length !== n) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, n };
}

const TEN_MINUTES_MS = 10 * 60_000;

export interface RssTrend {
  /** Fitted growth over the samples after warm-up, MB per 10 minutes (null: too few samples). */
  mbPer10Min: number | null;
  samples: number;
  limitMbPer10Min: number;
  ok: boolean;
}

/**
 * Trend of a measure's floor: its lowest value in each `windowMs` after warm-up (for the JS heap, about where the
 * collector leaves it), fitted by a line, MB per 10 minutes. Reported beside the RSS rule: a leak raises the floor,
 * while the GC's swings, which move a line through every sample, leave it flat. Null with fewer than 3 windows.
 */
export function floorTrend(samples: Sample[], warmupMs: number, windowMs: number, kb: (s: Sample) => number | undefined): number | null {
  const floors = new Map<number, { t: number; v: number }>();
  for (const s of samples) {
    const v = kb(s);
    if (s.t < warmupMs || v === undefined) continue;
    const w = Math.floor((s.t - warmupMs) / windowMs);
    const f = floors.get(w);
    if (f === undefined || v < f.v) floors.set(w, { t: s.t, v });
  }
  const pts = [...floors.values()];
  const line = fitLine(
    pts.map((p) => p.t),
    pts.map((p) => p.v / 1024),
  );
  return line === null ? null : line.slope * TEN_MINUTES_MS;
}

/**
 * RSS trend after warm-up. A leak shows as a steady slope under the GC's sawtooth; a least-squares line over
 * many samples averages the sawtooth out. Too few samples to fit is a failure, not a pass.
 */
export function rssTrend(samples: Sample[], warmupMs: number, limitMbPer10Min: number): RssTrend {
  const after = samples.filter((s) => s.t >= warmupMs);
  const line = fitLine(
    after.map((s) => s.t),
    after.map((s) => s.rssKB / 1024),
  );
  const mbPer10Min = line === null ? null : line.slope * TEN_MINUTES_MS;
  return { mbPer10Min, samples: after.length, limitMbPer10Min, ok: mbPer10Min !== null && mbPer10Min <= limitMbPer10Min };
}

/** An active conversation as GET /api/conversations lists it. */
export interface ActiveConversation {
  id: string;
  startedAt: number;
  lastActivityAt: number;
  currentRpc?: { startedAt: number };
}

export interface Outlived {
  id: string;
  /** ms since its last activity when seen. */
  idleMs: number;
  seenAt: number;
}

/**
 * Conversations that outlived sessions.timeout plus one sweep interval: idle (no RPC running) for longer than
 * that, still listed as active. `slackMs` covers the API read and event-loop lag, not the sweep itself.
 */
export function outlived(items: ActiveConversation[], now: number, timeoutS: number, sweepS: number, slackMs: number): Outlived[] {
  const limit = (timeoutS + sweepS) * 1000 + slackMs;
  const out: Outlived[] = [];
  for (const c of items) {
    if (c.currentRpc !== undefined) continue;
    const idleMs = now - c.lastActivityAt;
    if (idleMs > limit) out.push({ id: c.id, idleMs, seenAt: now });
  }
  return out;
}

/** gRPC status names the soak expects: OK for every turn, CANCELLED too for a turn the client cancelled. */
export function unexpectedStatus(code: number, cancelledByClient: boolean): boolean {
  return !(code === 0 || (cancelledByClient && code === 1));
}

export interface VerdictInput {
  rss: RssTrend;
  outlived: Outlived[];
  /** Active conversations still listed once every call had ended and timeout + sweep passed. */
  leftAtEnd: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** The gateway child died or stopped answering its monitoring API. */
  gatewayProblem?: string;
}

/** Reasons the soak fails; empty when it passes. */
export function failures(v: VerdictInput): string[] {
  const out: string[] = [];
  if (v.gatewayProblem) out.push(v.gatewayProblem);
  if (v.rss.mbPer10Min === null) out.push(`RSS trend: too few samples after warm-up (${v.rss.samples}) to fit a line`);
  else if (!v.rss.ok) out.push(`RSS trends upward after warm-up: ${v.rss.mbPer10Min.toFixed(2)} MB per 10 min > ${v.rss.limitMbPer10Min} MB`);
  if (v.outlived.length > 0) {
    const worst = v.outlived.reduce((a, b) => (b.idleMs > a.idleMs ? b : a));
    out.push(`${new Set(v.outlived.map((o) => o.id)).size} conversation(s) outlived sessions.timeout + sweep interval (worst ${worst.id} idle ${(worst.idleMs / 1000).toFixed(1)} s)`);
  }
  if (v.leftAtEnd > 0) out.push(`${v.leftAtEnd} conversation(s) still active after the run, past sessions.timeout + sweep interval`);
  if (v.errors > 0) {
    const kinds = Object.entries(v.errorKinds)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([k, n]) => `${n}x ${k}`)
      .join('; ');
    out.push(`${v.errors} unexpected error(s): ${kinds}`);
  }
  return out;
}
