import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export const WAV_HEADER_BYTES = 44;
/** RIFF sizes are 32-bit: the data of one file stays below this. */
const RIFF_MAX_DATA = 0xffffffff - (WAV_HEADER_BYTES - 8);

export interface WavPartWriterOptions {
  /** 16-bit PCM; 2 channels are interleaved by the caller of write(). */
  channels: number;
  sampleRate: number;
  /** Largest file, header included; 0 means only the RIFF limit. */
  maxFileBytes: number;
  /** Path of part n (1-based). */
  pathOf(part: number): string;
}

/** Canonical 44-byte header of 16-bit PCM. */
export function pcm16WavHeader(channels: number, sampleRate: number, dataBytes: number): Uint8Array {
  const h = new Uint8Array(WAV_HEADER_BYTES);
  const dv = new DataView(h.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) h[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  dv.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true); // PCM
  dv.setUint16(22, channels, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * channels * 2, true);
  dv.setUint16(32, channels * 2, true);
  dv.setUint16(34, 16, true);
  ascii(36, 'data');
  dv.setUint32(40, dataBytes, true);
  return h;
}

/**
 * Appends 16-bit PCM to a WAV file, continuing in a new part before a file would pass its size limit.
 * Header sizes are rewritten after every write, so each part is a complete WAV even if the process dies.
 * Calls must not overlap (the recording chains them).
 */
export class WavPartWriter {
  /** Paths of the parts written so far. */
  readonly files: string[] = [];
  private fh?: FileHandle;
  private closed = false;
  private dataBytes = 0;
  private readonly maxData: number;
  private readonly frameBytes: number;

  constructor(private readonly opts: WavPartWriterOptions) {
    this.frameBytes = opts.channels * 2;
    const limit = opts.maxFileBytes > 0 ? Math.min(opts.maxFileBytes - WAV_HEADER_BYTES, RIFF_MAX_DATA) : RIFF_MAX_DATA;
    // Whole sample frames per part, so a frame never straddles two files.
    this.maxData = Math.floor(limit / this.frameBytes) * this.frameBytes;
    if (this.maxData <= 0) throw new RangeError(`max file size ${opts.maxFileBytes} leaves no room for audio`);
  }

  /** `data`: whole sample frames, little-endian. */
  async write(data: Uint8Array): Promise<void> {
    if (data.length % this.frameBytes !== 0) throw new RangeError(`write of ${data.length} bytes is not whole ${this.frameBytes}-byte frames`);
    let off = 0;
    while (off < data.length) {
      if (this.fh === undefined || this.dataBytes >= this.maxData) await this.nextPart();
      const n = Math.min(data.length - off, this.maxData - this.dataBytes);
      await writeAll(this.fh!, data.subarray(off, off + n), WAV_HEADER_BYTES + this.dataBytes);
      this.dataBytes += n;
      off += n;
    }
    if (this.fh !== undefined) await this.writeSizes();
  }

  /** Closes the current part; a write still waiting for the disk fails (and leaves no new part) rather than reopen. */
  async close(): Promise<void> {
    this.closed = true;
    await this.closeCurrent();
  }

  private async closeCurrent(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  private async nextPart(): Promise<void> {
    if (this.fh !== undefined) await this.writeSizes(); // the part just filled
    await this.closeCurrent();
    const path = this.opts.pathOf(this.files.length + 1);
    await mkdir(dirname(path), { recursive: true });
    const { fh, path: used } = await openNew(path);
    if (this.closed) {
      // Closed while the open waited (a stalled disk): drop the empty file instead of leaking its handle.
      await fh.close();
      await unlink(used).catch(() => undefined);
      throw new Error('recording closed before its file could be opened');
    }
    this.fh = fh;
    this.files.push(used);
    this.dataBytes = 0;
    await writeAll(fh, pcm16WavHeader(this.opts.channels, this.opts.sampleRate, 0), 0);
  }

  private async writeSizes(): Promise<void> {
    const b = new Uint8Array(4);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 36 + this.dataBytes, true);
    await writeAll(this.fh!, b, 4);
    dv.setUint32(0, this.dataBytes, true);
    await writeAll(this.fh!, b, 40);
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Never overwrites a recording: a taken name gets `-2`, `-3`, ... before `.wav`. */
async function openNew(path: string): Promise<{ fh: FileHandle; path: string }> {
  const dot = path.toLowerCase().endsWith('.wav') ? path.length - 4 : path.length;
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? path : `${path.slice(0, dot)}-${i}${path.slice(dot)}`;
    try {
      return { fh: await open(candidate, 'wx'), path: candidate };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i >= 1000) throw e;
    }
  }
}
