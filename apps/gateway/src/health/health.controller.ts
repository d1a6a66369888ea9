import { Controller } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { map, Observable } from 'rxjs';
import { health } from '@app/proto';
import { HealthService } from './health.service';

/** grpc.health.v1.Health: Check, List and Watch. */
@Controller()
@health.HealthControllerMethods()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  check(req: health.HealthCheckRequest): health.HealthCheckResponse {
    const s = this.health.check(req.service);
    if (s === undefined) throw new RpcException({ code: status.NOT_FOUND, message: `unknown service "${req.service}"` });
    return { status: s };
  }

  list(_req: health.HealthListRequest): health.HealthListResponse {
    const statuses = Object.fromEntries(Object.entries(this.health.all()).map(([name, s]) => [name, { status: s }]));
    return { statuses };
  }

  watch(req: health.HealthCheckRequest): Observable<health.HealthCheckResponse> {
    return this.health.watch(req.service).pipe(map((s) => ({ status: s })));
  }
}
