import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';

/** Tracks in-flight BYOVA RPCs and the draining state of a graceful shutdown. */
@Injectable()
export class DrainService {
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  draining = false;
  /** Emits when draining starts (health listens). */
  readonly changes = new Subject<void>();
  /** Emits once draining has started and no RPC is left in flight: health then ends its Watch streams. */
  readonly drained = new Subject<void>();

  get inflightCount(): number {
    return this.inflight;
  }

  /** Call when an RPC starts; returns the function to call when it ends. */
  track(): () => void {
    this.inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.inflight === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
        if (this.draining) this.drained.next();
      }
    };
  }

  startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    this.changes.next();
    if (this.inflight === 0) this.drained.next();
  }

  /** Resolves true once no RPC is in flight, or false when the deadline passes first. */
  waitIdle(deadlineMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), deadlineMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
