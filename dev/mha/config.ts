/**
 * What MHA needs to run against the project's MariaDB servers, for the bench's MHA contenders and the tests of the
 * MHA delegate: the environment that loads the two upstream fixes (dev/mha/MhaMariadbFixes.pm), and the MHA
 * configuration of a scratch MariaDB trio (three servers on 127.0.0.1, its accounts, its binlog folders).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../common/package-root';
import { MARIADB_ACCOUNTS, type MariadbCluster } from '../stack/services/mariadb';

export const MHA_DIR = path.join(packageRoot(), 'dev', 'mha');

/** PERL5LIB and PERL5OPT that load dev/mha/MhaMariadbFixes.pm into every MHA program (manager and node tools). */
export const MHA_PERL_ENV = { PERL5LIB: MHA_DIR, PERL5OPT: '-MMhaMariadbFixes' };

/**
 * Writes `<dir>/mha.cnf` for `servers` of `cluster` (the first listed is the current primary), with `settings`
 * added to `[server default]`; returns its path. The manager's and the nodes' work folders are made under `dir`.
 */
export function writeMhaConfig(
  cluster: MariadbCluster,
  dir: string,
  servers: string[],
  settings: string[],
): string {
  const secret = (file: string) => cluster.secret(file);
  const file = path.join(dir, 'mha.cnf');
  for (const workdir of ['mha', 'mha-remote']) mkdirSync(path.join(dir, workdir), { recursive: true });
  writeFileSync(
    file,
    [
      '[server default]',
      `user=${MARIADB_ACCOUNTS.orchestrator.user}`,
      `password=${secret(MARIADB_ACCOUNTS.orchestrator.secretFile)}`,
      `repl_user=${MARIADB_ACCOUNTS.replication.user}`,
      `repl_password=${secret(MARIADB_ACCOUNTS.replication.secretFile)}`,
      `manager_workdir=${path.join(dir, 'mha')}`,
      `manager_log=${path.join(dir, 'mha', 'manager.log')}`,
      `remote_workdir=${path.join(dir, 'mha-remote')}`,
      'ping_interval=1',
      ...settings,
      ...servers.flatMap((name, i) => [
        `[server${i + 1}]`,
        'hostname=127.0.0.1',
        `port=${cluster.instance(name).port}`,
        `master_binlog_dir=${cluster.dirs(name).data}`,
      ]),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}
