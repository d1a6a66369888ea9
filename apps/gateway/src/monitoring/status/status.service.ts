import { Injectable } from '@nestjs/common';
import { instanceToPlain } from 'class-transformer';
import { ConnectorsSection, DataSourceSection, GatewaySection, JwtValidationSection, LoggingSection, MonitoringSection, SessionsSection, VadSection } from '@app/config';
import { ConnectorRegistry } from '@app/connector-sdk';
import { defaultInput } from '@app/engine';
import { HEALTH_SERVICES, HealthService } from '../../health/health.service';
import { DrainService } from '../../lifecycle/drain.service';
import { TlsCertificates } from '../../tls/tls-certificates.service';
import { CallLogService } from '../call-log/call-log.service';
import { redactConfig } from '../config-view/redact';
import type { StatusReader } from '../monitoring-readers';
import type { AgentDto } from '../api/dto/agent.dto';
import type { ConfigViewDto } from '../api/dto/config.dto';
import type { StatusDto } from '../api/dto/status.dto';
import { gatewayVersion } from './version';

/** uptime as the Python dashboard showed it, but real: `2d 3h 4m 5s`. */
function humanUptime(seconds: number): string {
  const s = Math.floor(seconds);
  const parts = [[Math.floor(s / 86400), 'd'], [Math.floor((s % 86400) / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']] as const;
  const first = parts.findIndex(([n]) => n > 0);
  return first === -1 ? '0s' : parts.slice(first).map(([n, u]) => `${n}${u}`).join(' ');
}

/** What the status, agents and config routes report, read live from the gateway's parts. */
@Injectable()
export class StatusService implements StatusReader {
  readonly version = gatewayVersion();
  private readonly startedAt = Date.now();

  constructor(
    private readonly health: HealthService,
    private readonly drain: DrainService,
    private readonly registry: ConnectorRegistry,
    private readonly callLog: CallLogService,
    private readonly gateway: GatewaySection,
    private readonly sessions: SessionsSection,
    private readonly vad: VadSection,
    private readonly connectors: ConnectorsSection,
    private readonly monitoring: MonitoringSection,
    private readonly logging: LoggingSection,
    private readonly tls: TlsCertificates,
    private readonly jwt: JwtValidationSection,
    private readonly dataSource: DataSourceSection,
  ) {}

  /** Liveness: answered by the main thread, so a wedged event loop fails the probe (the HTTP server has its own thread). */
  alive(): boolean {
    return true;
  }

  /** Ready for calls: serving (an agent, not draining). */
  ready(): boolean {
    return this.health.serving();
  }

  status(now = Date.now()): StatusDto {
    const serving = this.health.serving();
    const vad = this.health.vad();
    const connectorHealth = this.health.connectors();
    const connectors = Object.entries(this.connectors)
      .filter(([, e]) => e.enabled)
      .map(([id, e]) => {
        const h = connectorHealth[id];
        return { id, type: e.type ?? e.module ?? e.class ?? '', agents: this.registry.agents().filter((a) => a.connectorId === id).length, degraded: h?.degraded ?? false, health: h };
      });
    const degraded = vad.degraded !== undefined || connectors.some((c) => c.degraded);
    const agents = this.registry.agents();
    const counts = this.callLog.counts();
    const uptime = (now - this.startedAt) / 1000;
    const grpcStatus = serving ? 'SERVING' : 'NOT_SERVING';
    const services = Object.fromEntries(HEALTH_SERVICES.map((s) => [s, grpcStatus]));
    return {
      // The Python gateway's fields (existing scripts read them), now with real values.
      status: 'running',
      available_agents: agents.map((a) => a.id),
      active_sessions: this.callLog.active({ limit: this.sessions.max_sessions }).items.map((c) => c.id),
      total_agents: agents.length,
      total_sessions: counts.active,
      total_connectors: connectors.length,
      uptime: humanUptime(uptime),
      last_updated: new Date(now).toISOString(),
      health: {
        overall_healthy: serving && !degraded,
        grpc_status: serving ? (degraded ? 'DEGRADED' : 'SERVING') : 'NOT_SERVING',
        services,
        serving_services: serving ? HEALTH_SERVICES.length : 0,
        total_services: HEALTH_SERVICES.length,
      },
      // This gateway's own.
      version: this.version,
      started_at: new Date(this.startedAt).toISOString(),
      uptime_seconds: Math.round(uptime),
      grpc: { serving, address: `${this.gateway.host}:${this.gateway.port}` },
      draining: this.drain.draining,
      vad: { engine: vad.kind, configured: this.vad.engine, degraded: vad.degraded !== undefined, reason: vad.degraded },
      connectors,
      agent_count: agents.length,
      conversations: { active: counts.active, total: counts.total, history: counts.history },
      data_source: this.health.dataSource(),
      tls: this.tls.status(),
    };
  }

  agents(): AgentDto[] {
    return this.registry.agents().map((a) => {
      const d = a.defaults;
      return {
        id: a.id,
        name: a.name,
        connector: a.connectorId,
        isDefault: a.isDefault,
        replyMode: d.reply_mode,
        endpointing: a.endpointing,
        // What a call of this agent is asked to collect until the agent says otherwise.
        input: defaultInput(d),
      };
    });
  }

  /** The effective configuration (file, defaults and environment overrides), secrets redacted, plus the Python gateway's summary. */
  config(): ConfigViewDto {
    const effective = redactConfig(
      instanceToPlain({
        gateway: this.gateway,
        sessions: this.sessions,
        voice_activity_detection: this.vad,
        connectors: this.connectors,
        monitoring: this.monitoring,
        logging: this.logging,
        jwt_validation: this.jwt,
        data_source: this.dataSource,
      }),
    ) as Record<string, unknown>;
    const agents = this.registry.agents();
    return {
      config: effective,
      gateway: { name: this.gateway.name ?? 'BYOVA Gateway', version: this.version, host: this.gateway.host, grpc_port: this.gateway.port, web_port: this.monitoring.port },
      connectors: Object.entries(this.connectors)
        .filter(([, e]) => e.enabled)
        .map(([id]) => ({ name: id, agents: agents.filter((a) => a.connectorId === id).map((a) => a.id) })),
      monitoring: { enabled: this.monitoring.enabled, host: this.monitoring.host, port: this.monitoring.port },
    };
  }
}
