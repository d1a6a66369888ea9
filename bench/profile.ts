// Summarises V8 .cpuprofile files into hot spots: self time by function and by area,
// and inclusive time of the project's own functions. TypeScript positions are mapped back through the
// source maps the server child dumps (swc-node compiles in memory, so profile lines are of its output).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export const SOURCEMAPS_FILE = 'sourcemaps.json';

/** Writes swc-node's in-memory source maps (only kept when native source maps are off, the default). */
export function dumpSourceMaps(file: string): void {
  if (__filename.endsWith('.js')) {
    // Compiled (bench/compiled.ts): tsc's .map files of the loaded build modules, their sources made absolute.
    const maps: Record<string, unknown> = {};
    for (const js of Object.keys(require.cache)) {
      if (js.includes('/node_modules/') || !existsSync(`${js}.map`)) continue;
      const map = JSON.parse(readFileSync(`${js}.map`, 'utf8')) as { sources: string[]; sourceRoot?: string };
      map.sources = map.sources.map((s) => resolve(dirname(js), map.sourceRoot ?? '', s));
      delete map.sourceRoot;
      maps[js] = map;
    }
    writeFileSync(file, JSON.stringify(maps));
    return;
  }
  // A dependency of @swc-node/register, loaded only when profiling.
  const { SourcemapMap } = require('@swc-node/sourcemap-support') as { SourcemapMap: Map<string, string> };
  writeFileSync(file, JSON.stringify(Object.fromEntries(SourcemapMap)));
}

function loadMaps(dir: string): Map<string, SourceMap> {
  const maps = new Map<string, SourceMap>();
  let raw: Record<string, string>;
  try {
    raw = JSON.parse(readFileSync(resolve(dir, SOURCEMAPS_FILE), 'utf8'));
  } catch {
    return maps;
  }
  for (const [file, map] of Object.entries(raw)) {
    try {
      maps.set(file, new SourceMap(typeof map === 'string' ? JSON.parse(map) : map));
    } catch {
      // an unparsable map only costs the mapping of that file
    }
  }
  return maps;
}

/** Sampled busy time of the .cpuprofile files in `dir` (ms): in total, by function (self), by area, and the project's functions inclusive. */
export interface ProfileTotals {
  total: number;
  self: Map<string, number>;
  area: Map<string, number>;
  inclusive: Map<string, number>;
  /** Whether source maps were found (else TS lines are of the compiled output). */
  mapped: boolean;
}

export function aggregateProfile(dir: string, repo: string): ProfileTotals | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return undefined;
  const maps = loadMaps(dir);
  const nodes = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const area = new Map<string, number>();
  let total = 0;
  const keyCache = new Map<number, { key: string; area: string; own: boolean }>();

  const where = (cf: CallFrame): { loc: string; own: boolean; area: string } => {
    if (!cf.url) return { loc: '', own: false, area: cf.functionName || '(native)' };
    if (cf.url.startsWith('node:')) return { loc: `${cf.url}:${cf.lineNumber + 1}`, own: false, area: 'node internals' };
    let path = cf.url.startsWith('file:') ? fileURLToPath(cf.url) : cf.url;
    let line = cf.lineNumber + 1;
    const map = maps.get(path);
    if (map) {
      const e = map.findEntry(cf.lineNumber, cf.columnNumber) as { originalLine?: number; originalSource?: string };
      if (e && e.originalLine !== undefined) {
        line = e.originalLine + 1;
        if (e.originalSource) path = e.originalSource.startsWith('file:') ? fileURLToPath(e.originalSource) : resolve(repo, e.originalSource);
      }
    }
    const rel = relative(repo, path);
    const nm = rel.lastIndexOf('node_modules/');
    if (nm >= 0) {
      const parts = rel.slice(nm + 13).split('/');
      return { loc: `${rel.slice(nm)}:${line}`, own: false, area: parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0] };
    }
    const parts = rel.split('/');
    return { loc: `${rel}:${line}`, own: true, area: parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0] };
  };

  for (const file of files) {
    const p = JSON.parse(readFileSync(resolve(dir, file), 'utf8')) as CpuProfile;
    for (const n of p.nodes) {
      nodes.set(n.id, n);
      for (const c of n.children ?? []) parent.set(c, n.id);
    }
    const info = (id: number) => {
      let k = keyCache.get(id);
      if (!k) {
        const cf = nodes.get(id)!.callFrame;
        const w = where(cf);
        k = { key: `${cf.functionName || '(anonymous)'}  ${w.loc}`.trim(), area: w.area, own: w.own };
        keyCache.set(id, k);
      }
      return k;
    };
    for (let i = 0; i < p.samples.length; i++) {
      // The interval after a sample is charged to it.
      const dt = (i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0) / 1000;
      const id = p.samples[i];
      const k = info(id);
      if (k.key === '(idle)') continue;
      total += dt;
      self.set(k.key, (self.get(k.key) ?? 0) + dt);
      area.set(k.area, (area.get(k.area) ?? 0) + dt);
      const seen = new Set<string>();
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
        const a = info(n);
        if (!a.own || seen.has(a.key)) continue;
        seen.add(a.key);
        inclusive.set(a.key, (inclusive.get(a.key) ?? 0) + dt);
      }
    }
    keyCache.clear();
    nodes.clear();
    parent.clear();
  }
  return { total, self, area, inclusive, mapped: maps.size > 0 };
}

