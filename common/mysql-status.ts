import { mariadbMaxPos } from './gtid';
import type { MysqlFailureType } from './mysql-failures';

/** The SQL dialect a server speaks: MySQL 8 or MariaDB. */
export type Dialect = 'mysql' | 'mariadb';

/** What a replica reports of its replication (SHOW REPLICA/SLAVE STATUS and the GTID variables). */
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

/** One side of semi-synchronous replication: its switch's name on this server, and whether it is on. */
export interface SemiSyncSide {
  variable: string;
  enabled: boolean;
}

/** A rebuild that changed the server and has not finished: the server holds part of a copy. */
export interface RebuildMark {
  /** When it started (ISO 8601), and the server it copied from. */
  startedAt: string;
  source: string;
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
  /** MySQL gtid_mode (OFF, OFF_PERMISSIVE, ON_PERMISSIVE, ON); MariaDB has GTIDs always and no such variable. */
  gtidMode?: string;
  /** MySQL enforce_gtid_consistency (OFF, ON, WARN). */
  enforceGtidConsistency?: string;
  /** Semi-synchronous replication, each side by the variable name the server has; a side is absent when its
   *  plugin is not loaded (MySQL). */
  semiSync?: { source?: SemiSyncSide; replica?: SemiSyncSide };
  /** server_id (MariaDB) or server_uuid (MySQL). */
  serverId?: string;
  replication?: ReplicationStatus;
  /** MariaDB: set while the server holds an incomplete rebuild; repoint, promote and unfence refuse it. */
  rebuildIncomplete?: RebuildMark;
}

/**
 * The GTIDs a server holds, as a replica would resume from them: MySQL's gtid_executed; on MariaDB the later, per
 * domain, of what replication applied (gtid_slave_pos) and what its binlog holds (gtid_binlog_pos).
 */
export function appliedPosition(status: MysqlServerStatus): string {
  if (status.dialect === 'mysql') return status.gtidExecuted ?? '';
  return mariadbMaxPos(status.gtidSlavePos ?? '', status.gtidBinlogPos ?? '');
}
