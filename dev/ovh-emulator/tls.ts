import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A CA of our own and a `localhost` / 127.0.0.1 / ::1 server certificate it signed, as files and PEM text. */
export interface TlsMaterial {
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

const SERVER_EXTENSIONS = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
].join('\n');

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

function signedByCa(caCertPath: string, certPath: string): boolean {
  try {
    execFileSync('openssl', ['verify', '-CAfile', caCertPath, certPath], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function generate(paths: Omit<TlsMaterial, 'caPem' | 'certPem' | 'keyPem'>, dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req', '-x509', ...ec, '-keyout', paths.caKeyPath, '-out', paths.caCertPath, '-days', '3650', '-sha256',
    '-subj', '/CN=DR orchestrator OVH API emulator CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  const csrPath = path.join(dir, 'server.csr');
  const extPath = path.join(dir, 'server.ext');
  writeFileSync(extPath, SERVER_EXTENSIONS + '\n');
  try {
    openssl(['req', '-new', ...ec, '-keyout', paths.keyPath, '-out', csrPath, '-subj', '/CN=localhost']);
    openssl([
      'x509', '-req', '-in', csrPath, '-CA', paths.caCertPath, '-CAkey', paths.caKeyPath,
      '-set_serial', '0x' + randomBytes(12).toString('hex'), '-days', '825', '-sha256', '-extfile', extPath,
      '-out', paths.certPath,
    ]); // prettier-ignore
  } finally {
    rmSync(csrPath, { force: true });
    rmSync(extPath, { force: true });
  }
  chmodSync(paths.caKeyPath, 0o600);
  chmodSync(paths.keyPath, 0o600);
}

/** Reuses the CA and server certificate in `dir` when they are there and match; creates them with `openssl` otherwise. */
export function ensureTlsMaterial(dir: string): TlsMaterial {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = {
    caCertPath: path.join(dir, 'ca.crt'),
    caKeyPath: path.join(dir, 'ca.key'),
    certPath: path.join(dir, 'server.crt'),
    keyPath: path.join(dir, 'server.key'),
  };
  const complete = Object.values(paths).every((file) => existsSync(file));
  if (!complete || !signedByCa(paths.caCertPath, paths.certPath)) generate(paths, dir);
  return {
    ...paths,
    caPem: readFileSync(paths.caCertPath, 'utf8'),
    certPem: readFileSync(paths.certPath, 'utf8'),
    keyPem: readFileSync(paths.keyPath, 'utf8'),
  };
}
