import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Raised when a secret reference cannot be resolved. Names the reference, never a value. */
export class SecretUnavailableError extends Error {
  constructor(reference: string, why: string) {
    super(`secret ${reference} is unavailable: ${why}`);
    this.name = 'SecretUnavailableError';
  }
}

/**
 * Resolves `env:NAME` or `file:PATH` (relative paths against `baseDir`, the runbook's folder).
 * Only activities call this, so secrets never enter workflow arguments or history.
 */
export function resolveSecret(
  reference: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return resolveReference(reference, baseDir, env, true);
}

/**
 * Resolves a reference to something public that a runbook still names by reference, e.g. a CA certificate: as
 * `resolveSecret`, but a file others may read is fine.
 */
export function resolvePublicReference(
  reference: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return resolveReference(reference, baseDir, env, false);
}

function resolveReference(
  reference: string,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  secret: boolean,
): string {
  if (reference.startsWith('env:')) {
    const name = reference.slice(4);
    const value = env[name];
    if (value === undefined || value === '')
      throw new SecretUnavailableError(reference, `environment variable ${name} is not set`);
    return value;
  }
  if (reference.startsWith('file:')) {
    const file = path.resolve(baseDir, reference.slice(5));
    let text: string;
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SecretUnavailableError(
        reference,
        `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    if (secret && (mode & 0o077) !== 0) {
      // As ssh refuses a private key others can read: the secret may already have leaked, and must not be used so.
      throw new SecretUnavailableError(
        reference,
        `${file} has mode 0${mode.toString(8)}, readable or writable by group or others; make it readable by its owner only (chmod 600)`,
      );
    }
    return text.replace(/\r?\n$/, '');
  }
  // Not echoed: a value that is not a reference may be a secret pasted in clear.
  throw new SecretUnavailableError('(value withheld)', 'not an env: or file: reference');
}

/**
 * The values of every secret reference a runbook holds that can be read now (those that cannot are skipped), and
 * each line of the multi-line ones (a private key), so that text from outside — command output, error messages — can
 * be redacted with them before it reaches history or logs.
 */
export function runbookSecrets(runbook: unknown, baseDir: string): string[] {
  const values = new Set<string>();
  const visit = (node: unknown): void => {
    if (typeof node === 'string' && /^(env|file):/.test(node)) {
      try {
        const value = resolveSecret(node, baseDir);
        values.add(value);
        for (const line of value.split(/\r?\n/)) if (line.trim().length >= 8) values.add(line.trim());
      } catch {
        /* unreadable now: nothing to redact with */
      }
    } else if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(visit);
  };
  visit(runbook);
  // Longest first, so that a secret containing another is replaced whole.
  return [...values].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
}
