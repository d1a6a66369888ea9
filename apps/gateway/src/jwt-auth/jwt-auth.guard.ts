import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { type Metadata, status } from '@grpc/grpc-js';
import { JwtValidationSection, LOGGER, type Logger } from '@app/config';
import { JwtMetrics } from './jwt-metrics.service';
import type { JwtRefusalReason } from './jwt-refusal';
import { JwtValidator } from './jwt-validator.service';

/** gRPC status of a refusal: the token's fault, or ours (no keys to check it with, a bug). */
const STATUS_OF: Partial<Record<JwtRefusalReason, status>> = { 'keys unavailable': status.UNAVAILABLE, 'internal error': status.INTERNAL };

/**
 * WxCC's token on the BYOVA service's RPCs (jwt_validation), checked once per RPC before its handler runs (Nest
 * buffers the requests of a stream meanwhile). Applied to the VoiceVirtualAgent controller only: health and
 * reflection stay open. A refusal ends the RPC with UNAUTHENTICATED and the reason, is logged once and counted;
 * with enforce_validation false it is logged and counted as such, and the RPC goes on.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly log: Logger;

  constructor(
    private readonly settings: JwtValidationSection,
    private readonly validator: JwtValidator,
    private readonly metrics: JwtMetrics,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ context: 'JwtAuth' });
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Off: nothing at all per RPC.
    if (!this.settings.enabled || context.getType() !== 'rpc') return true;
    return this.check(context);
  }

  private async check(context: ExecutionContext): Promise<boolean> {
    const metadata = context.switchToRpc().getContext<Metadata>();
    const values = metadata?.get?.('authorization') ?? [];
    // Several values: the last one, as grpc-python reads it; binary values are no token.
    const raw = values[values.length - 1];
    const verdict = await this.validator.check(JwtValidator.tokenOf(typeof raw === 'string' ? raw : undefined));
    if (verdict.ok) {
      this.metrics.countAccepted(verdict.verified);
      return true;
    }
    const enforced = this.settings.enforce_validation;
    this.metrics.countRefused(verdict.reason, enforced);
    const call = context.getArgByIndex<{ getPeer?: () => string; getPath?: () => string } | undefined>(2);
    const method = call?.getPath?.().split('/').pop() || context.getHandler().name;
    const line = { reason: verdict.reason, method, peer: call?.getPeer?.(), ...(verdict.error ? { err: verdict.error } : {}) };
    if (!enforced) {
      this.log.warn(line, 'RPC let through with a token that would be refused (jwt_validation.enforce_validation is false)');
      return true;
    }
    if (verdict.error) this.log.error(line, 'RPC refused: the token check failed');
    else this.log.warn(line, 'RPC refused: token not accepted');
    throw new RpcException({ code: STATUS_OF[verdict.reason] ?? status.UNAUTHENTICATED, message: verdict.reason });
  }
}
