import { Inject, Injectable, Optional } from '@nestjs/common';
import { LOGGER, type Logger, shutdownTailMs } from '@app/config';
import { ConversationEngine, EngineError } from '@app/engine';
import { CallRecorder } from '@app/recording';
import { CLOSE_FLUSH_MS, GrpcServerHost } from '../grpc/grpc-server.host';
import { DrainService, SHUTTING_DOWN } from './drain.service';

/** What was still unfinished when the grace ran out. */
export interface ShutdownPending {
  /** Conversation ids of the RPCs ended with UNAVAILABLE at the end of the wait ('' when not yet bound). */
  rpcs: string[];
  /** Conversations whose connector had not confirmed the end. */
  conversations: string[];
  /** Conversations whose recording was still being written. */
  recordings: string[];
  /** The application close (server, shutdown hooks) had not finished. */
  close: boolean;
}

export interface ShutdownReport {
  /** Every RPC in flight finished by itself. */
  drained: boolean;
  /** Only when something was left. */
  pending?: ShutdownPending;
}

/** Resolves true when `p` settles within `ms`, false otherwise; never rejects. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((res) => (timer = setTimeout(() => res(false), Math.max(0, ms)))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The whole stop in one budget (`grace`, default gateway.shutdown_grace_seconds), so that it fits in what
 * Kubernetes allows between SIGTERM and SIGKILL:
 *  1. draining: health NOT_SERVING, new RPCs refused with UNAVAILABLE, GOAWAY on every connection;
 *  2. RPCs in flight may finish until grace - tail (tail = min(5 s, grace / 5));
 *  3. those still open are ended with UNAVAILABLE (not reset), their connector calls aborted;
 *  4. conversations are ended (`gateway_shutdown`) until grace - tail / 2;
 *  5. the application closes: gRPC flush window, recordings finalised until grace - tail / 4, other hooks;
 *  6. at the grace at the latest: done, with a warning naming whatever was still pending.
 */
@Injectable()
export class GatewayShutdown {
  private readonly log: Logger;

  constructor(
    private readonly drain: DrainService,
    private readonly grpc: GrpcServerHost,
    private readonly engine: ConversationEngine,
    @Inject(LOGGER) logger: Logger,
    @Optional() private readonly recorder?: CallRecorder,
  ) {
    this.log = logger.child({ context: 'GatewayShutdown' });
  }

  async run(graceMs: number, closeApp: () => Promise<void>): Promise<ShutdownReport> {
    const deadline = Date.now() + graceMs;
    const until = (at: number) => Math.max(0, at - Date.now());
    const tail = shutdownTailMs(graceMs); // the start-up check of the grace against the longest turn assumes it too

    this.drain.startDraining();
    this.grpc.goAway(graceMs);
    this.log.info({ inflight: this.drain.inflightCount, graceMs }, 'draining');

    const drained = await this.drain.waitIdle(until(deadline - tail));
    const rpcs = drained ? [] : this.drain.abortAll(EngineError.unavailable(SHUTTING_DOWN)).map((r) => r.conversationId ?? '');
    if (rpcs.length) this.log.warn({ rpcs: rpcs.length, conversationIds: rpcs }, 'RPCs still open at the end of the drain ended with UNAVAILABLE');

    const conversations = await this.endConversations(deadline - tail / 2);

    this.grpc.flushMs = Math.min(CLOSE_FLUSH_MS, tail / 4);
    this.recorder?.shutdownBy(deadline - tail / 4);
    const closing = closeApp().catch((err) => this.log.error({ err }, 'application close failed'));
    const closed = await settlesWithin(closing, until(deadline));
    const recordings = this.recorder?.pendingConversations() ?? [];

    if (!rpcs.length && !conversations.length && !recordings.length && closed) return { drained };
    const pending: ShutdownPending = { rpcs, conversations, recordings, close: !closed };
    this.log.warn(
      {
        rpcs: rpcs.length,
        conversations,
        recordings,
        closeUnfinished: !closed,
        graceMs,
      },
      `shutdown grace used up with work pending: ${describe(pending)}`,
    );
    return { drained, pending };
  }

  /** Ends every conversation; returns the ids whose connector end had not settled by `at`. */
  private async endConversations(at: number): Promise<string[]> {
    const convs = [...this.engine.conversations()];
    const open = new Set(convs.map((c) => c.id));
    const ending = Promise.all(
      convs.map((c) =>
        this.engine
          .endConversation(c, 'gateway_shutdown')
          .catch(() => undefined) // the engine logs connector failures
          .finally(() => open.delete(c.id)),
      ),
    );
    if (!(await settlesWithin(ending, Math.max(0, at - Date.now())))) {
      this.log.warn({ conversations: [...open] }, 'conversations not ended in time: their connector did not confirm');
    }
    return [...open];
  }
}

function describe(p: ShutdownPending): string {
  const parts: string[] = [];
  if (p.rpcs.length) parts.push(`${p.rpcs.length} RPC(s) cut with UNAVAILABLE`);
  if (p.conversations.length) parts.push(`${p.conversations.length} conversation(s) still ending`);
  if (p.recordings.length) parts.push(`${p.recordings.length} recording(s) not finalised`);
  if (p.close) parts.push('application close unfinished');
  return parts.join(', ');
}
