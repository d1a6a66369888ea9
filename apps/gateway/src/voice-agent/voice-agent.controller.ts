import { Controller, Inject } from '@nestjs/common';
import { LOGGER, type Logger } from '@app/config';
import { Observable, throwError } from 'rxjs';
import { ConnectorRegistry } from '@app/connector-sdk';
import { ConversationEngine, EngineError } from '@app/engine';
import {
  listVAResponse,
  ListVARequest,
  ListVAResponse,
  virtualAgentInfo,
  VoiceVARequest,
  VoiceVAResponse,
  VoiceVirtualAgentControllerMethods,
} from '@app/proto';
import { rpcException } from '../grpc/grpc-error';
import { DrainService } from '../lifecycle/drain.service';

const SHUTTING_DOWN = EngineError.unavailable('gateway is shutting down');
const INTERNAL = EngineError.internal();

/** BYOVA's VoiceVirtualAgent service: adapts RPC streams to the conversation engine. */
@Controller()
@VoiceVirtualAgentControllerMethods()
export class VoiceAgentController {
  private readonly log: Logger;

  constructor(
    private readonly engine: ConversationEngine,
    private readonly registry: ConnectorRegistry,
    private readonly drain: DrainService,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: 'VoiceAgentController' });
  }

  listVirtualAgents(_req: ListVARequest): ListVAResponse {
    if (this.drain.draining) throw rpcException(SHUTTING_DOWN);
    return listVAResponse(
      this.registry.agents().map((a) =>
        virtualAgentInfo({ virtualAgentId: a.id, virtualAgentName: a.name, isDefault: a.isDefault, attributes: a.attributes }),
      ),
    );
  }

  processCallerInput(requests: Observable<VoiceVARequest>): Observable<VoiceVAResponse> {
    if (this.drain.draining) return throwError(() => rpcException(SHUTTING_DOWN));
    return new Observable<VoiceVAResponse>((out) => {
      const untrack = this.drain.track();
      let settled = false;
      const turn = this.engine.openTurn({
        send: (r) => out.next(r),
        complete: () => {
          settled = true;
          out.complete();
        },
        fail: (e) => {
          settled = true;
          out.error(rpcException(e));
        },
      });
      // A bug must cost one RPC, never the process (rxjs rethrows errors from next() asynchronously).
      const onBug = (err: unknown) => {
        this.log.error({ err }, 'unexpected error in an RPC');
        turn.cancel();
        if (!settled) {
          settled = true;
          out.error(rpcException(INTERNAL));
        }
      };
      const input = requests.subscribe({
        next: (r) => {
          try {
            turn.request(r);
          } catch (err) {
            onBug(err);
          }
        },
        // grpc-js delivers a client cancellation as a half-close followed at once by the cancel: let that land first.
        complete: () =>
          queueMicrotask(() => {
            try {
              turn.halfClose();
            } catch (err) {
              onBug(err);
            }
          }),
        error: () => turn.cancel(),
      });
      // Unsubscribed without completing: the client cancelled or the server is going away.
      return () => {
        input.unsubscribe();
        if (!settled) turn.cancel();
        untrack();
      };
    });
  }
}
