import { spawnSync } from 'node:child_process';
import { isExecutable } from './executable';

/** A program the stack runs and the Debian package that provides it. */
export interface DebianTool {
  binary: string;
  pkg: string;
  /** For a Perl library package: the module that must load (`perl -M<module>`), besides the binary. */
  perlModule?: string;
}

export const STACK_PACKAGES: DebianTool[] = [
  { binary: '/usr/sbin/mariadbd', pkg: 'mariadb-server' },
  { binary: '/usr/bin/mariadb', pkg: 'mariadb-client' },
  // The sample Perl application, HAProxy in front of it, and the SSH server for the standby-start step.
  { binary: '/usr/bin/mojo', pkg: 'libmojolicious-perl' },
  { binary: '/usr/bin/perl', pkg: 'libdbd-mariadb-perl', perlModule: 'DBD::MariaDB' },
  { binary: '/usr/sbin/haproxy', pkg: 'haproxy' },
  { binary: '/usr/sbin/sshd', pkg: 'openssh-server' },
  { binary: '/usr/bin/ssh-keygen', pkg: 'openssh-client' },
  // The OVH API emulator generates its CA and server certificate with the openssl CLI.
  { binary: '/usr/bin/openssl', pkg: 'openssl' },
  // Alerting: Prometheus scrapes the worker and the primary site; Alertmanager notifies the orchestrator's receiver.
  { binary: '/usr/bin/prometheus', pkg: 'prometheus' },
  { binary: '/usr/bin/prometheus-alertmanager', pkg: 'prometheus-alertmanager' },
  // MHA for MySQL, the established failover tool `npm run bench` measures this project against, and the runbook's `mysql.delegate` (dev/mha).
  { binary: '/usr/bin/masterha_master_switch', pkg: 'mha4mysql-manager' },
  { binary: '/usr/bin/apply_diff_relay_logs', pkg: 'mha4mysql-node' },
  // The Redis session store of the scratch DR pairs (a master per site) and the Perl app's client of it.
  { binary: '/usr/bin/redis-server', pkg: 'redis-server' },
  { binary: '/usr/bin/perl', pkg: 'libredis-perl', perlModule: 'Redis' },
  // PostgreSQL as a second database kind: scratch streaming pairs in tests (initdb, pg_basebackup, pg_rewind).
  { binary: '/usr/lib/postgresql/15/bin/postgres', pkg: 'postgresql-15' },
];

function installed(tool: DebianTool): boolean {
  if (!isExecutable(tool.binary)) return false;
  return (
    !tool.perlModule || spawnSync('perl', [`-M${tool.perlModule}`, '-e1'], { stdio: 'ignore' }).status === 0
  );
}

/** Installs, with apt-get, the packages whose programs are missing. Needs root (or says what to run). */
export function ensureDebianPackages(tools: DebianTool[], log: (line: string) => void = console.log): void {
  const missing = [...new Set(tools.filter((t) => !installed(t)).map((t) => t.pkg))];
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
  const still = tools.filter((t) => !installed(t));
  if (still.length > 0)
    throw new Error(`after installing, still missing: ${still.map((t) => t.binary).join(', ')}`);
}
