import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OvhCredential } from './auth';
import type { ServiceAccount } from './oauth2';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomKey(length: number): string {
  return Array.from({ length }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
}

/** One file per secret (mode 0600), so a runbook can reference them as `file:` secrets. */
export interface CredentialFiles {
  applicationKey: string;
  applicationSecret: string;
  consumerKey: string;
}

export function credentialFiles(dir: string): CredentialFiles {
  return {
    applicationKey: path.join(dir, 'application-key'),
    applicationSecret: path.join(dir, 'application-secret'),
    consumerKey: path.join(dir, 'consumer-key'),
  };
}

/** Reads each secret of `files`, creating a missing one first with a random value of the given length. */
function ensureFiles<K extends string>(
  dir: string,
  files: Record<K, string>,
  lengths: Record<K, number>,
): Record<K, string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const values = {} as Record<K, string>;
  for (const key of Object.keys(files) as K[]) {
    const file = files[key];
    if (!existsSync(file)) writeFileSync(file, randomKey(lengths[key]) + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    values[key] = readFileSync(file, 'utf8').trim();
  }
  return values;
}

/** Reads the credential in `dir`, creating it first (OVH-like key lengths: 16, 32, 32) when a file is missing. */
export function ensureCredentialFiles(dir: string): { files: CredentialFiles; credential: OvhCredential } {
  const files = credentialFiles(dir);
  const credential = ensureFiles(dir, files, { applicationKey: 16, applicationSecret: 32, consumerKey: 32 });
  return { files, credential };
}

/** The OAuth2 service account in `dir` (`client-id`, `client-secret`), created on first use. */
export function ensureServiceAccountFiles(dir: string): {
  files: Record<keyof ServiceAccount, string>;
  account: ServiceAccount;
} {
  const files = { clientId: path.join(dir, 'client-id'), clientSecret: path.join(dir, 'client-secret') };
  return { files, account: ensureFiles(dir, files, { clientId: 16, clientSecret: 32 }) };
}
