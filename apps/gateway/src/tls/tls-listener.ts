import { type FSWatcher, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SecureContextOptions, SecureVersion, Server as TlsServer, TLSSocket } from 'node:tls';
import { type ClientAuthMode, effectiveMonitoringTls, type LoadedConfig, type Logger, type TlsSettings } from '@app/config';
import { daysUntil, loadPemPair, type PemPair, type TlsFiles, validityProblem } from './pem-pair';

export type ListenerName = 'grpc' | 'monitoring';

/** The oldest protocol offered: TLS 1.0/1.1 are deprecated (RFC 8996). */
export const MIN_TLS_VERSION: SecureVersion = 'TLSv1.2';
/** Changes to the files come in bursts (cert, then key; or a symlink swap): one reload after they settle. */
export const RELOAD_DEBOUNCE_MS = 250;
/** A client that opens a connection and does not finish the handshake is dropped after this (Node's default: 120 s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** At start-up, a certificate this close to expiry is worth a warning. */
const EXPIRY_WARNING_DAYS = 14;

export interface TlsListenerStatus {
  listener: ListenerName;
  clientAuth: ClientAuthMode;
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprint256: string;
  notBefore: string;
  notAfter: string;
  daysUntilExpiry: number;
  /** When the files were last (re)loaded, and how many times a new pair was taken since start-up. */
  loadedAt: string;
  reloads: number;
  /** Why the files on disk are not served (a half-replaced pair, an unreadable file), while the previous pair is. */
  lastError?: string;
}

/**
 * One TLS listener's certificate: loaded and checked at start-up (a problem throws, naming the file), then watched.
 * The directories holding the files are watched (a file replaced by rename, or Kubernetes' symlink swap of a
 * mounted secret, fires on the directory, not on the old file) and the files are also read again every
 * `watch_interval_seconds`. A new pair is taken only once it checks out as a whole, so a certificate and key
 * replaced one after the other are switched together; until then the previous pair keeps being served.
 */
