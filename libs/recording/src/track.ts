/** Audio placed on a track and not yet written. `open`: a caller block still being filled. */
export interface Segment {
  at: number;
  data: Int16Array;
  len: number;
  open: boolean;
}

const EMPTY = new Int16Array(0);

/**
 * One side of a call as a sample timeline starting at the conversation's start: audio segments wait
 * in memory until written; whatever lies between them is silence.
 */
export class Track {
  /** Samples before this have been taken for writing. */
  committed = 0;
  /** Where the latest audio placed ends (a silenced sensitive turn counts as audio). */
  end = 0;
  private segments: Segment[] = [];
  /** The block caller audio is appended to. */
  private block?: Segment;

  /** @param blockSamples size of the blocks appended audio is gathered in (fewer, larger copies and writes) */
  constructor(private readonly blockSamples: number) {}

  /** Audio continuing at `end` (caller frames): copied into the current block, no other allocation. */
  append(pcm: Int16Array): void {
    let off = 0;
    while (off < pcm.length) {
      let b = this.block;
      if (b === undefined || b.len === b.data.length || b.at + b.len !== this.end) {
        if (b !== undefined) b.open = false;
        b = this.block = { at: this.end, data: new Int16Array(this.blockSamples), len: 0, open: true };
        this.segments.push(b);
      }
      const n = Math.min(pcm.length - off, b.data.length - b.len);
      b.data.set(n === pcm.length ? pcm : pcm.subarray(off, off + n), b.len);
      b.len += n;
      off += n;
      this.end += n;
    }
  }

  add(seg: Segment): void {
    this.segments.push(seg);
  }

  /** Drops pending audio from `at` on: a new answer replaces prompts still playing (the caller barged in). */
  cutFrom(at: number): void {
    this.segments = this.segments.filter((s) => s.at < at);
    for (const s of this.segments) if (s.at + s.len > at) s.len = at - s.at;
  }

  /** Samples [committed, upTo) with silence in the gaps; they leave the track. */
  take(upTo: number): Int16Array {
    const from = this.committed;
    if (upTo <= from) return EMPTY;
    const out = new Int16Array(upTo - from);
    for (const s of this.segments) {
      const a = Math.max(s.at, from);
      const b = Math.min(s.at + s.len, upTo);
      if (b > a) out.set(s.data.subarray(a - s.at, b - s.at), a - from);
    }
    this.segments = this.segments.filter((s) => s.open || s.at + s.len > upTo);
    this.committed = upTo;
    return out;
  }

  clear(): void {
    this.segments = [];
    this.block = undefined;
  }
}
