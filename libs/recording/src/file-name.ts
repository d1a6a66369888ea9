import { createHash } from 'node:crypto';

export type RecordingSide = 'caller' | 'agent' | 'mixed';

/** What a file name pattern can refer to. */
export interface FileNameFields {
  conversationId: string;
  agentId: string;
  /** Conversation start, epoch ms. */
  startedAt: number;
  side: RecordingSide;
}

const MAX_COMPONENT = 100;

/**
 * A value (conversation id, agent id) made safe as part of a file name on any OS: only letters, digits,
 * `.`, `_` and `-` survive, no leading dot; long values are cut and given a hash so they stay distinct.
 */
export function sanitizeFileComponent(value: string): string {
  let s = value.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  if (s.length > MAX_COMPONENT) s = `${s.slice(0, MAX_COMPONENT - 13)}_${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
  return s || '_';
}

/** UTC, ISO 8601 basic format with milliseconds (`20240501T101502.123Z`): sortable, no colons, unique per ms. */
export function fileTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:]/g, '');
}

/**
 * The file name of one part of a recording. `{part}` is the part number (1, 2, ...); a pattern without it
 * names part 1 plainly and later parts `<name>_part2.wav`, `<name>_part3.wav`, ...
 */
export function recordingFileName(pattern: string, f: FileNameFields, part = 1): string {
  const values: Record<string, string> = {
    conversation_id: sanitizeFileComponent(f.conversationId),
    agent: sanitizeFileComponent(f.agentId),
    start: fileTimestamp(f.startedAt),
    side: f.side,
    part: String(part),
  };
  const name = pattern.replace(/\{(\w+)\}/g, (m, key: string) => values[key] ?? m);
  if (part === 1 || pattern.includes('{part}')) return name;
  const dot = name.toLowerCase().endsWith('.wav') ? name.length - 4 : name.length;
  return `${name.slice(0, dot)}_part${part}${name.slice(dot)}`;
}
