import { dirname, join } from 'node:path';
import type { GrpcOptions } from '@nestjs/microservices';
import { Transport } from '@nestjs/microservices';
import type { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { GatewaySection } from '@app/config';
import {
  BYOVA_PACKAGE,
  BYOVA_SERVICE,
  descriptorSet,
  health,
  HEALTH_PACKAGE,
  HEALTH_SERVICE,
  ListVARequest,
  strictDeserializer,
  VoiceVARequest,
  VoiceVirtualAgentService,
} from '@app/proto';

/**
 * The generated service definition with strict request decoding (see strict-decode): refused bytes reach the
 * handler as a RejectedRequest, which it answers with INVALID_ARGUMENT. The generated file stays untouched.
 */
export const StrictVoiceVirtualAgentService = {
  ...VoiceVirtualAgentService,
  processCallerInput: {
    ...VoiceVirtualAgentService.processCallerInput,
    requestDeserialize: strictDeserializer(`${BYOVA_PACKAGE}.VoiceVARequest`, (b) => VoiceVARequest.decode(b)),
  },
  listVirtualAgents: {
    ...VoiceVirtualAgentService.listVirtualAgents,
    requestDeserialize: strictDeserializer(`${BYOVA_PACKAGE}.ListVARequest`, (b) => ListVARequest.decode(b)),
  },
};

/**
 * What reflection serves: the embedded set's files byte for byte (proto-loader's view merges them per package and
 * drops their imports, which strict clients such as buf curl cannot link), plus reflection's own protos so that
 * list_services names it too.
 */
function reflectionPackage(): PackageDefinition {
  const files: Uint8Array[] = [];
  const r = new BinaryReader(descriptorSet());
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1) files.push(r.bytes()); // FileDescriptorSet.file
    else r.skip(wireType);
  }
  const dir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection');
  const own = ['v1', 'v1alpha'].map((v) => loadSync(join(dir, v, 'reflection.proto')));
  return Object.assign({}, ...own, { 'byova.descriptor-set': { fileDescriptorProtos: files } }) as PackageDefinition;
}

/**
 * gRPC server options: ts-proto's own codecs (no proto reflection at runtime), limits, keepalive,
 * and server reflection from the embedded descriptor set. `onServer` receives the grpc-js server once it exists.
 * `credentials`: TLS (see TlsCertificates); none means plaintext h2c.
 */
export function grpcOptions(g: GatewaySection, onServer?: (server: Server, url: string) => void, credentials?: ServerCredentials): GrpcOptions {
  const url = `${g.host}:${g.port}`;
  return {
    transport: Transport.GRPC,
    options: {
      url,
      package: [BYOVA_PACKAGE, HEALTH_PACKAGE],
      packageDefinition: {
        [BYOVA_SERVICE]: StrictVoiceVirtualAgentService,
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
      channelOptions: {
        'grpc.max_concurrent_streams': g.max_concurrent_streams,
        // No channelz service is served, and its records cost a Date.now() per message and objects per call.
        'grpc.enable_channelz': 0,
        // Rebalancing: clients reconnect after GOAWAY, possibly to another replica (grpc-js adds 10% jitter).
        ...(g.max_connection_age_seconds > 0
          ? {
              'grpc.max_connection_age_ms': Math.round(g.max_connection_age_seconds * 1000),
              'grpc.max_connection_age_grace_ms': Math.round(g.max_connection_age_grace_seconds * 1000),
            }
          : {}),
      },
      gracefulShutdown: true,
      ...(credentials ? { credentials } : {}),
      onLoadPackageDefinition: (_pkg: unknown, server: Server) => {
        onServer?.(server, url);
        if (g.reflection) new ReflectionService(reflectionPackage()).addToServer(server);
      },
    },
  };
}

export { CLOSE_FLUSH_MS } from './grpc-server.host';
