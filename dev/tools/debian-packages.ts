import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** A program the stack runs and the Debian package that provides it. */
export interface DebianTool {
  binary: string;
  pkg: string;
}

export const STACK_PACKAGES: DebianTool[] = [
  { binary: '/usr/sbin/mariadbd', pkg: 'mariadb-server' },
  { binary: '/usr/bin/mariadb', pkg: 'mariadb-client' },
];

function present(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Installs, with apt-get, the packages whose programs are missing. Needs root (or says what to run). */
export function ensureDebianPackages(tools: DebianTool[], log: (line: string) => void = console.log): void {
  const missing = [...new Set(tools.filter((t) => !present(t.binary)).map((t) => t.pkg))];
  if (missing.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages: ${missing.join(', ')}. Install them with: sudo ${command}`);
  }
  log(`installing Debian packages: ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { env, stdio: 'inherit' });
  if (update.status !== 0) throw new Error('apt-get update failed');
  const install = spawnSync('sh', ['-c', command], { env, stdio: 'inherit' });
  if (install.status !== 0) throw new Error(`${command} failed`);
  const still = tools.filter((t) => !present(t.binary));
  if (still.length > 0)
    throw new Error(`after installing, still missing: ${still.map((t) => t.binary).join(', ')}`);
}
