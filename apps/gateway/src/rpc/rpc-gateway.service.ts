import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, type Logger } from '@app/config';
import { ConversationEngine, EngineError, EngineEvents, type TurnHandle, type TurnSink } from '@app/engine';
import { RejectedRequest, type RejectReason, type VoiceVARequest, type VoiceVAResponse } from '@app/proto';
import { DrainService, SHUTTING_DOWN, type TrackedRpc } from '../lifecycle/drain.service';
import { RequestRejections } from './request-rejections.service';

/** Where a transport delivers one RPC's outcome: responses, then exactly one of complete or fail. */
export interface RpcSink {
  send(response: VoiceVAResponse): void;
  complete(): void;
  fail(error: EngineError): void;
}

/** What a transport drives for one RPC. Every call is safe at any time: after the RPC ended it does nothing. */
export interface RpcHandle {
  /** A request, or what the strict deserializer refused (the RPC ends with INVALID_ARGUMENT). */
  request(req: VoiceVARequest | RejectedRequest): void;
  /** The client sent its last request. */
  halfClose(): void;
  /** The client went away (or the transport gave up on the RPC); no outcome is delivered after this. */
  cancel(): void;
  /** The transport ends the RPC with `error` (e.g. a client that does not read its responses). */
  abort(error: EngineError): void;
  /** Completed, failed or cancelled. */
  readonly ended: boolean;
}

const REJECTED: Record<RejectReason, string> = {
  malformed: 'request is not a valid protobuf encoding',
  invalid_utf8: 'request has a string field that is not valid UTF-8',
  too_deep: 'request nests messages too deeply',
};

class Rpc implements RpcHandle, TrackedRpc {
  conversationId = '';
  ended = false;
  turn?: TurnHandle;
  /** Set once the RPC is tracked as in flight. */
  untrack?: () => void;

  constructor(
    private readonly sink: RpcSink,
    private readonly log: Logger,
    private readonly rejections: RequestRejections,
  ) {}

  /** The sink the engine sees: one outcome, nothing after it, a throwing transport costs this RPC only. */
  readonly engineSink: TurnSink = {
    send: (r) => {
      if (this.ended) return;
      try {
        this.sink.send(r);
      } catch (err) {
        this.bug(err);
      }
    },
    complete: () => this.settle((s) => s.complete()),
    fail: (e) => this.settle((s) => s.fail(e)),
  };

  request(req: VoiceVARequest | RejectedRequest): void {
    if (this.ended) return;
    if (req instanceof RejectedRequest) return this.reject(req.reason);
    if (!this.conversationId && req.conversationId) this.conversationId = req.conversationId;
    // Inline rather than guard(): no closure per audio frame.
    try {
      this.turn!.request(req);
    } catch (err) {
      this.bug(err);
    }
  }

  /** Ends the RPC: one log line (no payload) and one count per refused RPC, since the refusal ends it. */
  private reject(reason: RejectReason): void {
    this.rejections.count(reason);
    this.log.warn({ reason, conversationId: this.conversationId || undefined }, 'request could not be decoded');
    const e = EngineError.invalidArgument(REJECTED[reason]);
    this.cancelTurn(e);
    this.settle((s) => s.fail(e));
  }

  halfClose(): void {
    if (!this.ended) this.guard(() => this.turn!.halfClose());
  }

  cancel(): void {
    if (this.ended) return;
    this.end();
    this.cancelTurn();
  }

  /** Ends the RPC from the gateway's side with `error` (shutdown): the engine stops working on it. */
  abort(error: EngineError): void {
    if (this.ended) return;
    this.cancelTurn(error);
    this.settle((s) => s.fail(error));
  }

  private settle(deliver: (sink: RpcSink) => void): void {
    if (this.ended) return;
    this.end();
    try {
      deliver(this.sink);
    } catch (err) {
      this.log.error({ err, conversationId: this.conversationId || undefined }, 'transport failed to end an RPC');
    }
  }

