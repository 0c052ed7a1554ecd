import { readFileSync } from 'node:fs';
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
  if (reference.startsWith('env:')) {
    const name = reference.slice(4);
    const value = env[name];
    if (value === undefined || value === '')
      throw new SecretUnavailableError(reference, `environment variable ${name} is not set`);
    return value;
  }
  if (reference.startsWith('file:')) {
    const file = path.resolve(baseDir, reference.slice(5));
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new SecretUnavailableError(
        reference,
        `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  // Not echoed: a value that is not a reference may be a secret pasted in clear.
  throw new SecretUnavailableError('(value withheld)', 'not an env: or file: reference');
}
