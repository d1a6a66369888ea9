import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const DAY_MS = 86_400_000;

/**
 * Deletes the WAV files directly in `folder` last modified more than `days` ago (0 keeps everything).
 * Only `.wav` files, not sub-folders: a folder shared with other files loses nothing else.
 * A missing folder is fine; a file that cannot be removed is reported and skipped.
 */
export async function deleteOldRecordings(
  folder: string,
  days: number,
  now = Date.now(),
): Promise<{ deleted: string[]; failed: { path: string; err: unknown }[] }> {
  const deleted: string[] = [];
  const failed: { path: string; err: unknown }[] = [];
  if (!(days > 0)) return { deleted, failed };
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { deleted, failed };
    throw err;
  }
  const cutoff = now - days * DAY_MS;
  for (const e of entries) {
    if (!e.isFile() || !e.name.toLowerCase().endsWith('.wav')) continue;
    const path = join(folder, e.name);
    try {
      if ((await stat(path)).mtimeMs >= cutoff) continue;
      await unlink(path);
      deleted.push(path);
    } catch (err) {
      // Gone meanwhile (another gateway sharing the folder) is not a failure.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') failed.push({ path, err });
    }
  }
  return { deleted, failed };
}
