import type { RowDataPacket } from 'mysql2/promise';
import { gtidsMissing, gtidUnion } from '../../common/gtid';
import { redact, withoutQuotedValues } from '../../common/redact';
import { classifyMysqlError } from './errors';
import type { MysqlServerStatus, RebuildMark, ReplicationStatus } from '../../common/mysql-status';
import { detectDialect, REBUILD_MARK, REPLICA_COLUMNS, SEMI_SYNC_VARIABLES, SQL } from './dialect';

export type { MysqlServerStatus, RebuildMark, ReplicationStatus } from '../../common/mysql-status';
import type { SemiSyncSide } from '../../common/mysql-status';

/** read_only and friends: 0/1, OFF/ON, or (MariaDB 11.8+) an enum where anything but OFF blocks writes. */
const asBool = (value: unknown) =>
  value !== null && value !== undefined && !['0', 'OFF', ''].includes(String(value).toUpperCase());

/**
 * A GTID set or position as one line: MySQL prints a set of several source uuids with ",\n" between them
 * (Gtid_set::default_string_format in mysql-server sql/rpl_gtid_set.cc), which no other reader expects.
 */
const gtidText = (value: unknown) => String(value ?? '').replace(/\s+/g, '');

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
  const gtidExecuted = gtidText(state.gtid_executed);
  const columns = REPLICA_COLUMNS[dialect];
  let replication: ReplicationStatus | undefined;
  if (row) {
    const retrievedGtid = gtidText(row[columns.retrievedGtid]);
    const appliedGtid =
      dialect === 'mysql'
        ? gtidText(row[columns.executedGtid ?? ''] ?? gtidExecuted)
        : gtidText(state.gtid_slave_pos);
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
      // The applier's error may quote the row it failed on ("Duplicate entry '…'"): those values stay out.
      lastSqlError: withoutQuotedValues(String(row[columns.lastSqlError] ?? '')),
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
  const rebuildIncomplete = dialect === 'mariadb' ? await readRebuildMark(query) : undefined;
  const semiSync = semiSyncOf(await query(SQL[dialect].semiSyncVariables));
  return {
    server,
    site,
    reachable: true,
    version,
    dialect,
    readOnly: asBool(state.read_only),
    superReadOnly: asBool(state.super_read_only),
    gtidExecuted,
    gtidBinlogPos: dialect === 'mysql' ? gtidExecuted : gtidText(state.gtid_binlog_pos),
    gtidSlavePos: dialect === 'mariadb' ? gtidText(state.gtid_slave_pos) : undefined,
    gtidBinlogState: dialect === 'mariadb' ? gtidText(state.gtid_binlog_state) : undefined,
    logSlaveUpdates: dialect === 'mariadb' ? asBool(state.log_slave_updates) : undefined,
    gtidMode: dialect === 'mysql' ? String(state.gtid_mode ?? '') : undefined,
    enforceGtidConsistency: dialect === 'mysql' ? String(state.enforce_gtid_consistency ?? '') : undefined,
    semiSync,
    serverId: state.server_id === undefined ? undefined : String(state.server_id),
    replication,
    ...(rebuildIncomplete ? { rebuildIncomplete } : {}),
  };
}

/** The semi-sync switches from SHOW GLOBAL VARIABLES rows (Variable_name, Value), by whichever name the server has. */
function semiSyncOf(rows: RowDataPacket[]): { source?: SemiSyncSide; replica?: SemiSyncSide } {
  const values = new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), r.Value]));
  const side = (names: readonly string[]): SemiSyncSide | undefined => {
    const variable = names.find((name) => values.has(name));
    return variable === undefined ? undefined : { variable, enabled: asBool(values.get(variable)) };
  };
  return { source: side(SEMI_SYNC_VARIABLES.source), replica: side(SEMI_SYNC_VARIABLES.replica) };
}

/** The mark of an incomplete rebuild, when the server holds one (see REBUILD_MARK). */
async function readRebuildMark(query: Query): Promise<RebuildMark | undefined> {
  const [table] = await query(REBUILD_MARK.exists);
  if (!Number(table?.n)) return undefined;
  const [row] = await query(REBUILD_MARK.read);
  return row ? { startedAt: String(row.started_at), source: String(row.source) } : undefined;
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
