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
import { RpcGateway } from '../rpc/rpc-gateway.service';

/** BYOVA's VoiceVirtualAgent service over gRPC: adapts Nest's RxJS streams to the shared RPC adapter. */
@Controller()
// Both methods: WxCC's token, once per RPC, before the first request reaches the handler.
@UseGuards(JwtAuthGuard)
@VoiceVirtualAgentControllerMethods()
export class VoiceAgentController {
  constructor(
    private readonly rpc: RpcGateway,
    private readonly registry: ConnectorRegistry,
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

  processCallerInput(requests: Observable<VoiceVARequest>): Observable<VoiceVAResponse> {
    return new Observable<VoiceVAResponse>((out) => {
      const rpc = this.rpc.open({
        send: (r) => out.next(r),
        complete: () => out.complete(),
        fail: (e) => out.error(rpcException(e)),
      });
      if (rpc.ended) return;
      const input = requests.subscribe({
        next: (r) => rpc.request(r),
        // Nest delivers grpc-js's client cancellation as the end of the request stream immediately followed
        // by the unsubscription: deferred, the half-close finds the RPC already cancelled and does nothing.
        complete: () => queueMicrotask(() => rpc.halfClose()),
        error: () => rpc.cancel(),
      });
      // Unsubscribed: the RPC is over, or the client cancelled (no-op once the RPC has ended).
      return () => {
        input.unsubscribe();
        rpc.cancel();
      };
    });
  }
}
