import { classifyPgError, type PgFailureType } from './errors';
import { redact } from '../../common/redact';

/** One standby as the primary's pg_stat_replication shows it. */
export interface PgStandbyView {
  applicationName: string;
  clientAddr: string | null;
  /** startup, catchup, streaming, backup, stopping. */
  state: string;
  sentLsn: string | null;
  replayLsn: string | null;
  /** pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn): how far behind its replay is, in bytes. */
  replayLagBytes: number | null;
}

/** What the orchestrator reads of one PostgreSQL server. Unreachable servers are reported, not thrown. */
export interface PgServerStatus {
  server: string;
  site: string;
  reachable: boolean;
  error?: { type: PgFailureType; message: string };
  version?: string;
  /** pg_is_in_recovery(): a standby (or a server still recovering). */
  inRecovery?: boolean;
  /**
   * Primary: the timeline it writes (from its current WAL file's name: the control file's checkpoint lags a promotion
   * until the next checkpoint); standby: the timeline of its last restartpoint.
   */
  timeline?: number;
  /** Primary: pg_current_wal_lsn(). */
  currentLsn?: string;
  /** Standby: pg_last_wal_receive_lsn() and pg_last_wal_replay_lsn(). */
  receiveLsn?: string | null;
  replayLsn?: string | null;
  /** Standby: pg_stat_wal_receiver (null when no WAL receiver runs). */
  walReceiver?: { status: string; senderHost: string | null; senderPort: number | null } | null;
  /** Primary: its pg_stat_replication rows. */
  standbys?: PgStandbyView[];
  /** What pg_rewind needs of a server (pg_rewind.sgml): wal_log_hints or data checksums, and full_page_writes. */
  walLogHints?: boolean;
  dataChecksums?: boolean;
  fullPageWrites?: boolean;
  /** wal_keep_size in megabytes: WAL kept for standbys, and for a rewind back to the fork point. */
  walKeepSizeMb?: number;
}

export type Query = (sql: string) => Promise<Record<string, unknown>[]>;

const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** Reads one server: its role, LSNs, replication views and the settings pg_rewind needs. */
export async function readPgStatus(
  query: Query,
  server: string,
  site: string,
  secrets: readonly string[] = [],
): Promise<PgServerStatus> {
  try {
    const [base] = await query(
      `SELECT pg_is_in_recovery() AS in_recovery, current_setting('server_version') AS version,
              CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())
                   ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline,
              current_setting('wal_log_hints') AS wal_log_hints, current_setting('data_checksums') AS data_checksums,
              current_setting('full_page_writes') AS full_page_writes,
              pg_size_bytes(current_setting('wal_keep_size')) / 1048576 AS wal_keep_size_mb`,
    );
    const common = {
      server,
      site,
      reachable: true,
      version: String(base!.version),
      inRecovery: base!.in_recovery === true,
      timeline: Number(base!.timeline),
      walLogHints: base!.wal_log_hints === 'on',
      dataChecksums: base!.data_checksums === 'on',
      fullPageWrites: base!.full_page_writes === 'on',
      walKeepSizeMb: Number(base!.wal_keep_size_mb),
    };
    if (common.inRecovery) return { ...common, ...(await standbyView(query)) };
    return { ...common, ...(await primaryView(query)) };
  } catch (err) {
    return {
      server,
      site,
      reachable: false,
      error: { type: classifyPgError(err), message: redact((err as Error).message ?? String(err), secrets) },
    };
  }
}

async function standbyView(query: Query): Promise<Partial<PgServerStatus>> {
  const [lsns] = await query(
    'SELECT pg_last_wal_receive_lsn()::text AS receive, pg_last_wal_replay_lsn()::text AS replay',
  );
  const [receiver] = await query('SELECT status, sender_host, sender_port FROM pg_stat_wal_receiver');
  return {
    receiveLsn: text(lsns!.receive),
    replayLsn: text(lsns!.replay),
    walReceiver: receiver
      ? {
          status: String(receiver.status),
          senderHost: text(receiver.sender_host),
          senderPort: receiver.sender_port === null ? null : Number(receiver.sender_port),
        }
      : null,
  };
}

async function primaryView(query: Query): Promise<Partial<PgServerStatus>> {
  const [current] = await query('SELECT pg_current_wal_lsn()::text AS lsn');
  const rows = await query(
    `SELECT application_name, client_addr::text AS client_addr, state, sent_lsn::text AS sent_lsn,
            replay_lsn::text AS replay_lsn, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS lag
       FROM pg_stat_replication ORDER BY application_name`,
  );
  return {
    currentLsn: String(current!.lsn),
    standbys: rows.map((r) => ({
      applicationName: String(r.application_name),
      clientAddr: text(r.client_addr),
      state: String(r.state),
      sentLsn: text(r.sent_lsn),
      replayLsn: text(r.replay_lsn),
      replayLagBytes: r.lag === null ? null : Number(r.lag),
    })),
  };
}