export function summariseProfile(dir: string, repo: string, top = 25): string {
  const p = aggregateProfile(dir, repo);
  if (!p) return `no .cpuprofile in ${dir}`;
  const { total, self, area, inclusive } = p;
  const fmt = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  return [
    `Busy time sampled: ${total.toFixed(0)} ms (idle excluded)${p.mapped ? '' : ' — no source maps: TS lines are of the compiled output'}`,
    '',
    'Self time by area:',
    fmt(area, 20),
    '',
    `Top ${top} functions by self time:`,
    fmt(self, top),
    '',
    `Top ${top} project functions by inclusive time:`,
    fmt(inclusive, top),
  ].join('\n');
}

/**
 * Where the profile in `dir` ("on") spent more busy time than the one in `baseDir` ("off"):
 * by area and by function (self), largest difference first, with both sides' times. Within one process a
 * function's share moves with the JIT's inlining, so read single functions with care; areas are steadier.
 */
export function diffProfiles(dir: string, baseDir: string, repo: string, top = 25): string {
  const a = aggregateProfile(dir, repo);
  const b = aggregateProfile(baseDir, repo);
  if (!a || !b) return `no .cpuprofile in ${a ? baseDir : dir}`;
  const rows = (x: Map<string, number>, y: Map<string, number>, n: number) =>
    [...new Set([...x.keys(), ...y.keys()])]
      .map((k) => ({ k, d: (x.get(k) ?? 0) - (y.get(k) ?? 0), x: x.get(k) ?? 0, y: y.get(k) ?? 0 }))
      .filter((r) => r.d > 0)
      .sort((p, q) => q.d - p.d)
      .slice(0, n)
      .map((r) => `${`+${r.d.toFixed(0)}`.padStart(7)} ms ${r.x.toFixed(0).padStart(7)} ${r.y.toFixed(0).padStart(7)}  ${r.k}`)
      .join('\n');
  const head = `   diff ms ${'on'.padStart(7)} ${'off'.padStart(7)}`;
  const pct = b.total > 0 ? ` (${(((a.total - b.total) / b.total) * 100).toFixed(1)}%)` : '';
  return [
    `Busy time sampled: on ${a.total.toFixed(0)} ms, off ${b.total.toFixed(0)} ms${pct}`,
    '',
    'Areas with more self time on than off:',
    head,
    rows(a.area, b.area, 15),
    '',
    `Top ${top} functions with more self time on than off:`,
    head,
    rows(a.self, b.self, top),
  ].join('\n');
}
