// `npm run soak -- --minutes N [--calls 100]`: see bench/README.md, "Soak". Exit 0 on pass, 1 on fail (reasons
// printed), 2 on bad arguments.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULTS, defaultWarmupMs, runSoak, soakMarkdown, type SoakOptions } from './soak';

const RESULTS = resolve(__dirname, '..', 'results');

/** Flag name → option, with its bounds (every flag takes a number). */
const FLAGS: Record<string, { key: keyof SoakOptions; min: number; max: number; scale?: number }> = {
  '--minutes': { key: 'minutes', min: 0.05, max: 24 * 60 },
  '--calls': { key: 'calls', min: 1, max: 5000 },
  '--warmup-seconds': { key: 'warmupMs', min: 0, max: 24 * 3600, scale: 1000 },
  '--sample-seconds': { key: 'sampleMs', min: 0.5, max: 600, scale: 1000 },
  '--rss-limit-mb': { key: 'rssLimitMbPer10Min', min: 0, max: 10_000 },
  '--session-timeout': { key: 'sessionTimeoutS', min: 0.1, max: 3600 },
  '--sweep': { key: 'sweepS', min: 0.05, max: 600 },
  '--cancel-rate': { key: 'cancelRate', min: 0, max: 1 },
  '--abandon-rate': { key: 'abandonRate', min: 0, max: 1 },
  '--connections': { key: 'connections', min: 1, max: 64 },
  '--connection-age': { key: 'connectionAgeS', min: 1, max: 86_400 },
  '--connection-age-grace': { key: 'connectionAgeGraceS', min: 0, max: 3600 },
};

export function parseArgs(argv: string[]): SoakOptions {
  const set: Partial<Record<keyof SoakOptions, number>> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = FLAGS[argv[i]];
    if (!flag) throw new Error(`unknown flag ${argv[i]} (flags: ${Object.keys(FLAGS).join(', ')})`);
    const v = Number(argv[i + 1]);
    if (argv[i + 1] === undefined || !Number.isFinite(v) || v < flag.min || v > flag.max) throw new Error(`${argv[i]} needs a number from ${flag.min} to ${flag.max}`);
    set[flag.key] = v * (flag.scale ?? 1);
  }
  const minutes = set.minutes ?? 10;
  const o: SoakOptions = { ...DEFAULTS, minutes, warmupMs: defaultWarmupMs(minutes), ...set } as SoakOptions;
  if (!Number.isInteger(o.calls) || !Number.isInteger(o.connections)) throw new Error('--calls and --connections take whole numbers');
  if (o.warmupMs >= minutes * 60_000) throw new Error('--warmup-seconds must be shorter than the run');
  return o;
}

async function main(): Promise<void> {
  let o: SoakOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`soak: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const log = (line: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  log(`${o.minutes} min at ${o.calls} calls; warm-up ${o.warmupMs / 1000} s; RSS limit ${o.rssLimitMbPer10Min} MB per 10 min`);
  const report = await runSoak({ ...o, log });
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(resolve(RESULTS, 'soak.json'), JSON.stringify(report, null, 2));
  const md = soakMarkdown(report);
  writeFileSync(resolve(RESULTS, 'soak.md'), md);
  process.stdout.write(`\n${md}\nResults: bench/results/soak.json, soak.md\n`);
  process.exit(report.pass ? 0 : 1);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`soak: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
