import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createLogger, TlsSettings } from '@app/config';
import { type IssuedCert, type TestCa, TestPki } from '../../../../test/support/test-certs';
import { daysUntil, loadPemPair, TlsFileError, validityProblem } from './pem-pair';
import { TlsListener } from './tls-listener';

let pki: TestPki;
let ca: TestCa;
let first: IssuedCert;
let second: IssuedCert;
beforeAll(() => {
  pki = new TestPki();
  ca = pki.ca('unit-ca');
  first = ca.issue('first');
  second = ca.issue('second');
});
afterAll(() => pki.cleanup());

const eventually = async (f: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

function settings(cert: string, key: string, more: Partial<TlsSettings> = {}): TlsSettings {
  return Object.assign(new TlsSettings(), { cert_file: cert, key_file: key }, more);
}

function logCollector() {
  const lines: Array<Record<string, any>> = [];
  return { lines, logger: createLogger('debug', { write: (l: string) => void lines.push(JSON.parse(l)) }) };
}

describe('loadPemPair', () => {
  const files = (cert: string, key: string, client_ca_file?: string) => ({ prefix: 'gateway.tls', cert_file: cert, key_file: key, client_ca_file });

  it('reads a pair and its CA bundle; the digest changes with any of them', () => {
    const a = loadPemPair(files(first.cert, first.key));
    expect(a.leaf.serialNumber).toBe(first.serial);
    expect(loadPemPair(files(first.cert, first.key)).digest).toBe(a.digest);
    expect(loadPemPair(files(first.cert, first.key, ca.cert)).digest).not.toBe(a.digest);
    expect(loadPemPair(files(second.cert, second.key)).digest).not.toBe(a.digest);
  });

  it('refuses an encrypted key with a message saying so', () => {
    const enc = pki.file('enc.key');
    execFileSync('openssl', ['pkcs8', '-topk8', '-in', first.key, '-out', enc, '-passout', 'pass:secret']);
    expect(() => loadPemPair(files(first.cert, enc))).toThrow(new TlsFileError(`gateway.tls.key_file: ${enc} is an encrypted private key; the gateway needs it unencrypted (restrict the file's permissions instead)`));
  });

  it('refuses a corrupt certificate block, and a file far too large to be PEM', () => {
    const bad = pki.file('bad.crt');
    writeFileSync(bad, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(() => loadPemPair(files(bad, first.key))).toThrow(/^gateway\.tls\.cert_file: certificate 1 in .*bad\.crt cannot be parsed/);
    const big = pki.file('big.crt');
    writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 0x41));
    expect(() => loadPemPair(files(big, first.key))).toThrow(/^gateway\.tls\.cert_file: .*big\.crt is larger than 1 MiB/);
  });

  it('dates: days until expiry, and why a certificate is not valid now', () => {
    const leaf = loadPemPair(files(first.cert, first.key)).leaf;
    const to = new Date(leaf.validTo).getTime();
    expect(daysUntil(leaf, to - 86_400_000)).toBeCloseTo(1);
    expect(daysUntil(leaf, to + 2 * 86_400_000)).toBeCloseTo(-2);
    expect(validityProblem(leaf)).toBeUndefined();
    expect(validityProblem(leaf, to + 3 * 86_400_000 + 1000)).toMatch(/^expired on .* \(3 days ago\)$/);
    expect(validityProblem(leaf, new Date(leaf.validFrom).getTime() - 1000)).toMatch(/^not valid before /);
  });
});

describe('TlsListener', () => {
  it('reload() takes a changed pair once, tells its subscribers, and does nothing when the files are unchanged', () => {
    const dir = pki.file('reload');
    mkdirSync(dir);
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const { logger } = logCollector();
    const l = new TlsListener('grpc', settings(cert, key), 'gateway.tls', '/', logger);
    const seen: string[] = [];
    l.onRotate((ctx) => seen.push(String(ctx.cert).length ? 'ctx' : ''));
    try {
      expect(l.reload()).toBe(false);
      copyFileSync(second.cert, cert);
      copyFileSync(second.key, key);
      expect(l.reload()).toBe(true);
      expect(l.reload()).toBe(false);
      expect(seen).toEqual(['ctx']);
      expect(l.status()).toMatchObject({ serialNumber: second.serial, reloads: 1 });
    } finally {
      l.stop();
    }
  });

  it('warns once per distinct problem while the files cannot be used', () => {
    const dir = pki.file('warn-once');
    mkdirSync(dir);
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const { lines, logger } = logCollector();
    const l = new TlsListener('grpc', settings(cert, key), 'gateway.tls', '/', logger);
    try {
      copyFileSync(second.cert, cert);
      for (let i = 0; i < 3; i++) expect(l.reload()).toBe(false);
      writeFileSync(cert, 'garbage');
      for (let i = 0; i < 3; i++) expect(l.reload()).toBe(false);
      const warnings = lines.filter((x) => x.level === 40).map((x) => x.problem);
      expect(warnings).toEqual([expect.stringContaining('does not match'), expect.stringContaining('holds no PEM certificate')]);
      expect(l.status().serialNumber).toBe(first.serial);
    } finally {
      l.stop();
    }
  });

  it('the periodic read catches a change no folder event announces (the file behind a symlink)', async () => {
    // The served names are symlinks into another folder; rewriting the targets fires nothing in the watched folder.
    const real = pki.file('real');
    const served = pki.file('served-links');
    mkdirSync(real);
    mkdirSync(served);
    copyFileSync(first.cert, join(real, 'tls.crt'));
    copyFileSync(first.key, join(real, 'tls.key'));
    symlinkSync(join(real, 'tls.crt'), join(served, 'tls.crt'));
    symlinkSync(join(real, 'tls.key'), join(served, 'tls.key'));
    const { logger } = logCollector();
    const l = new TlsListener('grpc', settings(join(served, 'tls.crt'), join(served, 'tls.key'), { watch_interval_seconds: 1 }), 'gateway.tls', '/', logger);
    l.onRotate(() => undefined);
    try {
      const t0 = Date.now();
      writeFileSync(join(real, 'tls.key'), readFileSync(second.key));
      writeFileSync(join(real, 'tls.crt'), readFileSync(second.cert));
      await eventually(() => l.status().serialNumber === second.serial, 3000);
      // Taken by the 1 s poll, not at once by an event.
      expect(Date.now() - t0).toBeGreaterThan(300);
    } finally {
      l.stop();
    }
  });

  it('a subscriber that throws is logged; the others still get the new pair', () => {
    const dir = pki.file('throwing');
    mkdirSync(dir);
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const { lines, logger } = logCollector();
    const l = new TlsListener('grpc', settings(cert, key), 'gateway.tls', '/', logger);
    let got = 0;
    l.onRotate(() => {
      throw new Error('boom');
    });
    l.onRotate(() => got++);
    try {
      copyFileSync(second.cert, cert);
      copyFileSync(second.key, key);
      l.reload();
      expect(got).toBe(1);
      expect(lines.some((x) => x.level === 50 && x.msg === 'a server did not take the new certificate')).toBe(true);
    } finally {
      l.stop();
    }
  });
});
