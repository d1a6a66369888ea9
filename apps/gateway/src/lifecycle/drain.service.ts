import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { EngineError } from '@app/engine';

/** The message of every refusal and cut made because the gateway is stopping. */
export const SHUTTING_DOWN = 'gateway is shutting down';

/** An RPC in flight, as a transport registers it: what to name it by, and how to end it at shutdown. */
export interface TrackedRpc {
  readonly conversationId?: string;
  /** Ends the RPC from the gateway's side with this error. */
  abort?(error: EngineError): void;
}

/** Tracks in-flight RPCs (of every transport) and the draining state of a graceful shutdown. */
@Injectable()
export class DrainService {
  private readonly tracked = new Set<TrackedRpc>();
  private idleWaiters: Array<() => void> = [];
  draining = false;
  /** Emits when draining starts (health listens). */
  readonly changes = new Subject<void>();
  /** Emits once draining has started and no RPC is left in flight: health then ends its Watch streams. */
  readonly drained = new Subject<void>();

  get inflightCount(): number {
    return this.tracked.size;
  }

  /** Call when an RPC starts (one object per RPC); returns the function to call when it ends. */
  track(rpc: TrackedRpc = {}): () => void {
    this.tracked.add(rpc);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.tracked.delete(rpc);
      if (this.tracked.size === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
        if (this.draining) this.drained.next();
      }
    };
  }

  /** The RPCs in flight, oldest first. */
  inflight(): TrackedRpc[] {
    return [...this.tracked];
  }

  /** Ends every RPC in flight with `error`; returns them. */
  abortAll(error: EngineError): TrackedRpc[] {
    const cut = this.inflight();
    for (const rpc of cut) rpc.abort?.(error);
    return cut;
  }

  startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    this.changes.next();
    if (this.tracked.size === 0) this.drained.next();
  }

  /** Resolves true once no RPC is in flight, or false when the deadline passes first. */
  waitIdle(deadlineMs: number): Promise<boolean> {
    if (this.tracked.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, deadlineMs));
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
