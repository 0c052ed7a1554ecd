/**
 * Every statement the orchestrator sends to MySQL 8 or MariaDB, per dialect, in one place.
 *
 * Checked against the MySQL 8.0 reference manual (SHOW REPLICA STATUS, STOP/START/RESET REPLICA and
 * CHANGE REPLICATION SOURCE TO from 8.0.22/8.0.23; super_read_only; WAIT_FOR_EXECUTED_GTID_SET and
 * GTID_SUBTRACT in "Functions Used with Global Transaction Identifiers") and the MariaDB knowledge base
 * (SHOW SLAVE STATUS; STOP/START/RESET SLAVE; CHANGE MASTER TO with MASTER_USE_GTID and, from 10.10,
 * MASTER_DEMOTE_TO_SLAVE; MASTER_GTID_WAIT; the gtid_* system variables; read_only). TLS for replication:
 * SOURCE_SSL / SOURCE_SSL_CA / SOURCE_SSL_VERIFY_SERVER_CERT (MySQL "CHANGE REPLICATION SOURCE TO Statement") and
 * MASTER_SSL / MASTER_SSL_CA / MASTER_SSL_VERIFY_SERVER_CERT (MariaDB "CHANGE MASTER TO").
 */
import type { Dialect } from '../../common/mysql-status';
import { parseVersion } from '../../common/mysql-requirements';

export type { Dialect };
export { parseVersion };

export function detectDialect(version: string): Dialect {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
}

/**
 * MariaDB 10.10 added `CHANGE MASTER TO … MASTER_DEMOTE_TO_SLAVE=1`, the knowledge base's recommended way
 * to turn a former primary into a replica (it merges gtid_binlog_pos into gtid_slave_pos once and then
 * uses slave_pos). Before 10.10 the only GTID-aware way is `MASTER_USE_GTID=current_pos`.
 */
export function mariadbSupportsDemote(version: string): boolean {
  const [major, minor] = parseVersion(version);
  return major > 10 || (major === 10 && minor >= 10);
}

export interface DialectSql {
  /** Global variables read for the server's own state. */
  serverState: string;
  /** Replication status of this server as a replica (no rows when it replicates from nobody). */
  replicaStatus: string;
  /** Stops both replication threads (a no-op with a warning when they are stopped). */
  stopReplica: string;
  /** Starts both replication threads. */
  startReplica: string;
  /** Starts only the applier (SQL) thread, e.g. to apply what was received. */
  startSqlThread: string;
  /** Forgets the replication source and its connection settings: the server replicates from nobody. */
  resetReplicaAll: string;
  /** Makes the server refuse client writes (fence). */
  fence: string[];
  /** Makes the server writable (promotion). */
  unfence: string[];
  /** Client sessions, for killing them on fence (filtered in code). */
  processList: string;
  /** The semi-synchronous replication switches (see SEMI_SYNC_VARIABLES); none when the plugins are not loaded. */
  semiSyncVariables: string;
}

/**
 * Names of the semi-synchronous replication switches, newest first. MySQL 8.0.26+ plugins rpl_semi_sync_source /
 * rpl_semi_sync_replica name them rpl_semi_sync_source_enabled / rpl_semi_sync_replica_enabled, the older
 * rpl_semi_sync_master / rpl_semi_sync_slave plugins rpl_semi_sync_master_enabled / rpl_semi_sync_slave_enabled,
 * and a server has one or the other (MySQL 8.0 manual, "Configuring Semisynchronous Replication"). MariaDB 10.3.3+
 * has semi-sync built in, under the master/slave names (MariaDB knowledge base, "Semisynchronous Replication").
 */
export const SEMI_SYNC_VARIABLES = {
  source: ['rpl_semi_sync_source_enabled', 'rpl_semi_sync_master_enabled'],
  replica: ['rpl_semi_sync_replica_enabled', 'rpl_semi_sync_slave_enabled'],
} as const;

/** Turns one side of semi-sync on, by the variable name the server has. */
export function enableSemiSyncSql(variable: string): string {
  const known: readonly string[] = [...SEMI_SYNC_VARIABLES.source, ...SEMI_SYNC_VARIABLES.replica];
  if (!known.includes(variable)) throw new Error(`unknown semi-sync variable ${variable}`);
  return `SET GLOBAL ${variable}=ON`;
}

