import type { Pool, RowDataPacket } from 'mysql2/promise';
import { classifyMysqlError, type MysqlFailureType } from './errors';
import { detectDialect, REPLICA_COLUMNS, SQL, type Dialect } from './dialect';

export interface ReplicationStatus {
  ioRunning: 'Yes' | 'No' | 'Connecting' | string;
  sqlRunning: 'Yes' | 'No' | string;
  lagSeconds: number | null;
  sourceHost: string;
  sourcePort: number;
  /** GTIDs received from the source (MySQL Retrieved_Gtid_Set, MariaDB Gtid_IO_Pos). */
  retrievedGtid: string;
  lastIoError: string;
  lastSqlError: string;
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
  replication?: ReplicationStatus;
}

const asBool = (value: unknown) => value === 1 || value === '1' || value === 'ON';

export async function readServerStatus(pool: Pool, server: string, site: string): Promise<MysqlServerStatus> {
  try {
    const [versionRows] = await pool.query<RowDataPacket[]>('SELECT VERSION() AS version');
    const version = String(versionRows[0]?.version ?? '');
    const dialect = detectDialect(version);
    const [stateRows] = await pool.query<RowDataPacket[]>(SQL[dialect].serverState);
    const state: RowDataPacket = stateRows[0] ?? ({} as RowDataPacket);
    const [replicaRows] = await pool.query<RowDataPacket[]>(SQL[dialect].replicaStatus);
    const columns = REPLICA_COLUMNS[dialect];
    const row = replicaRows[0];
    const replication: ReplicationStatus | undefined = row && {
      ioRunning: String(row[columns.ioRunning]),
      sqlRunning: String(row[columns.sqlRunning]),
      lagSeconds: row[columns.lag] === null ? null : Number(row[columns.lag]),
      sourceHost: String(row[columns.sourceHost]),
      sourcePort: Number(row[columns.sourcePort]),
      retrievedGtid: String(row[columns.retrievedGtid] ?? ''),
      lastIoError: String(row[columns.lastIoError] ?? ''),
      lastSqlError: String(row[columns.lastSqlError] ?? ''),
    };
    return {
      server,
      site,
      reachable: true,
      version,
      dialect,
      readOnly: asBool(state.read_only),
      superReadOnly: asBool(state.super_read_only),
      gtidExecuted: String(state.gtid_executed ?? ''),
      replication,
    };
  } catch (err) {
    return {
      server,
      site,
      reachable: false,
      error: {
        type: classifyMysqlError(err),
        message: `${(err as Error).message} (${(err as { code?: string }).code ?? 'error'})`,
      },
    };
  }
}
