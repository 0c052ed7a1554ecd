import path from 'node:path';
import type { MariadbCluster } from '../../dev/stack/services/mariadb';

/**
 * The runbook's `salvage.keepDown` for a scratch MariaDB server: stops its mysqld if it runs (nothing restarts it
 * there) and returns once it is gone.
 */
export function keepDownCommand(cluster: MariadbCluster, name: string): string {
  const pidFile = path.join(cluster.dirs(name).base, 'mariadbd.pid');
  return (
    `pid=$(cat '${pidFile}' 2>/dev/null) || exit 0; ` +
    'if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done; fi'
  );
}
