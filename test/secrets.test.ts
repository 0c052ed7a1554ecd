import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSecret, SecretUnavailableError } from '../config/secrets';

describe('secret references', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'secrets-'));
  writeFileSync(path.join(dir, 'db.password'), 's3cr3t-value\n', { mode: 0o600 });

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

  it.each([0o644, 0o640, 0o604, 0o660])(
    'refuses a file: secret other users may read (mode %o), naming the reference and the mode, not the content',
    (mode) => {
      const file = path.join(dir, `shared-${mode.toString(8)}.password`);
      writeFileSync(file, 'sup3r-s3cret\n');
      chmodSync(file, mode);
      const reference = `file:${path.basename(file)}`;
      expect(() => resolveSecret(reference, dir)).toThrow(SecretUnavailableError);
      expect(() => resolveSecret(reference, dir)).toThrow(
        `secret ${reference} is unavailable: ${file} has mode 0${mode.toString(8)}, readable or writable by group or others; make it readable by its owner only (chmod 600)`,
      );
      expect(() => resolveSecret(reference, dir)).not.toThrow(/sup3r/);
    },
  );
});
