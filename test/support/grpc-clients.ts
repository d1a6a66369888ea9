import * as grpc from '@grpc/grpc-js';
import { health } from '@app/proto';

export const { HealthCheckResponse_ServingStatus: ServingStatus } = health;

/** grpc.health.v1.Health client built from the project's own codecs. */
export class HealthClient {
  private readonly client: grpc.Client & Record<string, any>;

  constructor(target: string) {
    const Ctor = grpc.makeGenericClientConstructor(health.HealthService as unknown as grpc.ServiceDefinition, 'Health');
    this.client = new Ctor(target, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
  }

  check(service: string): Promise<health.HealthCheckResponse> {
    return new Promise((resolve, reject) =>
      this.client.check({ service }, (err: grpc.ServiceError | null, res: health.HealthCheckResponse) => (err ? reject(err) : resolve(res))),
    );
  }

  list(): Promise<health.HealthListResponse> {
    return new Promise((resolve, reject) =>
      this.client.list({}, (err: grpc.ServiceError | null, res: health.HealthListResponse) => (err ? reject(err) : resolve(res))),
    );
  }

  /** Opens a Watch stream; records every status and the final gRPC status. */
  watch(service: string): HealthWatch {
    const call: grpc.ClientReadableStream<health.HealthCheckResponse> = this.client.watch({ service });
    const statuses: health.HealthCheckResponse_ServingStatus[] = [];
    const waiters: Array<() => void> = [];
    call.on('data', (r: health.HealthCheckResponse) => {
      statuses.push(r.status);
      for (const w of waiters.splice(0)) w();
    });
    call.on('error', () => undefined); // the status event carries it
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    return {
      statuses,
      ended,
      cancel: () => call.cancel(),
      async next(count: number, timeoutMs = 2000) {
        const end = Date.now() + timeoutMs;
        while (statuses.length < count) {
          if (Date.now() > end) throw new Error(`expected ${count} Watch updates, got [${statuses.join(', ')}]`);
          await new Promise<void>((r) => {
            waiters.push(r);
            setTimeout(r, 20);
          });
        }
        return statuses.slice(0, count);
      },
    };
  }

  close(): void {
    this.client.close();
  }
}

export interface HealthWatch {
  readonly statuses: health.HealthCheckResponse_ServingStatus[];
  /** Resolves with the final status once the server ends the stream. */
  readonly ended: Promise<grpc.StatusObject>;
  /** Waits until at least `count` updates arrived; returns the first `count`. */
  next(count: number, timeoutMs?: number): Promise<health.HealthCheckResponse_ServingStatus[]>;
  cancel(): void;
}

/** Rejects with `message` unless `p` settles within `ms`. */
export function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(message)), ms);
    }),
  ]);
}
