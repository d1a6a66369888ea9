import { Gauge, type Registry } from 'prom-client';
import type { TlsCertificates } from './tls-certificates.service';

/**
 * `byova_tls_certificate_expiry_days{listener="grpc"|"monitoring"}`: days until each TLS listener's certificate
 * expires (negative once expired), read when a scrape collects. Listeners without TLS have no series. The
 * monitoring module's metrics call this with their registry.
 */
export function registerTlsExpiryGauge(registry: Registry, certificates: TlsCertificates): Gauge<'listener'> {
  return new Gauge({
    name: 'byova_tls_certificate_expiry_days',
    help: 'Days until the TLS certificate served by a listener expires (negative once expired)',
    labelNames: ['listener'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of certificates.status()) this.set({ listener: s.listener }, Math.round(s.daysUntilExpiry * 1000) / 1000);
    },
  });
}
