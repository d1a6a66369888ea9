import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteOldRecordings } from './retention';

const DAY = 86_400_000;

describe('deleteOldRecordings', () => {
  let dir: string;
  const now = Date.now();
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rec-retention-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function file(name: string, ageDays: number): Promise<void> {
    const path = join(dir, name);
    await writeFile(path, 'x');
    const t = (now - ageDays * DAY) / 1000;
    await utimes(path, t, t);
  }

  it('deletes WAV files older than the retention and keeps the rest', async () => {
    await file('old.wav', 10);
    await file('OLD2.WAV', 7.5);
    await file('recent.wav', 6.9);
    await file('old-notes.txt', 30); // not a recording
    await mkdir(join(dir, 'sub.wav'));
    await file('sub.wav/deep.wav', 30); // sub-folders are left alone
    const { deleted, failed } = await deleteOldRecordings(dir, 7, now);
    expect(deleted.map((p) => p.slice(dir.length + 1)).sort()).toEqual(['OLD2.WAV', 'old.wav']);
    expect(failed).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['old-notes.txt', 'recent.wav', 'sub.wav']);
    expect(await readdir(join(dir, 'sub.wav'))).toEqual(['deep.wav']);
  });

  it('keeps everything with 0 days, and a missing folder is no error', async () => {
    await file('ancient.wav', 1000);
    expect((await deleteOldRecordings(dir, 0, now)).deleted).toEqual([]);
    expect(await readdir(dir)).toEqual(['ancient.wav']);
    expect(await deleteOldRecordings(join(dir, 'nope'), 1, now)).toEqual({ deleted: [], failed: [] });
  });
});
