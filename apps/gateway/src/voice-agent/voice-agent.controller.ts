import { Controller, UseGuards } from '@nestjs/common';
import { Observable } from 'rxjs';
import { ConnectorRegistry } from '@app/connector-sdk';
import {
  listVAResponse,
  ListVARequest,
  ListVAResponse,
  virtualAgentInfo,
  VoiceVARequest,
  VoiceVAResponse,
  VoiceVirtualAgentControllerMethods,
} from '@app/proto';
import { EngineError } from '@app/engine';
import { rpcException } from '../grpc/grpc-error';
import { JwtAuthGuard } from '../jwt-auth/jwt-auth.guard';
import { ResponseBacklog } from '../grpc/response-backlog';
import { RpcGateway, type RpcHandle } from '../rpc/rpc-gateway.service';

const NOT_READING = 'the client does not read its responses: too many are waiting to be sent';

/** BYOVA's VoiceVirtualAgent service over gRPC: adapts Nest's RxJS streams to the shared RPC adapter. */
@Controller()
// Both methods: WxCC's token, once per RPC, before the first request reaches the handler.
@UseGuards(JwtAuthGuard)
@VoiceVirtualAgentControllerMethods()
export class VoiceAgentController {
  constructor(
    private readonly rpc: RpcGateway,
    private readonly registry: ConnectorRegistry,
    private readonly backlog: ResponseBacklog,
  ) {}

  listVirtualAgents(req: ListVARequest): ListVAResponse {
    try {
      return this.rpc.unary('ListVirtualAgents', () =>
        listVAResponse(
          this.registry.agents().map((a) =>
            virtualAgentInfo({ virtualAgentId: a.id, virtualAgentName: a.name, isDefault: a.isDefault, attributes: a.attributes }),
          ),
        ),
        req,
      );
    } catch (e) {
      throw rpcException(e as EngineError);
    }
  }

  /** `call`: the grpc-js call, which Nest passes after the metadata; its queued responses are bounded. */
  processCallerInput(requests: Observable<VoiceVARequest>, _metadata?: unknown, call?: unknown): Observable<VoiceVAResponse> {
    return new Observable<VoiceVAResponse>((out) => {
      let rpc: RpcHandle | undefined;
      const backlog = this.backlog.watch(call, () => rpc?.abort(EngineError.exhausted(NOT_READING)));
      rpc = this.rpc.open({
        send: (r) => {
          if (backlog === undefined || backlog.add(r)) out.next(r);
        },
        complete: () => out.complete(),
        fail: (e) => out.error(rpcException(e)),
      });
      if (rpc.ended) return;
      const handle = rpc;
      const input = requests.subscribe({
        next: (r) => handle.request(r),
        // Nest delivers grpc-js's client cancellation as the end of the request stream immediately followed
        // by the unsubscription: deferred, the half-close finds the RPC already cancelled and does nothing.
        complete: () => queueMicrotask(() => handle.halfClose()),
        error: () => handle.cancel(),
      });
      // Unsubscribed: the RPC is over, or the client cancelled (no-op once the RPC has ended).
      return () => {
        input.unsubscribe();
        handle.cancel();
      };
    });
  }
}
