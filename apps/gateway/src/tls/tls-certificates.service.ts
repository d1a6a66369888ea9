import type { Server as TlsServer } from 'node:tls';
import type { OnApplicationShutdown } from '@nestjs/common';
import type { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import type { LoadedConfig, Logger } from '@app/config';
import { RotatingServerCredentials } from './rotating-server-credentials';
import { type ListenerName, monitoringTlsListener, TlsListener, type TlsListenerStatus } from './tls-listener';

/**
 * The certificates of the gateway's TLS listeners (gRPC: gateway.tls; monitoring HTTPS: monitoring.tls), checked
 * at start-up and rotated without a restart. Made before the Nest application (the servers need them when they
 * are created) and injectable afterwards (TlsModule), e.g. for a days-until-expiry metric.
 */
export class TlsCertificates implements OnApplicationShutdown {
  private readonly listeners = new Map<ListenerName, TlsListener>();

  /** Throws a TlsFileError naming the config key and file when a certificate, key or CA file cannot be used. */
  constructor(loaded: LoadedConfig, logger: Logger) {
    const { gateway } = loaded.config;
    if (gateway.tls?.enabled) this.listeners.set('grpc', new TlsListener('grpc', gateway.tls, 'gateway.tls', loaded.baseDir, logger));
    const mon = monitoringTlsListener(loaded, logger);
    if (mon) this.listeners.set('monitoring', mon);
  }

  /** Whether a listener serves TLS. */
  enabled(listener: ListenerName): boolean {
    return this.listeners.has(listener);
  }

  /**
   * Days until the listener's certificate expires (fractional, negative once expired), for a gauge such as
   * `byova_tls_certificate_expiry_days{listener}`; undefined when that listener has no TLS.
   */
  daysUntilExpiry(listener: ListenerName = 'grpc'): number | undefined {
    return this.listeners.get(listener)?.daysUntilExpiry();
  }

  /** What each TLS listener serves now (for a status page). */
  status(): TlsListenerStatus[] {
    return [...this.listeners.values()].map((l) => l.status());
  }

  /** Reads every listener's files again now (the watchers do it on their own). */
  reload(): void {
    for (const l of this.listeners.values()) l.reload();
  }

  /** gRPC server credentials that follow the files; undefined (plaintext) without gateway.tls. */
  grpcCredentials(): ServerCredentials | undefined {
    const l = this.listeners.get('grpc');
    if (!l) return undefined;
    const creds = new RotatingServerCredentials(l.serverOptions(), l.contextOptions());
    l.onRotate((ctx) => creds.update(ctx));
    return creds;
  }

  /**
   * Called with the grpc-js server once it is bound: under client_auth optional, connections with a certificate
   * that does not verify are closed. grpc-js does not expose its HTTP/2 servers, so this reads its (long-stable)
   * private map; if that ever changes, start-up fails here rather than accept unverified certificates.
   */
  guardGrpcServer(server: GrpcServer): void {
    const l = this.listeners.get('grpc');
    if (l?.clientAuth !== 'optional') return;
    const http2Servers = (server as unknown as { http2Servers?: Map<TlsServer, unknown> }).http2Servers;
    if (!(http2Servers instanceof Map) || http2Servers.size === 0) {
      throw new Error('gateway.tls.client_auth optional: cannot reach the gRPC server\'s TLS listener (grpc-js changed?); use require or none');
    }
    for (const s of http2Servers.keys()) l.guardOptionalClientAuth(s);
  }

  /**
   * The monitoring HTTPS server is in its worker thread, which follows the files with its own quiet copy; this one
   * follows them too, for the status, the expiry metric and the log.
   */
  followMonitoringFiles(): void {
    this.listeners.get('monitoring')?.watch();
  }

  /** Stops watching the files. */
  close(): void {
    for (const l of this.listeners.values()) l.stop();
  }

  onApplicationShutdown(): void {
    this.close();
  }
}
