import type { GrpcOptions } from '@nestjs/microservices';
import { Transport } from '@nestjs/microservices';
import type { Server } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { GatewayConfig } from '@app/config';
import { BYOVA_PACKAGE, BYOVA_SERVICE, descriptorSet, health, HEALTH_PACKAGE, HEALTH_SERVICE, VoiceVirtualAgentService } from '@app/proto';

/**
 * gRPC server options: ts-proto's own codecs (no proto reflection at runtime), limits, keepalive,
 * and server reflection from the embedded descriptor set.
 */
export function grpcOptions(config: GatewayConfig): GrpcOptions {
  const g = config.gateway;
  return {
    transport: Transport.GRPC,
    options: {
      url: `${g.host}:${g.port}`,
      package: [BYOVA_PACKAGE, HEALTH_PACKAGE],
      packageDefinition: {
        [BYOVA_SERVICE]: VoiceVirtualAgentService,
        [HEALTH_SERVICE]: health.HealthService,
      },
      maxReceiveMessageLength: g.max_receive_message_bytes,
      maxSendMessageLength: g.max_send_message_bytes,
      keepalive: {
        keepaliveTimeMs: g.keepalive.time_ms,
        keepaliveTimeoutMs: g.keepalive.timeout_ms,
        keepalivePermitWithoutCalls: g.keepalive.permit_without_calls ? 1 : 0,
        http2MinPingIntervalWithoutDataMs: g.keepalive.min_client_ping_interval_ms,
      },
      channelOptions: { 'grpc.max_concurrent_streams': g.max_concurrent_streams },
      onLoadPackageDefinition: (_pkg: unknown, server: Server) => {
        if (g.reflection) new ReflectionService(loadFileDescriptorSetFromBuffer(descriptorSet())).addToServer(server);
      },
    },
  };
}