export const SQL: Record<Dialect, DialectSql> = {
  mysql: {
    serverState:
      'SELECT @@global.read_only AS read_only, @@global.super_read_only AS super_read_only, ' +
      '@@global.gtid_executed AS gtid_executed, @@global.gtid_mode AS gtid_mode, ' +
      '@@global.enforce_gtid_consistency AS enforce_gtid_consistency, @@global.server_uuid AS server_id',
    replicaStatus: 'SHOW REPLICA STATUS',
    stopReplica: 'STOP REPLICA',
    startReplica: 'START REPLICA',
    startSqlThread: 'START REPLICA SQL_THREAD',
    resetReplicaAll: 'RESET REPLICA ALL',
    // super_read_only=ON also sets read_only=ON and blocks accounts with SUPER/CONNECTION_ADMIN too.
    fence: ['SET GLOBAL super_read_only=ON'],
    // read_only=OFF also turns super_read_only off; both are named so the intent is explicit.
    unfence: ['SET GLOBAL super_read_only=OFF', 'SET GLOBAL read_only=OFF'],
    processList:
      'SELECT ID AS id, USER AS user, COMMAND AS command FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()',
    semiSyncVariables: "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%_enabled'",
  },
  mariadb: {
    serverState:
      'SELECT @@global.read_only AS read_only, 0 AS super_read_only, ' +
      '@@global.gtid_current_pos AS gtid_executed, @@global.server_id AS server_id, ' +
      '@@global.gtid_slave_pos AS gtid_slave_pos, @@global.gtid_binlog_pos AS gtid_binlog_pos, ' +
      '@@global.gtid_binlog_state AS gtid_binlog_state, @@global.log_slave_updates AS log_slave_updates',
    // MariaDB 10.5.1+ accepts SHOW REPLICA STATUS as an alias and keeps the Slave_/Master_ column names.
    replicaStatus: 'SHOW SLAVE STATUS',
    stopReplica: 'STOP SLAVE',
    startReplica: 'START SLAVE',
    startSqlThread: 'START SLAVE SQL_THREAD',
    resetReplicaAll: 'RESET SLAVE ALL',
    // MariaDB has no super_read_only: accounts with READ_ONLY ADMIN (or SUPER before 10.11) still write.
    fence: ['SET GLOBAL read_only=ON'],
    unfence: ['SET GLOBAL read_only=OFF'],
    processList:
      'SELECT ID AS id, USER AS user, COMMAND AS command FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()',
    semiSyncVariables: "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%_enabled'",
  },
};

/** Column names of SHOW REPLICA/SLAVE STATUS per dialect. */
export const REPLICA_COLUMNS: Record<
  Dialect,
  {
    ioRunning: string;
    sqlRunning: string;
    lag: string;
    sourceHost: string;
    sourcePort: string;
    retrievedGtid: string;
    lastIoError: string;
    lastSqlError: string;
    lastIoErrno: string;
    lastSqlErrno: string;
    sourceServerId: string;
    sqlState: string;
    sqlDelay: string;
    /** MariaDB Using_Gtid (Slave_Pos, Current_Pos, No); MySQL Auto_Position (1, 0). */
    gtidMode: string;
    /** MySQL only: Executed_Gtid_Set (MariaDB: gtid_slave_pos, read separately). */
    executedGtid?: string;
    /** Whether the connection to the source uses TLS (Yes, No, Ignored). */
    sslAllowed: string;
  }
> = {
  mysql: {
    ioRunning: 'Replica_IO_Running',
    sqlRunning: 'Replica_SQL_Running',
    lag: 'Seconds_Behind_Source',
    sourceHost: 'Source_Host',
    sourcePort: 'Source_Port',
    retrievedGtid: 'Retrieved_Gtid_Set',
    lastIoError: 'Last_IO_Error',
    lastSqlError: 'Last_SQL_Error',
    lastIoErrno: 'Last_IO_Errno',
    lastSqlErrno: 'Last_SQL_Errno',
    sourceServerId: 'Source_Server_Id',
    sqlState: 'Replica_SQL_Running_State',
    sqlDelay: 'SQL_Delay',
    gtidMode: 'Auto_Position',
    executedGtid: 'Executed_Gtid_Set',
    sslAllowed: 'Source_SSL_Allowed',
  },
  mariadb: {
    ioRunning: 'Slave_IO_Running',
    sqlRunning: 'Slave_SQL_Running',
    lag: 'Seconds_Behind_Master',
    sourceHost: 'Master_Host',
    sourcePort: 'Master_Port',
    retrievedGtid: 'Gtid_IO_Pos',
    lastIoError: 'Last_IO_Error',
    lastSqlError: 'Last_SQL_Error',
    lastIoErrno: 'Last_IO_Errno',
    lastSqlErrno: 'Last_SQL_Errno',
    sourceServerId: 'Master_Server_Id',
    sqlState: 'Slave_SQL_Running_State',
    sqlDelay: 'SQL_Delay',
    gtidMode: 'Using_Gtid',
    sslAllowed: 'Master_SSL_Allowed',
  },
};

