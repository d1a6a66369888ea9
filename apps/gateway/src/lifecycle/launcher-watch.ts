import { readFileSync } from 'node:fs';

/** How often the launchers are checked: one kill(pid, 0) each, nothing else. */
const CHECK_MS = 1000;
/** Bound of the ancestor walk. */
const MAX_DEPTH = 8;

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'ksh']);
const TOOLS = new Set(['npm', 'npx', 'npm-cli.js', 'npx-cli.js', 'nest']);

const base = (p: string | undefined) => (p ?? '').split('/').pop() ?? '';

/**
 * Whether a command line (argv as in /proc/<pid>/cmdline) is a launcher of the gateway: a shell running one command
 * string (`sh -c ...`, what `nest start` and npm wrap commands in), or npm, npx or the Nest CLI. Such a shell dies of
 * SIGTERM without passing it on, which would leave the gateway running with nobody to stop it.
 */
export function isLauncher(argv: string[]): boolean {
  if (SHELLS.has(base(argv[0]))) return argv.slice(1).some((a) => /^-[a-z]*c[a-z]*$/.test(a));
  const tool = base(argv[0]) === 'node' || base(argv[0]) === 'nodejs' ? argv[1] : argv[0];
  return TOOLS.has(base(tool));
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function parentOf(pid: number): number {
  try {
    // The command name (field 2) may hold spaces and parentheses: read after its last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) || 0;
  } catch {
    return 0;
  }
}

/** The chain of launchers above this process, nearest first (empty when the parent is not one). */
export function launcherChain(readArgv = cmdline, readParent = parentOf, start = process.ppid): number[] {
  const chain: number[] = [];
  for (let pid = start; pid > 1 && chain.length < MAX_DEPTH && isLauncher(readArgv(pid)); pid = readParent(pid)) chain.push(pid);
  return chain;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Calls `onGone` once when a launcher that started the gateway (npm, npx, the Nest CLI, their `sh -c`) exits: a
 * signal sent to one of them may not have reached the gateway. `BYOVA_STOP_WITH_PARENT=0` turns this off. A gateway
 * started directly (container init, systemd, `node main.js` from a terminal) is never affected.
 */
export function watchLauncher(onGone: () => void, env: NodeJS.ProcessEnv = process.env): { enabled: boolean; stop(): void } {
  const chain = env.BYOVA_STOP_WITH_PARENT === '0' ? [] : launcherChain();
  if (!chain.length) return { enabled: false, stop: () => undefined };
  const timer = setInterval(() => {
    if (chain.every(alive) && process.ppid === chain[0]) return;
    clearInterval(timer);
    onGone();
  }, CHECK_MS);
  timer.unref();
  return { enabled: true, stop: () => clearInterval(timer) };
}
