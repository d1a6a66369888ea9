import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fromBinary } from '@bufbuild/protobuf';
import { type FileDescriptorProto, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';

/** The reflection proto that ships inside @grpc/reflection, so the client uses the same contract as the server. */
export const REFLECTION_PROTO = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');

export type ReflectionRequest = { listServices: string } | { fileContainingSymbol: string } | { fileByFilename: string };

export interface ReflectionResponse {
  messageResponse: 'listServicesResponse' | 'fileDescriptorResponse' | 'errorResponse' | string;
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

/** grpc.reflection.v1.ServerReflection client (dynamic codecs via @grpc/proto-loader). */
export class ReflectionClient {
  private readonly client: grpc.Client & Record<string, any>;

  constructor(target: string) {
    const def = loadSync(REFLECTION_PROTO, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    this.client = new pkg.grpc.reflection.v1.ServerReflection(target, grpc.credentials.createInsecure());
  }

  /** Sends the requests on one ServerReflectionInfo stream, half-closes, and collects the answers. */
  ask(requests: ReflectionRequest[]): Promise<ReflectionResponse[]> {
    return new Promise((resolve, reject) => {
      const call = this.client.serverReflectionInfo();
      const out: ReflectionResponse[] = [];
      call.on('data', (r: ReflectionResponse) => out.push(r));
      call.on('error', reject);
      call.on('end', () => resolve(out));
      for (const r of requests) call.write(r);
      call.end();
    });
  }

  close(): void {
    this.client.close();
  }
}

export function decodeFileDescriptors(bins: Uint8Array[]): FileDescriptorProto[] {
  return bins.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}
