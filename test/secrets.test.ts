import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSecret, SecretUnavailableError } from '../config/secrets';

describe('secret references', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'secrets-'));
  writeFileSync(path.join(dir, 'db.password'), 's3cr3t-value\n');

  it('reads env: and file: references, file paths relative to the runbook folder', () => {
    expect(resolveSecret('env:DR_TEST_SECRET', dir, { DR_TEST_SECRET: 'from-env' })).toBe('from-env');
    expect(resolveSecret('file:db.password', dir)).toBe('s3cr3t-value');
    expect(resolveSecret(`file:${path.join(dir, 'db.password')}`, '/')).toBe('s3cr3t-value');
  });

  it('names the reference, never a value, when it cannot resolve', () => {
    expect(() => resolveSecret('env:DR_MISSING', dir, {})).toThrow(SecretUnavailableError);
    expect(() => resolveSecret('env:DR_MISSING', dir, {})).toThrow(
      'secret env:DR_MISSING is unavailable: environment variable DR_MISSING is not set',
    );
    expect(() => resolveSecret('file:nope', dir)).toThrow(
      /secret file:nope is unavailable: cannot read .*nope \(ENOENT\)/,
    );
    expect(() => resolveSecret('hunter2', dir)).toThrow(/not an env: or file: reference/);
    expect(() => resolveSecret('hunter2', dir)).not.toThrow(/hunter2/);
  });
});