/** What the applier reports when it has applied its whole relay log (both dialects, per their manuals). */
export const SQL_THREAD_IDLE = /has read all relay log/i;

/**
 * A statement with `?` placeholders and its values; mysql2 escapes the values client-side
 * (CHANGE MASTER and friends are not preparable server-side). Use `redactedSql` to show one.
 */
export interface Statement {
  sql: string;
  values: (string | number)[];
  /** Indices in `values` that are secrets. */
  secretValues?: number[];
  /** What to call it in a failure, e.g. "CHANGE MASTER TO" (a statement with secrets is never shown). */
  name?: string;
}

/** The statement as text with every secret value replaced by "***", for plans, logs and tests. */
export function redactedSql(statement: Statement): string {
  let i = 0;
  return statement.sql.replace(/\?/g, () => {
    const index = i++;
    const value = statement.values[index];
    if (statement.secretValues?.includes(index)) return "'***'";
    return typeof value === 'number' ? String(value) : `'${String(value).replace(/'/g, "''")}'`;
  });
}

/** How a repointed server finds its place in the new source's binlogs. */
export type RepointMode =
  /** MariaDB replica: start after the last GTID it applied (gtid_slave_pos). */
  | 'slave_pos'
  /** MariaDB ≥ 10.10 former primary: merge its own binlog position into gtid_slave_pos, then slave_pos. */
  | 'demote'
  /** MariaDB < 10.10 former primary: start after gtid_current_pos (includes its own binlog). */
  | 'current_pos'
  /** MySQL: GTID auto-positioning (the replica sends its gtid_executed). */
  | 'auto_position';

export function repointMode(dialect: Dialect, version: string, formerPrimary: boolean): RepointMode {
  if (dialect === 'mysql') return 'auto_position';
  if (!formerPrimary) return 'slave_pos';
  return mariadbSupportsDemote(version) ? 'demote' : 'current_pos';
}

export interface SourceSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Seconds between reconnection attempts of the IO thread. */
  connectRetry: number;
  /** Replicate over TLS, verifying the source's certificate against this CA (a path on the replica's host). */
  tlsCa?: string;
}

/** The statement that points a server at a new source with GTID positioning. The password is a secret value. */
export function changeSourceStatement(
  dialect: Dialect,
  mode: RepointMode,
  source: SourceSettings,
): Statement {
  const tlsValues = source.tlsCa === undefined ? [] : [source.tlsCa];
  if (dialect === 'mysql') {
    return {
      // GET_SOURCE_PUBLIC_KEY lets caching_sha2_password (the 8.0 default) authenticate without TLS.
      sql:
        'CHANGE REPLICATION SOURCE TO SOURCE_HOST=?, SOURCE_PORT=?, SOURCE_USER=?, SOURCE_PASSWORD=?, ' +
        'SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=?, GET_SOURCE_PUBLIC_KEY=1' +
        (source.tlsCa === undefined
          ? ''
          : ', SOURCE_SSL=1, SOURCE_SSL_CA=?, SOURCE_SSL_VERIFY_SERVER_CERT=1'),
      values: [source.host, source.port, source.user, source.password, source.connectRetry, ...tlsValues],
      secretValues: [3],
      name: 'CHANGE REPLICATION SOURCE TO',
    };
  }
  const gtid =
    mode === 'demote'
      ? 'MASTER_USE_GTID=slave_pos, MASTER_DEMOTE_TO_SLAVE=1'
      : mode === 'current_pos'
        ? 'MASTER_USE_GTID=current_pos'
        : 'MASTER_USE_GTID=slave_pos';
  const tls =
    source.tlsCa === undefined ? '' : ', MASTER_SSL=1, MASTER_SSL_CA=?, MASTER_SSL_VERIFY_SERVER_CERT=1';
  return {
    sql: `CHANGE MASTER TO MASTER_HOST=?, MASTER_PORT=?, MASTER_USER=?, MASTER_PASSWORD=?, ${gtid}, MASTER_CONNECT_RETRY=?${tls}`,
    values: [source.host, source.port, source.user, source.password, source.connectRetry, ...tlsValues],
    secretValues: [3],
    name: 'CHANGE MASTER TO',
  };
}

