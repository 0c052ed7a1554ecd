/**
 * What a MySQL or MariaDB server must offer for the orchestrator to act on it safely, judged from facts its status
 * carries: pure, so the readiness workflow and `drctl doctor` share it.
 */
import type { Dialect } from './mysql-status';

/** "10.11.19-MariaDB-0+deb12u1-log" → [10, 11, 19]; unknown parts are 0. */
export function parseVersion(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = (version.match(/^(\d+)\.(\d+)\.(\d+)/) ?? [])
    .slice(1)
    .map(Number);
  return [major, minor, patch];
}

/**
 * The oldest server of each dialect the activities' statements run on, and why. MySQL 8.0.23 added
 * `CHANGE REPLICATION SOURCE TO` (8.0.22 had SHOW REPLICA STATUS and START/STOP/RESET REPLICA only); MariaDB 10.8
 * is the first whose mariadb-binlog takes GTID positions in `--start-position`, which the salvage uses.
 */
export const MINIMUM_VERSIONS: Record<Dialect, { version: [number, number, number]; why: string }> = {
  mysql: { version: [8, 0, 23], why: 'CHANGE REPLICATION SOURCE TO, which repoint and promote use' },
  mariadb: {
    version: [10, 8, 0],
    why: 'mariadb-binlog --start-position with GTIDs, which the salvage of a dead primary uses',
  },
};

const atLeast = (have: number[], want: number[]) => {
  for (let i = 0; i < want.length; i++) {
    if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0);
  }
  return true;
};

/** The sentence saying why `version` is too old for the orchestrator, or undefined when it is recent enough. */
export function versionTooOld(server: string, dialect: Dialect, version: string): string | undefined {
  const minimum = MINIMUM_VERSIONS[dialect];
  if (atLeast(parseVersion(version), minimum.version)) return undefined;
  const name = dialect === 'mysql' ? 'MySQL' : 'MariaDB';
  return (
    `${server} runs ${name} ${version}, older than ${minimum.version.join('.')}: ` +
    `it lacks ${minimum.why}; upgrade it.`
  );
}

/** What a server says of its use of GTIDs (see MysqlServerStatus). */
export interface GtidFacts {
  server: string;
  dialect?: Dialect;
  gtidMode?: string;
  enforceGtidConsistency?: string;
  gtidBinlogPos?: string;
  replication?: { gtidPositioning?: string };
}

/**
 * Why a server does not really use GTIDs, or undefined when it does. Without GTIDs the catch-up and
 * unapplied-transaction checks compare empty sets and pass, so this is a refusal, not a warning. MySQL:
 * gtid_mode=ON and enforce_gtid_consistency=ON, and a replica positions itself by GTID (SOURCE_AUTO_POSITION=1).
 * MariaDB has GTIDs always; a replica must position itself by them (Using_Gtid Slave_Pos or Current_Pos), and a
 * primary (`primary`) must have a GTID position in its binlog.
 */
export function gtidNotInUse(status: GtidFacts, primary: boolean): string | undefined {
  const positioning = status.replication?.gtidPositioning;
  if (status.dialect === 'mysql') {
    if (status.gtidMode !== 'ON' || status.enforceGtidConsistency !== 'ON')
      return (
        `${status.server} has gtid_mode=${status.gtidMode ?? '?'} and enforce_gtid_consistency=` +
        `${status.enforceGtidConsistency ?? '?'}: the failover compares GTIDs, which needs both ON.`
      );
    if (status.replication && positioning !== 'auto_position')
      return `${status.server} replicates without GTID auto-positioning (SOURCE_AUTO_POSITION=0): repoint it with SOURCE_AUTO_POSITION=1.`;
    return undefined;
  }
  if (status.replication && positioning !== 'Slave_Pos' && positioning !== 'Current_Pos')
    return `${status.server} replicates without GTIDs (Using_Gtid=${positioning ?? 'No'}): repoint it with CHANGE MASTER TO MASTER_USE_GTID=slave_pos.`;
  if (primary && !status.gtidBinlogPos)
    return `primary ${status.server} has an empty gtid_binlog_pos: its binlog holds no GTID, so replicas cannot be compared with it.`;
  return undefined;
}
