import type { MysqlServerStatus } from '../../common/mysql-status';
import { enableSemiSyncSql } from './dialect';

/**
 * Whether the pair replicates semi-synchronously. The primary says so (its source side); a promotion runs after it
 * was fenced, while it still replicates from nobody. When it cannot be read (an unplanned failover), the replica
 * being promoted says whether it acknowledged transactions as a semi-sync replica.
 */
export function pairUsesSemiSync(promoted: MysqlServerStatus, others: MysqlServerStatus[]): boolean {
  const primaries = others.filter((s) => s.reachable && !s.replication && s.semiSync !== undefined);
  if (primaries.length > 0) return primaries.some((s) => !!s.semiSync?.source?.enabled);
  return !!promoted.semiSync?.replica?.enabled;
}

/**
 * The statement that turns on the `side` of semi-sync on a server (by the variable name the server has), none when
 * it is on already. A server without the plugin for that side (MySQL) cannot: the reason is returned instead, for
 * the activity to state; it does not stop a promotion or a repoint, which replication works without.
 */
export function semiSyncStatement(
  status: MysqlServerStatus,
  side: 'source' | 'replica',
): { sql?: string; missing?: string } {
  const current = status.semiSync?.[side];
  if (current?.enabled) return {};
  if (!current)
    return {
      missing:
        `${status.server} has no semi-sync ${side} plugin loaded, so it cannot ` +
        `${side === 'source' ? 'wait for acknowledgements' : 'acknowledge transactions'}; install it.`,
    };
  return { sql: enableSemiSyncSql(current.variable) };
}
