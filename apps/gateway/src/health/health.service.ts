import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { BehaviorSubject, distinctUntilChanged, map, Observable, ReplaySubject, takeUntil } from 'rxjs';
import { LOGGER, type Logger } from '@app/config';
import { ConnectorRegistry, type ConnectorHealth } from '@app/connector-sdk';
import { SPEECH_ENDPOINTER_FACTORY, type SpeechEndpointerFactory } from '@app/endpointing';
import { BYOVA_SERVICE, health } from '@app/proto';
import { DrainService } from '../lifecycle/drain.service';

const { HealthCheckResponse_ServingStatus: Status } = health;
type ServingStatus = health.HealthCheckResponse_ServingStatus;

/** Services this gateway reports on: the server as a whole ("") and BYOVA's service. */
export const HEALTH_SERVICES = ['', BYOVA_SERVICE] as const;

/** Which speech detector the gateway runs; `degraded` says why it is not the configured one (or is failing). */
export interface VadHealth {
  kind: string;
  degraded?: string;
}

/**
 * Serving while at least one agent is available and the gateway is not draining. A degraded speech
 * detector does not change that (calls are still served, by the energy detector), it is reported by vad().
 */
@Injectable()
export class HealthService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly state = new BehaviorSubject<ServingStatus>(Status.UNKNOWN);
  // Replays, so a Watch opened in the last moments of a shutdown ends too.
  private readonly stop = new ReplaySubject<void>(1);

  constructor(
    private readonly registry: ConnectorRegistry,
    private readonly drain: DrainService,
    @Inject(SPEECH_ENDPOINTER_FACTORY) private readonly endpointers: SpeechEndpointerFactory,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
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

  onApplicationBootstrap(): void {
    const vad = this.vad();
    if (vad.degraded) this.log.warn({ vad }, 'speech detection degraded');
    else this.log.info({ vad }, `speech detection: ${vad.kind}`);
    for (const [connector, health] of Object.entries(this.connectors())) {
      if (health.degraded) this.log.warn({ connector, health }, 'connector reports itself degraded; its calls are still served');
    }
  }

  /** Read live: a Silero detector can become degraded at run time (inference failing). */
  vad(): VadHealth {
    const { kind, degraded } = this.endpointers;
    return degraded === undefined ? { kind } : { kind, degraded };
  }

  /** Serving now (at least one agent, not draining). */
  serving(): boolean {
    return this.current() === Status.SERVING;
  }

  /**
   * Each connector's own health (those that report one), read now. A degraded connector does not make the
   * gateway NOT_SERVING: its calls are still answered (the apology, a transfer), and every replica shares
   * the same backend, so taking replicas out would only drop the calls they serve. It is reported instead.
   */
  connectors(): Record<string, ConnectorHealth> {
    return this.registry.connectorHealth();
  }

  /** Something serves below what was configured: the speech detector, or a connector. */
  degraded(): boolean {
    return this.vad().degraded !== undefined || Object.values(this.connectors()).some((h) => h.degraded);
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
