import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

/** Where a listener's files are named in the configuration, for messages (`gateway.tls`, `monitoring.tls`). */
export interface TlsFiles {
  /** Config key prefix, e.g. `gateway.tls`. */
  prefix: string;
  cert_file: string;
  key_file: string;
  /** Given only when client certificates are asked for. */
  client_ca_file?: string;
}

/** A certificate file, key or CA bundle that cannot be used; the message names the config key and the file. */
export class TlsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsFileError';
  }
}

/** A checked certificate/key pair (and client CA bundle): the files' bytes, and what the leaf says. */
export interface PemPair {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  leaf: X509Certificate;
  /** SHA-256 over the three files' bytes: whether anything changed since the last load. */
  digest: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
// Hard bound on what is read: certificate files are a few KiB; a huge file is a mistake (a wrong path).
const MAX_FILE_BYTES = 1024 * 1024;

function readPem(key: string, file: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TlsFileError(`${key}: cannot read ${file} (${err.code ?? err.message})`);
  }
  if (data.length > MAX_FILE_BYTES) throw new TlsFileError(`${key}: ${file} is larger than 1 MiB: not a PEM file`);
  return data;
}

function parseCertificates(key: string, file: string, data: Buffer): X509Certificate[] {
  const blocks = data.toString('latin1').match(PEM_CERT) ?? [];
  if (!blocks.length) throw new TlsFileError(`${key}: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new TlsFileError(`${key}: certificate ${i + 1} in ${file} cannot be parsed (${(e as Error).message})`);
    }
  });
}

function parseKey(key: string, file: string, data: Buffer): KeyObject {
  const text = data.toString('latin1');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    throw new TlsFileError(`${key}: ${file} is an encrypted private key; the gateway needs it unencrypted (restrict the file's permissions instead)`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new TlsFileError(`${key}: ${file} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  try {
    return createPrivateKey(data);
  } catch (e) {
    throw new TlsFileError(`${key}: the private key in ${file} cannot be parsed (${(e as Error).message})`);
  }
}

/**
 * Reads and checks a listener's files: each readable and parsable, the key the one of the (first) certificate, and
 * the lot accepted by Node's TLS. Throws a TlsFileError naming the key and the file at the first problem.
 */
export function loadPemPair(files: TlsFiles): PemPair {
  const { prefix } = files;
  const cert = readPem(`${prefix}.cert_file`, files.cert_file);
  const key = readPem(`${prefix}.key_file`, files.key_file);
  const ca = files.client_ca_file ? readPem(`${prefix}.client_ca_file`, files.client_ca_file) : undefined;
  const [leaf] = parseCertificates(`${prefix}.cert_file`, files.cert_file, cert);
  const privateKey = parseKey(`${prefix}.key_file`, files.key_file, key);
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFileError(`${prefix}.key_file: the key in ${files.key_file} does not match the certificate in ${files.cert_file} (${prefix}.cert_file)`);
  }
  if (ca) parseCertificates(`${prefix}.client_ca_file`, files.client_ca_file!, ca);
  try {
    createSecureContext({ cert, key, ca });
  } catch (e) {
    throw new TlsFileError(`${prefix}: ${files.cert_file} / ${files.key_file} not accepted for TLS (${(e as Error).message})`);
  }
  const digest = createHash('sha256').update(cert).update('\0').update(key).update('\0').update(ca ?? '').digest('hex');
  return { cert, key, ca, leaf, digest };
}

const DAY_MS = 86_400_000;

/** Days until the certificate's notAfter (fractional; negative once expired). */
export function daysUntil(leaf: X509Certificate, now = Date.now()): number {
  return (new Date(leaf.validTo).getTime() - now) / DAY_MS;
}

/** Why a certificate would be refused by clients on its dates (expired, not yet valid), or undefined. */
export function validityProblem(leaf: X509Certificate, now = Date.now()): string | undefined {
  const from = new Date(leaf.validFrom).getTime();
  const to = new Date(leaf.validTo).getTime();
  if (now > to) return `expired on ${new Date(to).toISOString()} (${Math.floor((now - to) / DAY_MS)} days ago)`;
  if (now < from) return `not valid before ${new Date(from).toISOString()}`;
  return undefined;
}
