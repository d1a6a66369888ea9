import { Controller } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';
import { ConnectorRegistry } from '@app/connectors';
import { ConversationEngine, GatewayError } from '@app/engine';
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

const SHUTTING_DOWN = GatewayError.unavailable('gateway is shutting down');

/** BYOVA's VoiceVirtualAgent service: adapts RPC streams to the conversation engine. */
@Controller()
@VoiceVirtualAgentControllerMethods()
export class VoiceAgentController {
  constructor(
    private readonly engine: ConversationEngine,
    private readonly registry: ConnectorRegistry,
    private readonly drain: DrainService,
  ) {}

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
      const input = requests.subscribe({
        next: (r) => turn.request(r),
        complete: () => turn.halfClose(),
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
