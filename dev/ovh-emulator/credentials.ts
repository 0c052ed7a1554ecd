import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OvhCredential } from './auth';

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

/** Reads the credential in `dir`, creating it first (OVH-like key lengths: 16, 32, 32) when a file is missing. */
export function ensureCredentialFiles(dir: string): { files: CredentialFiles; credential: OvhCredential } {
  const files = credentialFiles(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lengths: Record<keyof CredentialFiles, number> = {
    applicationKey: 16,
    applicationSecret: 32,
    consumerKey: 32,
  };
  const credential = {} as OvhCredential;
  for (const key of Object.keys(files) as (keyof CredentialFiles)[]) {
    const file = files[key];
    if (!existsSync(file)) writeFileSync(file, randomKey(lengths[key]) + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    credential[key] = readFileSync(file, 'utf8').trim();
  }
  return { files, credential };
}
