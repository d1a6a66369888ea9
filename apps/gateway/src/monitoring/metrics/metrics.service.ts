import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JwtMetrics } from '../../jwt-auth/jwt-metrics.service';
import { RequestRejections } from '../../rpc/request-rejections.service';
import { ConnectorRegistry } from '@app/connector-sdk';
import { SPEECH_ENDPOINTER_FACTORY, type SpeechEndpointerFactory } from '@app/endpointing';
import { ConversationEngine, type EngineEvent, EngineEvents } from '@app/engine';
import { HealthService } from '../../health/health.service';
import { DrainService } from '../../lifecycle/drain.service';
import { TlsCertificates } from '../../tls/tls-certificates.service';
import { registerTlsExpiryGauge } from '../../tls/tls-metrics';
import { PendingCounts, PendingObservations } from './pending';
import type { MetricsReader } from '../monitoring-readers';

const NO_LABELS = () => ({});
const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

/**
 * Prometheus metrics, in a registry of this application's own (not prom-client's global one, so several
 * gateways in one process never collide). Labels are bounded: methods, status codes, end reasons, connector
 * ids from the config, connector call kinds; never a conversation id.
 */
@Injectable()
export class MetricsService implements MetricsReader, OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();
  private unsubscribe?: () => void;
  // Per event only plain maps and numbers change; prom-client gets them when a scrape collects (see pending.ts).
  private readonly rpcs: PendingCounts<'method' | 'code'>;
  private activeRpcs = 0;
  private started = 0;
  private readonly endedTotal: PendingCounts<'reason'>;
  private readonly welcome: PendingObservations<never>;
  private readonly firstReply: PendingObservations<never>;
  private readonly connectorLatency: PendingObservations<'connector' | 'op'>;
  private readonly connectorErrors: PendingCounts<'connector' | 'op' | 'kind'>;
  private readonly inferenceRuns: Counter;
  private readonly inferenceWindows: Counter;
  private seen = { runs: 0, windows: 0 };

  constructor(
    private readonly events: EngineEvents,
    engine: ConversationEngine,
    registry: ConnectorRegistry,
    health: HealthService,
    drain: DrainService,
    @Inject(SPEECH_ENDPOINTER_FACTORY) vad: SpeechEndpointerFactory,
    jwt: JwtMetrics,
    tls: TlsCertificates,
    rejections: RequestRejections,
  ) {
    const r = [this.registry];
    const self = this;
    collectDefaultMetrics({ register: this.registry });
    registerTlsExpiryGauge(this.registry, tls);
    this.rpcs = new PendingCounts(
      new Counter({ name: 'byova_rpcs_total', help: 'gRPC calls ended, by method and status code', labelNames: ['method', 'code'], registers: r, collect: () => this.rpcs.flush() }),
    );
    new Gauge({
      name: 'byova_active_rpcs',
      help: 'ProcessCallerInput RPCs bound to a conversation and running',
      registers: r,
      collect() {
        this.set(self.activeRpcs);
      },
    });
    new Gauge({
      name: 'byova_active_conversations',
      help: 'Conversations this process runs now',
      registers: r,
      collect() {
        this.set(engine.conversationCount);
      },
    });
    new Counter({
      name: 'byova_conversations_started_total',
      help: 'Conversations started (or picked up) by this process',
      registers: r,
      collect() {
        this.reset();
        this.inc(self.started);
      },
    });
    this.endedTotal = new PendingCounts(
      new Counter({ name: 'byova_conversations_ended_total', help: 'Conversations ended, by reason', labelNames: ['reason'], registers: r, collect: () => this.endedTotal.flush() }),
    );
    this.welcome = new PendingObservations(
      new Histogram({ name: 'byova_welcome_latency_seconds', help: 'SESSION_START to the first response of the welcome', buckets: LATENCY_BUCKETS, registers: r, collect: () => this.welcome.flush() }),
    );
    this.firstReply = new PendingObservations(
      new Histogram({
        name: 'byova_first_reply_latency_seconds',
        help: "End of the caller's input (speech end, DTMF, event, no input) to the first response of the reply",
        buckets: LATENCY_BUCKETS,
        registers: r,
        collect: () => this.firstReply.flush(),
      }),
    );
    this.connectorLatency = new PendingObservations(
      new Histogram({
        name: 'byova_connector_call_duration_seconds',
        help: 'Connector calls (start, an input, listen, end) until their reply was complete',
        labelNames: ['connector', 'op'],
        buckets: LATENCY_BUCKETS,
        registers: r,
        collect: () => this.connectorLatency.flush(),
      }),
    );
    this.connectorErrors = new PendingCounts(
      new Counter({
        name: 'byova_connector_call_errors_total',
        help: 'Connector calls that failed (error) or missed their deadline (timeout)',
        labelNames: ['connector', 'op', 'kind'],
        registers: r,
        collect: () => this.connectorErrors.flush(),
      }),
    );
    new Gauge({
      name: 'byova_connector_degraded',
      help: "1 when a connector reports itself degraded (e.g. Lex discovery failing, a bot's circuit open)",
      labelNames: ['connector'],
      registers: r,
      collect() {
        for (const [id, h] of Object.entries(registry.connectorHealth())) this.set({ connector: id }, h.degraded ? 1 : 0);
      },
    });
    new Gauge({
      name: 'byova_grpc_serving',
      help: '1 while the gRPC health service reports SERVING',
      registers: r,
      collect() {
        this.set(health.serving() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'byova_draining',
      help: '1 once the gateway is shutting down',
      registers: r,
      collect() {
        this.set(drain.draining ? 1 : 0);
      },
    });
    new Gauge({
      name: 'byova_vad_info',
      help: 'The speech detector in use (label engine), always 1',
      labelNames: ['engine'],
      registers: r,
      collect() {
        this.reset();
        this.set({ engine: vad.kind }, 1);
      },
    });
    new Gauge({
      name: 'byova_vad_degraded',
      help: '1 when the speech detector is not the configured one or its inference is failing',
      registers: r,
      collect() {
        this.set(vad.degraded === undefined ? 0 : 1);
      },
    });
    // Registered before the counters it updates: a scrape collects metrics in registration order.
    new Gauge({
      name: 'byova_vad_inference_batch_max',
      help: 'Largest Silero inference batch so far (absent with the energy detector)',
      registers: r,
      collect() {
        const s = vad.inference;
        if (s === undefined) return;
        self.syncInference(s.runs, s.windows);
        this.set(s.maxBatch);
      },
    });
    // The token check keeps its own totals (jwt-auth); read at scrape time.
    new Counter({
      name: 'byova_jwt_accepted_total',
      help: 'BYOVA RPCs whose WxCC token was accepted',
      registers: r,
      collect() {
        this.reset();
        this.inc(jwt.snapshot().accepted);
      },
    });
    new Counter({
      name: 'byova_jwt_refused_total',
      help: 'BYOVA RPCs whose WxCC token failed a check, by reason; enforced="false": let through (enforce_validation false)',
      labelNames: ['reason', 'enforced'],
      registers: r,
      collect() {
        this.reset();
        const s = jwt.snapshot();
        for (const [reason, n] of Object.entries(s.refused)) if (n) this.inc({ reason, enforced: 'true' }, n);
        for (const [reason, n] of Object.entries(s.notEnforced)) if (n) this.inc({ reason, enforced: 'false' }, n);
      },
    });
    new Counter({
      name: 'byova_jwt_key_fetches_total',
      help: 'Fetches of the identity brokers\' signing keys, by outcome',
      labelNames: ['outcome'],
      registers: r,
      collect() {
        this.reset();
        const s = jwt.snapshot();
        this.inc({ outcome: 'ok' }, s.keyFetches.ok);
        this.inc({ outcome: 'failed' }, s.keyFetches.failed);
      },
    });
    new Counter({
      name: 'byova_requests_rejected_total',
      help: 'BYOVA requests refused with INVALID_ARGUMENT because they could not be decoded, by reason (malformed, invalid_utf8, too_deep)',
      labelNames: ['reason'],
      registers: r,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(rejections.snapshot())) this.inc({ reason }, n);
      },
    });
    this.inferenceRuns = new Counter({ name: 'byova_vad_inference_runs_total', help: 'Silero inference runs (batched across calls)', registers: r });
    this.inferenceWindows = new Counter({
      name: 'byova_vad_inference_windows_total',
      help: 'Silero windows scored; divided by runs, the mean inference batch size',
      registers: r,
    });
  }

  /** The counters follow the detector's own totals, read at scrape time: nothing is done per window here. */
  private syncInference(runs: number, windows: number): void {
    this.inferenceRuns.inc(Math.max(0, runs - this.seen.runs));
    this.inferenceWindows.inc(Math.max(0, windows - this.seen.windows));
    this.seen = { runs, windows };
  }

  onModuleInit(): void {
    this.unsubscribe = this.events.subscribe((e) => this.onEvent(e));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** The metrics in Prometheus text format. */
  async text(): Promise<{ contentType: string; body: string }> {
    this.events.flush();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private onEvent(e: EngineEvent): void {
    switch (e.type) {
      case 'conversation_started':
        this.started++;
        return;
      case 'conversation_ended':
        return this.endedTotal.inc(e.reason, () => ({ reason: e.reason }));
      case 'rpc_started':
        this.activeRpcs++;
        return;
      case 'rpc_ended':
        if (e.started) this.activeRpcs--;
        return this.rpcs.inc(`${e.method} ${e.status}`, () => ({ method: e.method, code: e.status }));
      case 'reply':
        if (e.latencyMs === undefined) return;
        return (e.welcome ? this.welcome : this.firstReply).observe('', NO_LABELS, e.latencyMs / 1000);
      case 'connector_call': {
        if (e.outcome === 'aborted') return;
        const key = `${e.connectorId} ${e.op}`;
        this.connectorLatency.observe(key, () => ({ connector: e.connectorId, op: e.op }), e.durationMs / 1000);
        if (e.outcome !== 'ok') this.connectorErrors.inc(`${key} ${e.outcome}`, () => ({ connector: e.connectorId, op: e.op, kind: e.outcome }));
        return;
      }
    }
  }
}
