// The benchmarks measure what ships: the gateway as compiled JavaScript (as `npm start` and the container run it),
// not through @swc-node/register, which keeps the TypeScript compiler in the process (about 24 MB of heap the
// deployed gateway does not have, traced by every major GC). The server children run from a build made once per
// bench run into .bench-build/ with tsc; BENCH_FROM_SOURCE=1 runs them from the sources instead.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '..');
const BUILD_DIR = resolve(REPO, '.bench-build');
const DASHBOARD = 'apps/gateway/src/monitoring/dashboard';

let built: string | null | undefined;

/** The build's root, compiling it on first use; null when the children run from source. */
export function compiledRoot(): string | null {
  if (built !== undefined) return built;
  if (process.env.BENCH_FROM_SOURCE === '1') return (built = null);
  const t0 = Date.now();
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', resolve(REPO, 'bench/tsconfig.build.json')], { cwd: REPO, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`bench build failed (tsc -p bench/tsconfig.build.json):\n${tsc.stdout}${tsc.stderr}`);
  // The dashboard reads its templates and assets beside its code, as in dist/.
  for (const d of ['views', 'assets']) cpSync(resolve(REPO, DASHBOARD, d), resolve(BUILD_DIR, DASHBOARD, d), { recursive: true });
  if (!existsSync(resolve(BUILD_DIR, 'bench/gateway-server.js'))) throw new Error('bench build produced no bench/gateway-server.js');
  process.stdout.write(`Compiled the gateway for the server children (.bench-build, ${((Date.now() - t0) / 1000).toFixed(1)} s; BENCH_FROM_SOURCE=1 skips this)\n`);
  return (built = BUILD_DIR);
}

/** Node flags and script for a bench child: `name` is a file of bench/ without extension. */
export function childScript(name: string): { script: string; execArgv: string[]; preload: (file: string) => string } {
  const root = compiledRoot();
  if (root === null) return { script: resolve(__dirname, `${name}.ts`), execArgv: ['-r', '@swc-node/register'], preload: (f) => resolve(__dirname, `${f}.ts`) };
  return { script: resolve(root, 'bench', `${name}.js`), execArgv: ['-r', resolve(root, 'bench/compiled-aliases.js')], preload: (f) => resolve(root, 'bench', `${f}.js`) };
}
