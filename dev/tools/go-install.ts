import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { onPath } from './executable';

/**
 * Builds a Go module's command with `go install <module>@<version>` (sources from the Go module proxy) into
 * `binary`'s folder, and returns `binary`. Throws when Go is missing or the build fails.
 */
export function goInstall(module: string, binary: string, log: (line: string) => void): string {
  const go = onPath('go');
  if (!go) throw new Error('go is not installed');
  const gobin = path.dirname(binary);
  mkdirSync(gobin, { recursive: true });
  log(`building ${module} with go install`);
  const result = spawnSync(go, ['install', module], {
    env: { ...process.env, GOBIN: gobin },
    encoding: 'utf8',
  });
  if (result.status !== 0 || !existsSync(binary)) {
    throw new Error(
      `go install ${module} failed: ${(result.stderr || '').trim().split('\n').slice(-2).join(' ')}`,
    );
  }
  return binary;
}
