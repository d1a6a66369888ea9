import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Certificates made for a test with the openssl CLI (node:crypto cannot issue X.509): a CA, and server and client
 * certificates it signs, each with its own key, in a temp folder. EC P-256 keeps generation fast.
 */

export interface IssuedCert {
  /** PEM files. */
  cert: string;
  key: string;
  /** Hex serial as openssl prints it (upper case, no colons) and the SHA-256 fingerprint (AA:BB:...), as node reports them. */
  serial: string;
  fingerprint256: string;
}

export interface CertOptions {
  /** Subject CN. Default: localhost. */
  cn?: string;
  /** Validity as openssl `ca` dates (YYYYMMDDHHMMSSZ); default from 1 hour ago to 30 days from now. */
  notBefore?: Date;
  notAfter?: Date;
  usage?: 'server' | 'client';
}

const asn1Time = (d: Date) => d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

let serialCounter = 0x1000;

export class TestCa {
  readonly cert: string;
  readonly key: string;
  private readonly dir: string;

  constructor(
    private readonly root: string,
    readonly name: string,
  ) {
    this.dir = join(root, name);
    mkdirSync(join(this.dir, 'db'), { recursive: true });
    writeFileSync(join(this.dir, 'db/index'), '');
    writeFileSync(
      join(this.dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = d',
        '[d]',
        'database = db/index',
        'new_certs_dir = db',
        'serial = db/serial',
        'default_md = sha256',
        'policy = p',
        'unique_subject = no',
        '[p]',
        'commonName = supplied',
        '[server]',
        'basicConstraints = CA:FALSE',
        'keyUsage = digitalSignature, keyEncipherment',
        'extendedKeyUsage = serverAuth',
        'subjectAltName = DNS:localhost, IP:127.0.0.1',
        '[client]',
        'basicConstraints = CA:FALSE',
        'keyUsage = digitalSignature',
        'extendedKeyUsage = clientAuth',
        '',
      ].join('\n'),
    );
    this.cert = join(this.dir, 'ca.crt');
    this.key = join(this.dir, 'ca.key');
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', this.key, '-out', this.cert, '-subj', `/CN=${name}`, '-days', '30'],
      this.dir,
    );
  }

  /** Issues a certificate (its files named `<name>.crt` / `<name>.key` in the CA's folder). */
  issue(name: string, opts: CertOptions = {}): IssuedCert {
    const now = Date.now();
    const notBefore = opts.notBefore ?? new Date(now - 3600_000);
    const notAfter = opts.notAfter ?? new Date(now + 30 * 86400_000);
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const cert = join(this.dir, `${name}.crt`);
    const serial = (serialCounter++).toString(16).toUpperCase();
    writeFileSync(join(this.dir, 'db/serial'), `${serial}\n`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${opts.cn ?? 'localhost'}`], this.dir);
    openssl(
      ['ca', '-batch', '-config', 'ca.cnf', '-cert', this.cert, '-keyfile', this.key, '-in', csr, '-out', cert, '-notext', '-extensions', opts.usage ?? 'server',
        '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter)],
      this.dir,
    );
    const x = new X509Certificate(readFileSync(cert));
    return { cert, key, serial: x.serialNumber, fingerprint256: x.fingerprint256 };
  }
}

/** A temp folder for CAs and certificates; `cleanup()` removes it. */
export class TestPki {
  readonly root = mkdtempSync(join(tmpdir(), 'byova-tls-'));

  ca(name: string): TestCa {
    return new TestCa(this.root, name);
  }

  /** A path in the temp folder (for files a test writes itself). */
  file(name: string): string {
    return join(this.root, name);
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