  private end(): void {
    this.ended = true;
    this.untrack?.();
  }

  /** `error`: what the client is told instead (the turn reports it); none: the client went away. */
  private cancelTurn(error?: EngineError): void {
    try {
      this.turn?.cancel(error?.code.toUpperCase());
    } catch (err) {
      this.log.error({ err, conversationId: this.conversationId || undefined }, 'unexpected error cancelling an RPC');
    }
  }

  guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.bug(err);
    }
  }

  /** A bug costs this RPC (INTERNAL, no detail) and a log line, never the process. */
  private bug(err: unknown): void {
    if (err instanceof EngineError) {
      // Not a bug: a refusal that escaped the engine's own handling.
      this.cancelTurn(err);
      this.settle((s) => s.fail(err));
      return;
    }
    this.log.error({ err, conversationId: this.conversationId || undefined }, 'unexpected error in an RPC');
    const internal = EngineError.internal();
    this.cancelTurn(internal);
    this.settle((s) => s.fail(internal));
  }
}

/**
 * The transport-neutral side of ProcessCallerInput: refuses RPCs while draining, tracks the ones in flight
 * (in DrainService, with how to end each: a shutdown ends what is left with UNAVAILABLE), and guards the
 * engine so a bug costs one RPC. A transport (gRPC today,
 * BYOVA's WebSocket variant later) only adapts its streams to `open(sink)`.
 */
@Injectable()
export class RpcGateway {
  private readonly log: Logger;

  constructor(
    private readonly engine: ConversationEngine,
    private readonly drain: DrainService,
    @Inject(LOGGER) logger: Logger,
    private readonly events: EngineEvents,
    private readonly rejections: RequestRejections,
  ) {
    this.log = logger.child({ context: 'RpcGateway' });
  }

  /** Starts one RPC. While draining it is refused at once with UNAVAILABLE and the handle is already ended. */
  open(sink: RpcSink): RpcHandle {
    const rpc = new Rpc(sink, this.log, this.rejections);
    if (this.drain.draining) {
      rpc.abort(EngineError.unavailable(SHUTTING_DOWN));
      this.observe('ProcessCallerInput', 'UNAVAILABLE', Date.now());
      return rpc;
    }
    rpc.untrack = this.drain.track(rpc);
    rpc.guard(() => (rpc.turn = this.engine.openTurn(rpc.engineSink)));
    return rpc;
  }

  /**
   * A unary call under the same rules: UNAVAILABLE while draining, a bug becomes INTERNAL and a log line.
   * Throws the EngineError for the transport to map.
   */
  unary<T>(method: string, fn: () => T, req?: unknown): T {
    const t0 = Date.now();
    if (req instanceof RejectedRequest) {
      this.rejections.count(req.reason);
      this.log.warn({ reason: req.reason, method }, 'request could not be decoded');
      this.observe(method, 'INVALID_ARGUMENT', t0);
      throw EngineError.invalidArgument(REJECTED[req.reason]);
    }
    if (this.drain.draining) {
      this.observe(method, 'UNAVAILABLE', t0);
      throw EngineError.unavailable(SHUTTING_DOWN);
    }
    try {
      const out = fn();
      this.observe(method, 'OK', t0);
      return out;
    } catch (err) {
      const e = err instanceof EngineError ? err : EngineError.internal();
      if (e !== err) this.log.error({ err }, 'unexpected error in an RPC');
      this.observe(method, e.code.toUpperCase(), t0);
      throw e;
    }
  }

  /** RPCs the engine never sees (unary ones, refused while draining) are reported here. */
  private observe(method: string, status: string, t0: number): void {
    const ev = this.events;
    if (!ev.listening) return;
    const at = Date.now();
    ev.emit({ type: 'rpc_ended', at, conversationId: '', rpc: 0, method, status, durationMs: at - t0, started: false });
  }
}
