import { readFileSync, renameSync, writeFileSync, copyFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '@app/config';
import { TlsCertificates } from '../../apps/gateway/src/tls/tls-certificates.service';
import { HANDSHAKE_TIMEOUT_MS } from '../../apps/gateway/src/tls/tls-listener';
import { MetricsService } from '../../apps/gateway/src/monitoring/metrics/metrics.service';
import { runGatewayToExit, removeTempConfigs, stackLines, tempConfig } from '../support/child-gateway';
import { type IssuedCert, type TestCa, TestPki } from '../support/test-certs';
import { eventually, ok, sleep, speechBurst, startTestGateway, type TestGateway } from './harness';
import { encodeFromPcm16 } from '@app/audio';
import { runCli } from '@app/simulator';

let pki: TestPki;
let ca: TestCa;
let otherCa: TestCa;
let server: IssuedCert;
let client: IssuedCert;
let strangerClient: IssuedCert;

beforeAll(() => {
  pki = new TestPki();
  ca = pki.ca('test-ca');
  otherCa = pki.ca('other-ca');
  server = ca.issue('server');
  client = ca.issue('client', { cn: 'wxcc-client', usage: 'client' });
  strangerClient = otherCa.issue('stranger', { cn: 'stranger', usage: 'client' });
});
afterAll(() => {
  pki.cleanup();
  removeTempConfigs();
});

const read = (f: string) => readFileSync(f);

/** gRPC channel credentials trusting the test CA, with a client certificate if given. */
function creds(clientCert?: IssuedCert): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(read(ca.cert), clientCert ? read(clientCert.key) : null, clientCert ? read(clientCert.cert) : null);
}

/** A raw TLS handshake with the server (ALPN h2); resolves with what was negotiated, or rejects with the error. */
function handshake(port: number, opts: ConnectionOptions = {}): Promise<{ alpn: string | false | null; protocol: string | null; peer: PeerCertificate; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: read(ca.cert), ALPNProtocols: ['h2'], ...opts });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('handshake timed out'));
    }, 3000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      const out = { alpn: s.alpnProtocol, protocol: s.getProtocol(), peer: s.getPeerCertificate(), authorized: s.authorized };
      s.destroy();
      resolve(out);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const portOf = (target: string) => Number(target.split(':').at(-1));

function tlsGateway(tls: Record<string, unknown>, extra: Record<string, any> = {}, logs?: Record<string, unknown>[]): Promise<TestGateway> {
  return startTestGateway({ ...extra, gateway: { ...(extra.gateway ?? {}), tls: { cert_file: server.cert, key_file: server.key, ...tls } } }, { logs });
}

/** The certificate names localhost; the harness's target is 127.0.0.1. `own`: a connection of its own. */
const nameOverride = (own = false): grpc.ChannelOptions => ({ 'grpc.ssl_target_name_override': 'localhost', ...(own ? { 'grpc.use_local_subchannel_pool': 1 } : {}) });

/** ListVirtualAgents with the given credentials: 'ok' or the gRPC status name. */
async function listWith(t: TestGateway, credentials: grpc.ChannelCredentials): Promise<string> {
  const c = t.caller({ credentials, deadlineMs: 3000, channelOptions: nameOverride(true) });
  try {
    await c.listAgents();
    return 'ok';
  } catch (e) {
    return grpc.status[(e as grpc.ServiceError).code] ?? String((e as grpc.ServiceError).code);
  } finally {
    c.close();
  }
}