/**
 * Waits at most `timeoutSeconds` for the server to have applied `gtids`.
 * MariaDB MASTER_GTID_WAIT: 0 = reached, -1 = timed out (waits on gtid_slave_pos).
 * MySQL WAIT_FOR_EXECUTED_GTID_SET: 0 = reached, 1 = timed out (waits on gtid_executed).
 */
export function waitForGtidStatement(dialect: Dialect, gtids: string, timeoutSeconds: number): Statement {
  return dialect === 'mysql'
    ? { sql: 'SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS result', values: [gtids, timeoutSeconds] }
    : { sql: 'SELECT MASTER_GTID_WAIT(?, ?) AS result', values: [gtids, timeoutSeconds] };
}

/** Whether a wait statement's result means the GTIDs were reached. */
export const waitReached = (result: unknown) => result !== null && Number(result) === 0;

/** MySQL: the GTIDs of `set` that are not in `subset` (errant transactions). MariaDB compares positions in code. */
export function gtidSubtractStatement(set: string, subset: string): Statement {
  return { sql: 'SELECT GTID_SUBTRACT(?, ?) AS errant', values: [set, subset] };
}

/** Ends a client session (both dialects). The id comes from the process list, never from input. */
export function killConnectionSql(id: number): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new Error(`invalid connection id ${id}`);
  return `KILL CONNECTION ${id}`;
}

/** MariaDB: the binlog files (newest last) and the GTID events of one of them, to list errant GTIDs. */
export const MARIADB_BINLOG = {
  files: 'SHOW BINARY LOGS',
  /** `SHOW BINLOG EVENTS IN 'file' LIMIT offset, count`; only Gtid events' Info ("BEGIN GTID 0-1-5") is read. */
  events: (file: string, offset: number, count: number): Statement => ({
    sql: `SHOW BINLOG EVENTS IN ? LIMIT ${Math.trunc(offset)}, ${Math.trunc(count)}`,
    values: [file],
  }),
};

/**
 * MariaDB: the global privileges that let an account write despite read_only=ON. READ ONLY ADMIN from 10.5.2;
 * SUPER implied it until 10.11 (MDEV-29596 separated them; MariaDB/server sql/privilege.h).
 */
export function readOnlyBypassPrivileges([major, minor]: [number, number, number]): string[] {
  return major > 10 || (major === 10 && minor >= 11) ? ['READ_ONLY ADMIN'] : ['READ_ONLY ADMIN', 'SUPER'];
}

/** MariaDB grant tables, read to find who can write despite read_only. */
export const MARIADB_GRANTS = {
  /** Accounts holding one of `privileges` on *.* directly (every account when it may read mysql.*). */
  globalPrivilegeHolders: (privileges: string[]): Statement => ({
    sql:
      'SELECT DISTINCT GRANTEE AS grantee FROM information_schema.USER_PRIVILEGES ' +
      `WHERE PRIVILEGE_TYPE IN (${privileges.map(() => '?').join(', ')})`,
    values: privileges,
  }),
  /** Which account (or role: empty host) was granted which role. */
  rolesMapping: 'SELECT User AS user, Host AS host, Role AS role FROM mysql.roles_mapping',
  /** A role's grants, those of the roles granted to it included. */
  grantsFor: (role: string): Statement => ({ sql: 'SHOW GRANTS FOR ?', values: [role] }),
};

/** Sessions a fence never kills: replication (dump threads on a source, applier threads on a replica) and daemons. */
export const PROTECTED_COMMANDS = new Set([
  'Binlog Dump',
  'Binlog Dump GTID',
  'Daemon',
  'Slave_IO',
  'Slave_SQL',
  'Slave_worker',
]);
export const PROTECTED_USERS = new Set(['system user', 'event_scheduler']);

/** The server's own binlog tool, per dialect (MariaDB ≥ 10.8 reads GTID start positions). */
export const BINLOG_TOOL: Record<Dialect, string> = { mariadb: 'mariadb-binlog', mysql: 'mysqlbinlog' };

const MARIADB_GTID_LIST = /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/;
const MYSQL_GTID_SET =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:[a-z0-9_-]+)+(,[0-9a-f-]{36}(:[a-z0-9_-]+)+)*$/i;

