import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { BehaviorSubject, distinctUntilChanged, map, Observable, ReplaySubject, takeUntil } from 'rxjs';
import { ConnectorRegistry } from '@app/connectors';
import { BYOVA_SERVICE, health } from '@app/proto';
import { DrainService } from '../lifecycle/drain.service';

const { HealthCheckResponse_ServingStatus: Status } = health;
type ServingStatus = health.HealthCheckResponse_ServingStatus;

/** Services this gateway reports on: the server as a whole ("") and BYOVA's service. */
export const HEALTH_SERVICES = ['', BYOVA_SERVICE] as const;

/** Serving while at least one agent is available and the gateway is not draining. */
@Injectable()
export class HealthService implements OnApplicationShutdown {
  private readonly state = new BehaviorSubject<ServingStatus>(Status.UNKNOWN);
  // Replays, so a Watch opened in the last moments of a shutdown ends too.
  private readonly stop = new ReplaySubject<void>(1);

  constructor(private readonly registry: ConnectorRegistry, private readonly drain: DrainService) {
    drain.changes.subscribe(() => this.refresh());
    // Watch streams never end by themselves; ending them once drained lets the server close without cutting them.
    drain.drained.subscribe(() => this.end());
  }

  /** Idempotent: a completed subject ignores both calls. */
  private end(): void {
    this.stop.next();
    this.stop.complete();
  }

  private current(): ServingStatus {
    return this.registry.hasAgents() && !this.drain.draining ? Status.SERVING : Status.NOT_SERVING;
  }

  refresh(): void {
    this.state.next(this.current());
  }

  /** undefined for a service this gateway does not know. */
  check(service: string): ServingStatus | undefined {
    return (HEALTH_SERVICES as readonly string[]).includes(service) ? this.current() : undefined;
  }

  all(): Record<string, ServingStatus> {
    const s = this.current();
    return Object.fromEntries(HEALTH_SERVICES.map((name) => [name, s]));
  }

  /** The status now and on every change; SERVICE_UNKNOWN for an unknown service, as the protocol asks. */
  watch(service: string): Observable<ServingStatus> {
    this.refresh();
    const known = (HEALTH_SERVICES as readonly string[]).includes(service);
    return this.state.pipe(
      map((s) => (known ? s : Status.SERVICE_UNKNOWN)),
      distinctUntilChanged(),
      takeUntil(this.stop),
    );
  }

  onApplicationShutdown(): void {
    this.end();
  }
}