export class TlsListener {
  readonly files: TlsFiles;
  private pair: PemPair;
  private loadedAt = new Date();
  private reloads = 0;
  private lastError?: string;
  private readonly subscribers = new Set<(ctx: SecureContextOptions) => void>();
  private watchers: FSWatcher[] = [];
  private poll?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    readonly name: ListenerName,
    private readonly settings: TlsSettings,
    prefix: string,
    baseDir: string,
    logger: Logger,
  ) {
    this.log = logger.child({ context: 'TlsCertificates', listener: name });
    const asks = settings.client_auth !== 'none';
    this.files = {
      prefix,
      cert_file: resolve(baseDir, settings.cert_file),
      key_file: resolve(baseDir, settings.key_file),
      client_ca_file: asks && settings.client_ca_file ? resolve(baseDir, settings.client_ca_file) : undefined,
    };
    this.pair = loadPemPair(this.files);
    const leaf = this.pair.leaf;
    this.log.info(
      { file: this.files.cert_file, subject: leaf.subject, serialNumber: leaf.serialNumber, notAfter: new Date(leaf.validTo).toISOString(), clientAuth: settings.client_auth },
      'TLS certificate loaded',
    );
    this.warnOnDates('at start-up');
  }

  get clientAuth(): ClientAuthMode {
    return this.settings.client_auth;
  }

  /** Options fixed for the server's life: what is asked of clients, and the oldest protocol. */
  serverOptions(): { requestCert: boolean; rejectUnauthorized: boolean; minVersion: SecureVersion; handshakeTimeout: number } {
    return {
      requestCert: this.clientAuth !== 'none',
      rejectUnauthorized: this.clientAuth === 'require',
      minVersion: MIN_TLS_VERSION,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    };
  }

  /** The current pair as secure-context options (what a rotation replaces). */
  contextOptions(): SecureContextOptions {
    const { cert, key, ca } = this.pair;
    return { cert, key, ...(ca ? { ca } : {}), minVersion: MIN_TLS_VERSION };
  }

  /** Both, for a server created with them (https.createServer, Nest's httpsOptions). */
  serverAndContextOptions(): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
    return { ...this.serverOptions(), ...this.contextOptions() };
  }

  /** Calls `fn` with the new context options whenever a new pair is taken; starts watching on the first call. */
  onRotate(fn: (ctx: SecureContextOptions) => void): void {
    this.subscribers.add(fn);
    this.start();
  }

  /** Follows the files with no server to update (status and metrics of a listener another thread serves). */
  watch(): void {
    this.start();
  }

  /** Called with an HTTPS server once created: it follows the files, and client_auth optional is enforced. */
  serve(server: TlsServer): void {
    this.guardOptionalClientAuth(server);
    this.onRotate((ctx) => server.setSecureContext(ctx));
  }

  /**
   * Under `client_auth: optional` Node lets a connection through whatever certificate the client showed; the gateway
   * closes one whose certificate did not verify (no certificate at all stays allowed). Call it on the TLS server.
   */
  guardOptionalClientAuth(server: TlsServer): void {
    if (this.clientAuth !== 'optional') return;
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      if (socket.authorized || !socket.getPeerCertificate()?.raw) return;
      this.log.debug({ remote: socket.remoteAddress, reason: socket.authorizationError }, 'client certificate refused');
      socket.destroy();
    });
  }

  daysUntilExpiry(now = Date.now()): number {
    return daysUntil(this.pair.leaf, now);
  }

  status(now = Date.now()): TlsListenerStatus {
    const leaf = this.pair.leaf;
    return {
      listener: this.name,
      clientAuth: this.clientAuth,
      subject: leaf.subject,
      issuer: leaf.issuer,
      serialNumber: leaf.serialNumber,
      fingerprint256: leaf.fingerprint256,
      notBefore: new Date(leaf.validFrom).toISOString(),
      notAfter: new Date(leaf.validTo).toISOString(),
      daysUntilExpiry: this.daysUntilExpiry(now),
      loadedAt: this.loadedAt.toISOString(),
      reloads: this.reloads,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Reads the files again; takes them if they changed and check out. Returns whether a new pair was taken. */
  reload(): boolean {
    let next: PemPair;
    try {
      next = loadPemPair(this.files);
    } catch (e) {
      const message = (e as Error).message;
      // Once per distinct problem: a file being replaced is seen on every event and poll until it is complete.
      if (message !== this.lastError) this.log.warn({ problem: message }, 'certificate files changed but cannot be used yet; still serving the previous certificate');
      this.lastError = message;
      return false;
    }
    this.lastError = undefined;
    if (next.digest === this.pair.digest) return false;
    this.pair = next;
    this.loadedAt = new Date();
    this.reloads++;
    this.log.info(
      { serialNumber: next.leaf.serialNumber, fingerprint256: next.leaf.fingerprint256, notAfter: new Date(next.leaf.validTo).toISOString() },
      'new certificate taken: new connections use it, open ones keep theirs',
    );
    this.warnOnDates('after reload');
    const ctx = this.contextOptions();
    for (const fn of this.subscribers) {
      try {
        fn(ctx);
      } catch (err) {
        this.log.error({ err }, 'a server did not take the new certificate');
      }
    }
    return true;
  }

  stop(): void {
    for (const w of this.watchers.splice(0)) w.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    this.poll = undefined;
    this.subscribers.clear();
  }

  private start(): void {
    if (this.poll) return;
    const dirs = new Set([this.files.cert_file, this.files.key_file, this.files.client_ca_file].filter((f): f is string => !!f).map((f) => dirname(f)));
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.scheduleReload());
        w.on('error', (err) => {
          // The folder went away or the watch broke: the periodic check still runs.
          this.log.warn({ err, dir }, 'watching the certificate folder stopped; relying on the periodic check');
          w.close();
        });
        this.watchers.push(w);
      } catch (err) {
        this.log.warn({ err, dir }, 'cannot watch the certificate folder; relying on the periodic check');
      }
    }
    this.poll = setInterval(() => this.reload(), this.settings.watch_interval_seconds * 1000).unref();
  }

  private scheduleReload(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.reload(), RELOAD_DEBOUNCE_MS).unref();
  }

  private warnOnDates(when: string): void {
    const { leaf } = this.pair;
    const problem = validityProblem(leaf);
    const at = { file: this.files.cert_file, notAfter: new Date(leaf.validTo).toISOString(), subject: leaf.subject };
    if (problem) this.log.warn(at, `${this.files.prefix}.cert_file: the certificate in ${this.files.cert_file} is ${problem} (${when}); clients will refuse it`);
    else if (this.daysUntilExpiry() < EXPIRY_WARNING_DAYS) {
      this.log.warn(at, `${this.files.prefix}.cert_file: the certificate in ${this.files.cert_file} expires in ${Math.floor(this.daysUntilExpiry())} days`);
    }
  }
}

/** The monitoring server's listener (monitoring.tls, or gateway.tls with same_as_gateway); undefined for plain HTTP. */
export function monitoringTlsListener(loaded: LoadedConfig, logger: Logger): TlsListener | undefined {
  const { gateway, monitoring } = loaded.config;
  const settings = monitoring.enabled ? effectiveMonitoringTls(gateway.tls, monitoring.tls) : undefined;
  if (!settings) return undefined;
  return new TlsListener('monitoring', settings, monitoring.tls?.same_as_gateway ? 'gateway.tls' : 'monitoring.tls', loaded.baseDir, logger);
}
