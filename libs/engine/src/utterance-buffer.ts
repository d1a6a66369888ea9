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

  /** Before speech: remember the last pre-roll's worth (plain loop: no views allocated per frame). */
  remember(pcm: Int16Array): void {
    const ring = this.ring;
    const n = ring.length;
    const from = pcm.length > n ? pcm.length - n : 0;
    let pos = this.ringPos;
    for (let i = from; i < pcm.length; i++) {
      ring[pos] = pcm[i];
      if (++pos === n) pos = 0;
    }
    this.ringPos = pos;
    this.ringFilled = Math.min(n, this.ringFilled + pcm.length - from);
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
