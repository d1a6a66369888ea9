import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeToPcm16, encodeFromPcm16, parseWav, wavToPcm16Mono } from '@app/audio';
import { interleave } from './call-recording';
import { WAV_HEADER_BYTES, WavPartWriter } from './wav-part-writer';

const ramp = (n: number, seed = 0) => Int16Array.from({ length: n }, (_, i) => ((i * 37 + seed) % 60000) - 30000);
const le = (pcm: Int16Array) => encodeFromPcm16(pcm, 'linear16');
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

describe('WavPartWriter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wav-parts-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const writer = (channels: number, maxFileBytes: number) =>
    new WavPartWriter({ channels, sampleRate: 8000, maxFileBytes, pathOf: (p) => join(dir, `rec_part${p}.wav`) });

  it('rotates into parts that are each complete WAVs and together hold the input', async () => {
    const w = writer(1, 1044); // 1000 bytes of data per part: 500 samples
    const input = ramp(2300);
    // Uneven blocks, so rotation falls inside a block.
    for (const [a, b] of [[0, 160], [160, 1337], [1337, 1338], [1338, 2300]]) await w.write(le(input.subarray(a, b)));
    await w.close();
    expect(w.files.map((f) => f.slice(dir.length + 1))).toEqual(['rec_part1.wav', 'rec_part2.wav', 'rec_part3.wav', 'rec_part4.wav', 'rec_part5.wav']);
    const parts: Int16Array[] = [];
    for (const f of w.files) {
      const bytes = new Uint8Array(await readFile(f));
      expect(bytes.length).toBeLessThanOrEqual(1044);
      // Header sizes match the file exactly.
      expect(u32(bytes, 4)).toBe(bytes.length - 8);
      expect(u32(bytes, 40)).toBe(bytes.length - WAV_HEADER_BYTES);
      const wav = parseWav(bytes);
      expect([wav.sampleFormat, wav.bitsPerSample, wav.channels, wav.sampleRate]).toEqual(['pcm', 16, 1, 8000]);
      parts.push(wavToPcm16Mono(wav).samples);
    }
    expect(parts.map((p) => p.length)).toEqual([500, 500, 500, 500, 300]);
    expect(Int16Array.from(parts.flatMap((p) => [...p]))).toEqual(input);
  });

  it('keeps the header right after every write (a crash leaves a playable file)', async () => {
    const w = writer(1, 0);
    await w.write(le(ramp(100)));
    const bytes = new Uint8Array(await readFile(w.files[0]));
    expect(u32(bytes, 40)).toBe(200);
    expect(decodeToPcm16(parseWav(bytes).data, 'linear16')).toEqual(ramp(100));
    await w.close();
  });

  it('writes stereo frames interleaved, caller left and agent right, never splitting a frame', async () => {
    const w = writer(2, 44 + 402); // not a whole number of 4-byte frames: 100 frames per part
    const left = ramp(250, 1);
    const right = ramp(250, 7);
    await w.write(le(interleave(left, right)));
    await w.close();
    expect(w.files).toHaveLength(3);
    const l: number[] = [];
    const r: number[] = [];
    for (const f of w.files) {
      const wav = parseWav(new Uint8Array(await readFile(f)));
      expect(wav.channels).toBe(2);
      expect(wav.data.length % 4).toBe(0);
      const s = decodeToPcm16(wav.data, 'linear16');
      for (let i = 0; i < s.length; i += 2) (l.push(s[i]), r.push(s[i + 1]));
    }
    expect(Int16Array.from(l)).toEqual(left);
    expect(Int16Array.from(r)).toEqual(right);
  });

  it('creates no file without audio, and never overwrites one', async () => {
    const empty = writer(1, 0);
    await empty.write(new Uint8Array(0));
    await empty.close();
    expect(await readdir(dir)).toEqual([]);
    await writeFile(join(dir, 'rec_part1.wav'), 'precious');
    const w = writer(1, 0);
    await w.write(le(ramp(10)));
    await w.close();
    expect(w.files).toEqual([join(dir, 'rec_part1-2.wav')]);
    expect(await readFile(join(dir, 'rec_part1.wav'), 'utf8')).toBe('precious');
  });

  it('rejects sizes that leave no room for a frame and writes that split a frame', async () => {
    expect(() => writer(2, 46)).toThrow(RangeError);
    await expect(writer(2, 0).write(new Uint8Array(6))).rejects.toThrow(RangeError);
  });
});
