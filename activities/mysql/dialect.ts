/**
 * Every statement the orchestrator sends to MySQL 8 or MariaDB, per dialect, in one place.
 * Checked against the MySQL 8.0 reference manual and the MariaDB knowledge base.
 */
export type Dialect = 'mysql' | 'mariadb';

export function detectDialect(version: string): Dialect {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
}

export interface DialectSql {
  /** Global variables read for the server's own state. */
  serverState: string;
  /** Replication status of this server as a replica (no rows when it replicates from nobody). */
  replicaStatus: string;
}

export const SQL: Record<Dialect, DialectSql> = {
  mysql: {
    serverState:
      'SELECT @@global.read_only AS read_only, @@global.super_read_only AS super_read_only, ' +
      '@@global.gtid_executed AS gtid_executed, @@global.gtid_mode AS gtid_mode, @@global.server_uuid AS server_id',
    replicaStatus: 'SHOW REPLICA STATUS',
  },
  mariadb: {
    serverState:
      'SELECT @@global.read_only AS read_only, 0 AS super_read_only, ' +
      '@@global.gtid_current_pos AS gtid_executed, @@global.gtid_strict_mode AS gtid_mode, @@global.server_id AS server_id, ' +
      '@@global.gtid_slave_pos AS gtid_slave_pos, @@global.gtid_binlog_pos AS gtid_binlog_pos',
    // MariaDB 10.5.1+ accepts SHOW REPLICA STATUS as an alias and keeps the Slave_/Master_ column names.
    replicaStatus: 'SHOW SLAVE STATUS',
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
  },
};