describe('gRPC over TLS (gateway.tls)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await tlsGateway({});
  });
  afterAll(() => t.stop());

  it('serves calls over TLS to a client trusting the CA, with HTTP/2 negotiated by ALPN', async () => {
    expect(await listWith(t, creds())).toBe('ok');
    const c = t.caller({ credentials: creds(), channelOptions: nameOverride() });
    ok(await c.startSession());
    ok(await c.sendDtmf('1'));
    const h = await handshake(portOf(t.target));
    expect(h).toMatchObject({ alpn: 'h2', authorized: true });
    expect(['TLSv1.2', 'TLSv1.3']).toContain(h.protocol);
    expect(h.peer.serialNumber).toBe(server.serial);
    // HTTP/2 only: a client offering nothing but HTTP/1.1 is refused in the handshake.
    await expect(handshake(portOf(t.target), { ALPNProtocols: ['http/1.1'] })).rejects.toThrow(/no application protocol/);
  });

  it('refuses a plaintext (h2c) client', async () => {
    expect(await listWith(t, grpc.credentials.createInsecure())).toBe('UNAVAILABLE');
  });

  it('refuses TLS 1.1 and accepts TLS 1.2', async () => {
    // SECLEVEL=0 so the client itself is willing to speak TLS 1.1: the refusal must come from the server.
    await expect(handshake(portOf(t.target), { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow(
      /protocol version|unsupported protocol|no protocols available/i,
    );
    expect((await handshake(portOf(t.target), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
  });

  it('drops a connection that never finishes its handshake after HANDSHAKE_TIMEOUT_MS', async () => {
    const s = netConnect({ host: '127.0.0.1', port: portOf(t.target) });
    const t0 = Date.now();
    await new Promise<void>((resolve) => s.once('close', () => resolve()));
    const after = Date.now() - t0;
    expect(after).toBeGreaterThan(HANDSHAKE_TIMEOUT_MS - 500);
    expect(after).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 3000);
  }, 20_000);

  it('exposes days until expiry for the grpc listener (none for plain-HTTP monitoring)', () => {
    const certs = t.gw.app.get(TlsCertificates);
    expect(certs.daysUntilExpiry('grpc')).toBeGreaterThan(29);
    expect(certs.daysUntilExpiry('grpc')).toBeLessThan(31);
    expect(certs.daysUntilExpiry('monitoring')).toBeUndefined();
    expect(certs.status()).toEqual([expect.objectContaining({ listener: 'grpc', clientAuth: 'none', serialNumber: server.serial, reloads: 0 })]);
  });
});

describe('mutual TLS (client_auth)', () => {
  it('require: a client certificate from the CA is accepted; none, or one from another CA, is refused', async () => {
    const t = await tlsGateway({ client_ca_file: ca.cert, client_auth: 'require' });
    try {
      expect(await listWith(t, creds(client))).toBe('ok');
      expect(await listWith(t, creds())).toBe('UNAVAILABLE');
      expect(await listWith(t, creds(strangerClient))).toBe('UNAVAILABLE');
      // And a call runs end to end with the good one.
      const c = t.caller({ credentials: creds(client), channelOptions: nameOverride() });
      ok(await c.startSession());
    } finally {
      await t.stop();
    }
  });

  it('optional: no certificate and a good one are accepted; one from another CA is refused', async () => {
    const t = await tlsGateway({ client_ca_file: ca.cert, client_auth: 'optional' });
    try {
      expect(await listWith(t, creds())).toBe('ok');
      expect(await listWith(t, creds(client))).toBe('ok');
      expect(await listWith(t, creds(strangerClient))).toBe('UNAVAILABLE');
    } finally {
      await t.stop();
    }
  });

  it('none (the default): no client certificate is asked for', async () => {
    const t = await tlsGateway({});
    try {
      expect(await listWith(t, creds())).toBe('ok');
      // A client certificate nobody asked for is never checked.
      expect(await listWith(t, creds(strangerClient))).toBe('ok');
    } finally {
      await t.stop();
    }
  });
});

describe('the simulator against a TLS gateway (npm run simulate -- --ca/--cert/--key)', () => {
  it('calls a mutual-TLS gateway with --ca, --cert and --key; without a client certificate it cannot', async () => {
    const t = await tlsGateway({ client_ca_file: ca.cert, client_auth: 'require' });
    const out = pki.file('sim-out');
    try {
      const lines: string[] = [];
      const target = ['--target', t.target, '--server-name', 'localhost', '--ca', ca.cert];
      expect(await runCli([...target, '--cert', client.cert, '--key', client.key, '--dtmf', '1', '--out', out], (l) => lines.push(l))).toBe(0);
      expect(lines.at(-1)).toBe('4 turn(s), 0 not OK, 0 protocol violation(s)');
      const refused: string[] = [];
      expect(await runCli([...target, '--list'], (l) => refused.push(l))).toBe(1);
      expect(refused.join('\n')).toMatch(/^ListVirtualAgents failed: UNAVAILABLE/);
    } finally {
      await t.stop();
    }
  });
});

describe('certificate rotation without a restart', () => {
  /** Copies a pair over the served files the slow way: certificate first, key a moment later (not atomic). */
  async function replaceNonAtomically(target: { cert: string; key: string }, from: IssuedCert) {
    writeFileSync(target.cert, read(from.cert));
    await sleep(150);
    writeFileSync(target.key, read(from.key));
  }

  it('calls in progress go on while the pair is replaced; new connections get the new certificate', async () => {
    const served = { cert: pki.file('served.crt'), key: pki.file('served.key') };
    copyFileSync(server.cert, served.cert);
    copyFileSync(server.key, served.key);
    const logs: Record<string, unknown>[] = [];
    const t = await startTestGateway({ gateway: { tls: { cert_file: served.cert, key_file: served.key } } }, { logs });
    try {
      const next = ca.issue('server-next');
      expect(next.serial).not.toBe(server.serial);
      // Several calls, each on its own connection, streaming caller audio in real time across the swap.
      const callers = Array.from({ length: 6 }, () => t.caller({ credentials: creds(), channelOptions: nameOverride(true) }));
      const speech = encodeFromPcm16(speechBurst(1500, 0), 'mulaw');
      const calls = callers.map(async (c) => {
        ok(await c.startSession());
        const turns = [];
        for (let i = 0; i < 2; i++) turns.push(ok(await c.sendAudio({ data: speech, format: c.format }, { trailingSilenceMs: 1500 })));
        return turns;
      });
      await sleep(700);
      await replaceNonAtomically(served, next);
      const certs = t.gw.app.get(TlsCertificates);
      await eventually(() => certs.status()[0].serialNumber === next.serial, 5000);
      // A new connection is served the new certificate while the calls above are still streaming.
      expect((await handshake(portOf(t.target))).peer.serialNumber).toBe(next.serial);
      expect(await listWith(t, creds())).toBe('ok');
      const results = await Promise.all(calls);
      expect(results.flat()).toHaveLength(12);
      for (const c of callers) ok(await c.endSession());
      expect(certs.status()[0]).toMatchObject({ reloads: 1, fingerprint256: next.fingerprint256 });
      expect(logs.some((l) => l.msg === 'new certificate taken: new connections use it, open ones keep theirs' && l.serialNumber === next.serial)).toBe(true);
    } finally {
      await t.stop();
    }
  });

  it('a key that does not match the certificate is not taken: the previous pair keeps being served until both fit', async () => {
    const served = { cert: pki.file('half.crt'), key: pki.file('half.key') };
    copyFileSync(server.cert, served.cert);
    copyFileSync(server.key, served.key);
    const logs: Record<string, unknown>[] = [];
    const t = await startTestGateway({ gateway: { tls: { cert_file: served.cert, key_file: served.key } } }, { logs });
    try {
      const next = ca.issue('server-half');
      writeFileSync(served.cert, read(next.cert)); // the key is still the old one
      const certs = t.gw.app.get(TlsCertificates);
      await eventually(() => certs.status()[0].lastError !== undefined, 5000);
      expect(certs.status()[0]).toMatchObject({ serialNumber: server.serial, reloads: 0, lastError: expect.stringContaining('does not match') });
      expect((await handshake(portOf(t.target))).peer.serialNumber).toBe(server.serial);
      expect(await listWith(t, creds())).toBe('ok');
      expect(logs.filter((l) => l.level === 40 && String(l.problem).includes('does not match'))).toHaveLength(1);
      // The key arrives by rename (atomic replace, as tools and Kubernetes do): now the pair is taken.
      writeFileSync(`${served.key}.tmp`, read(next.key));
      renameSync(`${served.key}.tmp`, served.key);
      await eventually(() => certs.status()[0].serialNumber === next.serial, 5000);
      expect(certs.status()[0].lastError).toBeUndefined();
      expect((await handshake(portOf(t.target))).peer.serialNumber).toBe(next.serial);
    } finally {
      await t.stop();
    }
    // Stopped with the application: the files are no longer watched.
    const certs = t.gw.app.get(TlsCertificates);
    copyFileSync(server.cert, served.cert);
    copyFileSync(server.key, served.key);
    await sleep(600);
    expect(certs.status()[0].reloads).toBe(1);
  });
});

describe('start-up checks', () => {
  const start = (tls: Record<string, unknown>, logs?: Record<string, unknown>[]) => tlsGateway(tls, {}, logs);
  const startError = async (tls: Record<string, unknown>): Promise<Error> => {
    try {
      const t = await start(tls);
      await t.stop();
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected start-up to fail');
  };

  it('a missing, garbled or mismatched file stops start-up with a message naming the key and the file', async () => {
    const garbage = pki.file('garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    const missing = pki.file('missing.pem');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ cert_file: missing }, /^gateway\.tls\.cert_file: cannot read .*missing\.pem \(ENOENT\)$/],
      [{ cert_file: garbage }, /^gateway\.tls\.cert_file: .*garbage\.pem holds no PEM certificate/],
      [{ key_file: garbage }, /^gateway\.tls\.key_file: .*garbage\.pem holds no PEM private key/],
      [{ key_file: client.key }, /^gateway\.tls\.key_file: the key in .*client\.key does not match the certificate in .*server\.crt/],
      [{ client_auth: 'require', client_ca_file: garbage }, /^gateway\.tls\.client_ca_file: .*garbage\.pem holds no PEM certificate/],
    ];
    for (const [tls, message] of cases) {
      const e = await startError(tls);
      // Reported as a configuration mistake (exit 2 from the entry point), its one problem naming key and file.
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems).toEqual([expect.stringMatching(message)]);
    }
  });

  it('client_auth without client_ca_file is a configuration error', async () => {
    const e = await startError({ client_auth: 'require' });
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).problems).toEqual(['gateway.tls.client_ca_file: required when client_auth is require']);
  });

  it('an expired certificate starts with a warning naming it, and a negative days-until-expiry', async () => {
    const expired = ca.issue('expired', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2020-01-02T00:00:00Z') });
    const logs: Record<string, unknown>[] = [];
    const t = await start({ cert_file: expired.cert, key_file: expired.key }, logs);
    try {
      const warn = logs.find((l) => l.level === 40 && String(l.msg).includes('expired'));
      expect(warn?.msg).toMatch(new RegExp(`^gateway\\.tls\\.cert_file: the certificate in .*expired\\.crt is expired on 2020-01-02T00:00:00\\.000Z`));
      expect(t.gw.app.get(TlsCertificates).daysUntilExpiry('grpc')).toBeLessThan(-365);
      expect((await t.gw.app.get(MetricsService).text()).body).toMatch(/^byova_tls_certificate_expiry_days\{listener="grpc"\} -\d+(\.\d+)?$/m);
    } finally {
      await t.stop();
    }
  });

  it('a certificate not yet valid starts with a warning', async () => {
    const future = ca.issue('future', { notBefore: new Date(Date.now() + 5 * 86400_000), notAfter: new Date(Date.now() + 60 * 86400_000) });
    const logs: Record<string, unknown>[] = [];
    const t = await start({ cert_file: future.cert, key_file: future.key }, logs);
    try {
      expect(logs.some((l) => l.level === 40 && /is not valid before/.test(String(l.msg)))).toBe(true);
    } finally {
      await t.stop();
    }
  });

  it('the real entry point exits 2 (a configuration mistake) with the key and file named and no stack trace', async () => {
    const file = tempConfig({
      gateway: { host: '127.0.0.1', port: 0, tls: { cert_file: pki.file('nowhere.crt'), key_file: server.key } },
      voice_activity_detection: { engine: 'energy' },
      connectors: { local: { type: 'local_audio', config: { audio_base_path: 'audio' } } },
    });
    const r = await runGatewayToExit({ GATEWAY_CONFIG: file });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Invalid configuration in ${file}:\n  - gateway.tls.cert_file: cannot read ${pki.file('nowhere.crt')} (ENOENT)`);
    expect(stackLines(r.stderr + r.stdout)).toEqual([]);
  });
});

describe('monitoring over HTTPS (monitoring.tls)', () => {
  /** GET over HTTPS trusting `caFile`; resolves with the status and the certificate the server showed. */
  function get(address: string, path: string, caFile: string, clientCert?: IssuedCert): Promise<{ status: number; serial: string; body: string }> {
    const [host, port] = [address.split(':')[0], Number(address.split(':')[1])];
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        { host, port, path, servername: 'localhost', ca: read(caFile), agent: false, timeout: 3000, ...(clientCert ? { cert: read(clientCert.cert), key: read(clientCert.key) } : {}) },
        (res) => {
          const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, serial, body }));
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.end();
    });
  }

  it('same_as_gateway: serves the gateway certificate over HTTPS, and plain HTTP is refused', async () => {
    const t = await tlsGateway({}, { monitoring: { tls: { same_as_gateway: true } } });
    try {
      expect(await get(t.gw.httpAddress!, '/no-such-route', ca.cert)).toMatchObject({ status: 404, serial: server.serial });
      await expect(fetch(`http://${t.gw.httpAddress}/no-such-route`)).rejects.toThrow();
      const certs = t.gw.app.get(TlsCertificates);
      expect(certs.daysUntilExpiry('monitoring')).toBeGreaterThan(29);
      // /metrics, over HTTPS: one expiry series per TLS listener.
      const text = (await get(t.gw.httpAddress!, '/metrics', ca.cert)).body;
      expect(text).toMatch(/^byova_tls_certificate_expiry_days\{listener="grpc"\} (29|30)(\.\d+)?$/m);
      expect(text).toMatch(/^byova_tls_certificate_expiry_days\{listener="monitoring"\} (29|30)(\.\d+)?$/m);
      // ... and in /api/status, each listener's certificate.
      const status = JSON.parse((await get(t.gw.httpAddress!, '/api/status', ca.cert)).body) as { tls: Array<{ listener: string; serialNumber: string }> };
      expect(status.tls.map((l) => [l.listener, l.serialNumber.toLowerCase()])).toEqual([
        ['grpc', server.serial.toLowerCase()],
        ['monitoring', server.serial.toLowerCase()],
      ]);
    } finally {
      await t.stop();
    }
  });

  it('client_auth optional on the monitoring server: no certificate is let in, one that does not verify is not', async () => {
    const t = await tlsGateway({}, { monitoring: { tls: { same_as_gateway: true, client_ca_file: ca.cert, client_auth: 'optional' } } });
    try {
      expect((await get(t.gw.httpAddress!, '/x', ca.cert)).status).toBe(404);
      expect((await get(t.gw.httpAddress!, '/x', ca.cert, client)).status).toBe(404);
      await expect(get(t.gw.httpAddress!, '/x', ca.cert, strangerClient)).rejects.toThrow();
    } finally {
      await t.stop();
    }
  });

  it('its own certificate (another CA), with client_auth require, and rotation', async () => {
    const own = otherCa.issue('monitoring', { cn: 'localhost' });
    const served = { cert: pki.file('mon.crt'), key: pki.file('mon.key') };
    copyFileSync(own.cert, served.cert);
    copyFileSync(own.key, served.key);
    const t = await tlsGateway({}, { monitoring: { tls: { cert_file: served.cert, key_file: served.key, client_ca_file: ca.cert, client_auth: 'require' } } });
    try {
      expect(await get(t.gw.httpAddress!, '/x', otherCa.cert, client)).toMatchObject({ status: 404, serial: own.serial });
      await expect(get(t.gw.httpAddress!, '/x', otherCa.cert)).rejects.toThrow();
      const next = otherCa.issue('monitoring-next');
      writeFileSync(`${served.key}.tmp`, read(next.key));
      writeFileSync(`${served.cert}.tmp`, read(next.cert));
      renameSync(`${served.key}.tmp`, served.key);
      renameSync(`${served.cert}.tmp`, served.cert);
      const certs = t.gw.app.get(TlsCertificates);
      await eventually(() => certs.status().find((s) => s.listener === 'monitoring')!.serialNumber === next.serial, 5000);
      expect(await get(t.gw.httpAddress!, '/x', otherCa.cert, client)).toMatchObject({ status: 404, serial: next.serial });
      // The gRPC listener kept its own.
      expect((await handshake(portOf(t.target))).peer.serialNumber).toBe(server.serial);
    } finally {
      await t.stop();
    }
  });
});