/**
 * The shell command, run on the dead primary's host, that prints the transactions of its binlog a candidate
 * lacks, as SQL for a client. MariaDB: `--start-position=<gtid list>` prints only the events after those GTIDs,
 * each exclusive (the candidate's position); MySQL: `--exclude-gtids=<set>` leaves out what the candidate has
 * executed. Every file the index lists is read, from the index's folder (relative entries are relative to it).
 * `binlogIndex` comes from the runbook (its shell may expand variables); `position` is checked to be GTIDs only.
 */
export function binlogReadCommand(dialect: Dialect, binlogIndex: string, gtids: string): string {
  // MySQL prints a set of several uuids with ",\n" between them; the tool's option takes it on one line.
  const position = gtids.replace(/\s+/g, '');
  const pattern = dialect === 'mysql' ? MYSQL_GTID_SET : MARIADB_GTID_LIST;
  if (!pattern.test(position))
    throw new Error(`the position "${position}" is not a GTID ${dialect === 'mysql' ? 'set' : 'list'}`);
  const option = dialect === 'mysql' ? '--exclude-gtids' : '--start-position';
  return (
    `index="${binlogIndex}" && cd "$(dirname "$index")" && ` +
    `exec ${BINLOG_TOOL[dialect]} ${option}='${position}' $(cat "$index")`
  );
}

/** Statements of the salvage around the binlog tool's own (see activities/mysql/README.md). */
export const SALVAGE_SQL: Record<
  Dialect,
  {
    /** One applier at a time: a retry waits here while an earlier attempt's session still lives. */
    lock: Statement;
    /** Run once before the first statement of the script, and after the last (also when it fails). */
    beforeApply: string[];
    afterApply: string[];
    /** Makes the server's replication position include what was applied outside replication. */
    recordApplied(position: string): Statement | undefined;
  }
> = {
  mariadb: {
    lock: { sql: 'SELECT GET_LOCK(?, ?) AS locked', values: ['dr-orchestrator-salvage', 10] },
    // read_only=ON does not stop the orchestrator's account (READ ONLY ADMIN), so the candidate stays read-only.
    beforeApply: [],
    afterApply: [],
    // Transactions applied by a client are in the binlog (gtid_binlog_pos) but not in gtid_slave_pos, which a
    // replica restarted with MASTER_USE_GTID=slave_pos would ask its source for again.
    recordApplied: (position) => ({ sql: 'SET GLOBAL gtid_slave_pos = ?', values: [position] }),
  },
  mysql: {
    lock: { sql: 'SELECT GET_LOCK(?, ?) AS locked', values: ['dr-orchestrator-salvage', 10] },
    // super_read_only stops every account; read_only alone stops those without CONNECTION_ADMIN (applications).
    beforeApply: ['SET GLOBAL super_read_only=OFF'],
    afterApply: ['SET GLOBAL super_read_only=ON'],
    // gtid_executed holds every applied GTID, replicated or not, and auto-positioning sends it.
    recordApplied: () => undefined,
  },
};

/**
 * MariaDB: the mark a rebuild leaves on the server it rebuilds, from before its first change until it finishes
 * (see rebuild.ts): one row of an InnoDB table in the orchestrator's own schema, so that it survives a mysqld
 * restart and a worker crash. Written and cleared with sql_log_bin=0, on a connection of its own: it never
 * reaches the server's binlog (no GTID of its own, so no errant transaction) nor a replica.
 */
export const REBUILD_MARK = {
  schema: 'dr_orchestrator',
  /** Whether the table exists (information_schema lists it only to an account with a privilege on it). */
  exists:
    'SELECT COUNT(*) AS n FROM information_schema.TABLES ' +
    "WHERE TABLE_SCHEMA = 'dr_orchestrator' AND TABLE_NAME = 'rebuild_incomplete'",
  read: 'SELECT started_at, source FROM dr_orchestrator.rebuild_incomplete WHERE id = 1',
  withoutBinlog: 'SET SESSION sql_log_bin=0',
  create: [
    'CREATE DATABASE IF NOT EXISTS dr_orchestrator',
    'CREATE TABLE IF NOT EXISTS dr_orchestrator.rebuild_incomplete (' +
      'id TINYINT UNSIGNED NOT NULL PRIMARY KEY, started_at VARCHAR(32) NOT NULL, source VARCHAR(64) NOT NULL' +
      ') ENGINE=InnoDB',
  ],
  set: (startedAt: string, source: string): Statement => ({
    sql: 'REPLACE INTO dr_orchestrator.rebuild_incomplete (id, started_at, source) VALUES (1, ?, ?)',
    values: [startedAt, source],
  }),
  clear: 'DELETE FROM dr_orchestrator.rebuild_incomplete WHERE id = 1',
};
