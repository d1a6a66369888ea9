/**
 * Collects one utterance's PCM. Before speech is detected it keeps only a short pre-roll ring, so the
 * utterance includes the speech the detector needed to confirm it started.
 */
export class UtteranceBuffer {
  private readonly ring: Int16Array;
  private ringPos = 0;
  private ringFilled = 0;
  private buf: Int16Array | null = null;
  private len = 0;

  constructor(preRollSamples: number, private readonly initialSamples: number) {
    this.ring = new Int16Array(Math.max(1, preRollSamples));
  }

  get capturing(): boolean {
    return this.buf !== null;
  }

  /** Before speech: remember the last pre-roll's worth. */
  remember(pcm: Int16Array): void {
    const ring = this.ring;
    const n = ring.length;
    const src = pcm.length > n ? pcm.subarray(pcm.length - n) : pcm;
    let pos = this.ringPos;
    const first = Math.min(src.length, n - pos);
    ring.set(src.subarray(0, first), pos);
    if (first < src.length) ring.set(src.subarray(first), 0);
    pos = (pos + src.length) % n;
    this.ringPos = pos;
    this.ringFilled = Math.min(n, this.ringFilled + src.length);
  }

  /** Speech started: the pre-roll becomes the head of the utterance. */
  begin(): void {
    this.buf = new Int16Array(Math.max(this.initialSamples, this.ringFilled * 2));
    const start = (this.ringPos - this.ringFilled + this.ring.length) % this.ring.length;
    const first = Math.min(this.ringFilled, this.ring.length - start);
    this.buf.set(this.ring.subarray(start, start + first), 0);
    this.buf.set(this.ring.subarray(0, this.ringFilled - first), first);
    this.len = this.ringFilled;
  }

  append(pcm: Int16Array): void {
    let buf = this.buf!;
    if (this.len + pcm.length > buf.length) {
      const grown = new Int16Array(Math.max(buf.length * 2, this.len + pcm.length));
      grown.set(buf.subarray(0, this.len));
      this.buf = buf = grown;
    }
    buf.set(pcm, this.len);
    this.len += pcm.length;
  }

  take(): Int16Array {
    const out = this.buf ? this.buf.subarray(0, this.len) : new Int16Array(0);
    this.buf = null;
    this.len = 0;
    return out;
  }
}
