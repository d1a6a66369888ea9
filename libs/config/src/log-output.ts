import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, KB: 1024, KIB: 1024, M: 1024 ** 2, MB: 1024 ** 2, MIB: 1024 ** 2, G: 1024 ** 3, GB: 1024 ** 3, GIB: 1024 ** 3 };

/** `10MB`, `512 KB`, `1GiB` or a number of bytes; undefined when it is none of these. */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  const unit = m && UNITS[m[2].toUpperCase()];
  if (!m || !unit) return undefined;
  const n = Math.floor(Number(m[1]) * unit);
  return n > 0 ? n : undefined;
}

/**
 * A log file rotated by size, as Python's RotatingFileHandler does: when the next line would take it past `maxBytes`,
 * `file` becomes `file.1` (`file.1` becomes `file.2`, ...; the oldest beyond `backups` is deleted) and a new `file`
 * is started. Lines are written synchronously, like pino's stdout: nothing queues in memory, a line is never split
 * across files, and nothing is lost at exit. A write error stops the file (reported once); stdout goes on.
 */
export class RotatingFile {
  private fd: number;
  private size: number;
  private failed = false;

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
    private readonly backups: number,
    private readonly onError: (e: Error) => void = () => undefined,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    // Opened at once: a path that cannot be written is reported at start-up, not lost later.
    this.fd = openSync(file, 'a');
    this.size = fstatSync(this.fd).size;
  }

  write(line: string): void {
    if (this.failed) return;
    try {
      const buf = Buffer.from(line);
      if (this.size > 0 && this.size + buf.length > this.maxBytes) this.rotate();
      writeSync(this.fd, buf);
      this.size += buf.length;
    } catch (e) {
      this.failed = true;
      this.onError(e as Error);
    }
  }

  private rotate(): void {
    closeSync(this.fd);
    if (this.backups === 0) rmSync(this.file, { force: true });
    else {
      rmSync(`${this.file}.${this.backups}`, { force: true });
      for (let i = this.backups - 1; i >= 1; i--) {
        try {
          renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
      renameSync(this.file, `${this.file}.1`);
    }
    this.fd = openSync(this.file, 'a');
    this.size = 0;
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.failed = true;
  }
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

function plain(v: unknown): string {
  if (typeof v === 'string') return /[\s="]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v && typeof v === 'object' && 'message' in v && typeof (v as { message: unknown }).message === 'string') {
    const e = v as { type?: string; message: string };
    return JSON.stringify(`${e.type ?? 'Error'}: ${e.message}`);
  }
  return JSON.stringify(v) ?? String(v);
}

/**
 * One pino JSON line as one readable line: `14:02:03.123 INFO  message key=value ...`. Errors show as their type and
 * message (their stack only in JSON mode), so each event stays on one line.
 */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : '';
  const level = (LEVEL_NAMES[o.level as number] ?? String(o.level)).padEnd(5);
  const context = typeof o.context === 'string' ? `[${o.context}] ` : '';
  const fields = Object.entries(o)
    .filter(([k, v]) => !SKIP.has(k) && k !== 'context' && v !== undefined)
    .map(([k, v]) => `${k}=${plain(v)}`)
    .join(' ');
  const msg = typeof o.msg === 'string' ? o.msg.replace(/\n/g, '\\n') : '';
  return `${time} ${level} ${context}${msg}${fields ? `  ${fields}` : ''}\n`;
}
