import type { RowDataPacket } from 'mysql2/promise';
import { gtidsMissing, gtidUnion } from '../../common/gtid';
import { redact } from '../../common/redact';
import { classifyMysqlError, type MysqlFailureType } from './errors';
import { detectDialect, REPLICA_COLUMNS, SQL, type Dialect } from './dialect';

export interface ReplicationStatus {
  ioRunning: 'Yes' | 'No' | 'Connecting' | string;
  sqlRunning: 'Yes' | 'No' | string;
  /** Seconds_Behind_Master/Source: null when unknown (applier stopped, or not connected to the source). */
  lagSeconds: number | null;
  sourceHost: string;
  sourcePort: number;
  /** GTIDs received from the source (MySQL Retrieved_Gtid_Set, MariaDB Gtid_IO_Pos). */
  retrievedGtid: string;
  lastIoError: string;
  lastSqlError: string;
  lastIoErrno?: number;
  lastSqlErrno?: number;
  /** The source's server_id as the replica last saw it. */
  sourceServerId?: number;
  /** The applier's state, e.g. "Slave has read all relay log; waiting for more updates". */
  sqlState?: string;
  /** Configured delay (MASTER_DELAY / SOURCE_DELAY), seconds. */
  sqlDelaySeconds?: number;
  /** How the replica positions itself: MariaDB Using_Gtid (Slave_Pos, Current_Pos, No), MySQL "auto_position" or "no". */
  gtidPositioning?: string;
  /** GTIDs applied from the source (MySQL Executed_Gtid_Set, MariaDB gtid_slave_pos). */
  appliedGtid?: string;
  /** GTIDs it holds once its relay log is applied (received ∪ applied). */
  receivedOrApplied?: string;
  /** Transactions received but not applied yet; null when the positions cannot be compared. */
  pendingTransactions?: number | null;
  /** Whether the replica connects to its source over TLS (Master_SSL_Allowed / Source_SSL_Allowed = Yes). */
  tls?: boolean;
}

export interface MysqlServerStatus {
  server: string;
  site: string;
  reachable: boolean;
  error?: { type: MysqlFailureType; message: string };
  version?: string;
  dialect?: Dialect;
  readOnly?: boolean;
  superReadOnly?: boolean;
  /** GTIDs this server has applied (MySQL gtid_executed, MariaDB gtid_current_pos). */
  gtidExecuted?: string;
  /** What its binlog holds, i.e. what a replica of it can receive (MySQL gtid_executed, MariaDB gtid_binlog_pos). */
  gtidBinlogPos?: string;
  /** MariaDB gtid_slave_pos: the last GTIDs applied by replication. */
  gtidSlavePos?: string;
  /** MariaDB gtid_binlog_state: the last GTID per (domain, server_id) in its binlog. */
  gtidBinlogState?: string;
  /**
   * MariaDB log_slave_updates: whether its binlog also holds what it replicates. Off (the default), its
   * gtid_binlog_state lacks those transactions and cannot be compared for errant ones.
   */
  logSlaveUpdates?: boolean;
  /** server_id (MariaDB) or server_uuid (MySQL). */
  serverId?: string;
  replication?: ReplicationStatus;
}

/** read_only and friends: 0/1, OFF/ON, or (MariaDB 11.8+) an enum where anything but OFF blocks writes. */
const asBool = (value: unknown) =>
  value !== null && value !== undefined && !['0', 'OFF', ''].includes(String(value).toUpperCase());

const num = (value: unknown) =>
  value === null || value === undefined || value === '' ? undefined : Number(value);

type Query = (sql: string) => Promise<RowDataPacket[]>;

/** Reads the state of one server; throws the driver's error when it cannot. */
export async function fetchServerStatus(
  query: Query,
  server: string,
  site: string,
): Promise<MysqlServerStatus> {
  const versionRows = await query('SELECT VERSION() AS version');
  const version = String(versionRows[0]?.version ?? '');
  const dialect = detectDialect(version);
  const [state = {} as RowDataPacket] = await query(SQL[dialect].serverState);
  const [row] = await query(SQL[dialect].replicaStatus);
  const gtidExecuted = String(state.gtid_executed ?? '');
  const columns = REPLICA_COLUMNS[dialect];
  let replication: ReplicationStatus | undefined;
  if (row) {
    const retrievedGtid = String(row[columns.retrievedGtid] ?? '');
    const appliedGtid =
      dialect === 'mysql'
        ? String(row[columns.executedGtid ?? ''] ?? gtidExecuted)
        : String(state.gtid_slave_pos ?? '');
    let receivedOrApplied: string | undefined;
    let pendingTransactions: number | null = null;
    try {
      receivedOrApplied = gtidUnion(dialect, retrievedGtid, appliedGtid);
      pendingTransactions = gtidsMissing(dialect, retrievedGtid, appliedGtid);
    } catch {
      /* unparsable positions: left unknown */
    }
    const positioning = String(row[columns.gtidMode] ?? '');
    replication = {
      ioRunning: String(row[columns.ioRunning]),
      sqlRunning: String(row[columns.sqlRunning]),
      lagSeconds:
        row[columns.lag] === null || row[columns.lag] === undefined ? null : Number(row[columns.lag]),
      sourceHost: String(row[columns.sourceHost]),
      sourcePort: Number(row[columns.sourcePort]),
      retrievedGtid,
      lastIoError: String(row[columns.lastIoError] ?? ''),
      lastSqlError: String(row[columns.lastSqlError] ?? ''),
      lastIoErrno: num(row[columns.lastIoErrno]),
      lastSqlErrno: num(row[columns.lastSqlErrno]),
      sourceServerId: num(row[columns.sourceServerId]),
      sqlState: String(row[columns.sqlState] ?? ''),
      sqlDelaySeconds: num(row[columns.sqlDelay]),
      gtidPositioning:
        dialect === 'mysql' ? (positioning === '1' ? 'auto_position' : 'no') : positioning || undefined,
      appliedGtid,
      receivedOrApplied,
      pendingTransactions,
      tls: String(row[columns.sslAllowed] ?? '') === 'Yes',
    };
  }
  return {
    server,
    site,
    reachable: true,
    version,
    dialect,
    readOnly: asBool(state.read_only),
    superReadOnly: asBool(state.super_read_only),
    gtidExecuted,
    gtidBinlogPos: dialect === 'mysql' ? gtidExecuted : String(state.gtid_binlog_pos ?? ''),
    gtidSlavePos: dialect === 'mariadb' ? String(state.gtid_slave_pos ?? '') : undefined,
    gtidBinlogState: dialect === 'mariadb' ? String(state.gtid_binlog_state ?? '') : undefined,
    logSlaveUpdates: dialect === 'mariadb' ? asBool(state.log_slave_updates) : undefined,
    serverId: state.server_id === undefined ? undefined : String(state.server_id),
    replication,
  };
}

/** The state of one server; an unreachable server is reported (typed, without secrets), not thrown. */
export async function readServerStatus(
  query: Query,
  server: string,
  site: string,
  secrets: readonly string[] = [],
): Promise<MysqlServerStatus> {
  try {
    return await fetchServerStatus(query, server, site);
  } catch (err) {
    return {
      server,
      site,
      reachable: false,
      error: {
        type: classifyMysqlError(err),
        message: redact(`${(err as Error).message} (${(err as { code?: string }).code ?? 'error'})`, secrets),
      },
    };
  }
}
