import { heartbeat, log } from '@temporalio/activity';
import { lsnDiff } from '../../common/pg-lsn';
import { shellQuote } from '../apps/remote-command';
import type { RunbookRegistry } from '../runbooks';
import type { PgConnections } from './connections';
import { pgDecision } from './errors';
import { lastLines, type PgHost } from './remote';
import type { PgServerStatus } from './status';
import { COMMAND_MS, PG_CTL_WAIT_SECONDS, POLL_MS, READ_MS, sleep } from './timing';

/** What pg_rewind did to the old primary, read from its own output (src/bin/pg_rewind/pg_rewind.c). */
export interface RewindReport {
  /** False when pg_rewind said "no rewind required": the old primary wrote nothing the new one lacks. */
  required: boolean;
  /** "servers diverged at WAL location X on timeline N". */
  divergedAt?: string;
  divergedTimeline?: number;
  /** "rewinding from last common checkpoint at X on timeline N". */
  lastCommonCheckpoint?: string;
  /** Where the old primary's WAL ended (the checkpoint of its clean stop, after crash recovery if it died). */
  oldEndLsn: string;
  /** Bytes of WAL the old primary held past the divergence point: what the rewind threw away. */
  rewoundBytes?: number;
  sentence: string;
}

export interface RejoinResult {
  server: string;
  source: string;
  alreadyStandby: boolean;
  steps: string[];
  rewind?: RewindReport;
  description: string;
}

interface RejoinDeps {
  runbooks: RunbookRegistry;
  connections: PgConnections;
  host(pair: string, name: string): PgHost;
  status(pair: string, name: string): Promise<PgServerStatus>;
  exec(pair: string, server: string, sql: string): Promise<Record<string, unknown>[]>;
}

const CLEAN_STATES = new Set(['shut down', 'shut down in recovery']);
const STREAMING_WAIT_MS = 60_000;

/** A conninfo value in single quotes (libpq: backslash and quote escaped). */
export const conninfoValue = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/** A postgresql.conf string: its lexer (guc-file.l, GUC_scanstr) reads backslash escapes, and a doubled quote as one. */
export const confString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export function createPgRejoinActivities({ connections, host, status, exec }: RejoinDeps) {
  const streamsFrom = (s: PgServerStatus, source: { host: string; port: number }) =>
    s.reachable &&
    !!s.inRecovery &&
    s.walReceiver?.status === 'streaming' &&
    s.walReceiver.senderPort === source.port &&
    s.walReceiver.senderHost === source.host;

  /**
   * Stops `h` cleanly if it runs; a server that died (SIGKILL, power) gets crash recovery in single-user mode first,
   * as pg_rewind would itself (ensureCleanShutdown), so that its control file gives the end of its WAL.
   */
  async function stopCleanly(h: PgHost, steps: string[]): Promise<string> {
    if (await h.stop(READ_MS, PG_CTL_WAIT_SECONDS)) steps.push('pg_ctl stop -m fast');
    let control = await h.controlData(READ_MS);
    if (!CLEAN_STATES.has(control.state)) {
      await h.check(
        `${h.tool('postgres', '--single', '-F', '-D', h.dataDirectory, 'template1')} </dev/null`,
        'crash recovery (postgres --single)',
        COMMAND_MS * 4,
      );
      steps.push(`crash recovery in single-user mode (the control file said "${control.state}")`);
      control = await h.controlData(READ_MS);
    }
    if (!control.walLogHints && !control.dataChecksums)
      throw pgDecision(
        'NotRewindable',
        `${h.server.name} cannot be rewound: its control file says wal_log_hints off and no data checksums, and pg_rewind needs one of them; rebuild it from the new primary (pg_basebackup) by hand, or turn wal_log_hints on before the next failover.`,
      );
    return control.checkpointLsn;
  }

  /** Runs pg_rewind against the source server and reads what it did. */
  async function rewind(pair: string, h: PgHost, source: string, oldEndLsn: string): Promise<RewindReport> {
    const settings = connections.settings(pair);
    const src = connections.server(pair, source);
    const conninfo = `host=${conninfoValue(src.host)} port=${src.port} user=${conninfoValue(settings.user)} dbname=${conninfoValue(settings.database)}`;
    const r = await h.run(
      `PGPASSWORD=${shellQuote(connections.password(pair))} ${h.tool('pg_rewind', '-D', h.dataDirectory, `--source-server=${conninfo}`)} 2>&1`,
      `pg_rewind from ${source}`,
      COMMAND_MS * 8,
    );
    if (r.exitCode !== 0)
      throw pgDecision(
        'PostgresCommandFailed',
        `${h.server.name}: pg_rewind from ${source} failed (exit ${r.exitCode ?? r.signal}): ${lastLines(r.stdout)}`,
      );
    return readRewindOutput(r.stdout, h.server.name, oldEndLsn);
  }

  return {
    /**
     * Makes an old primary a streaming standby of `source` (the failback's reprotect): stopped cleanly, a CHECKPOINT
     * on the source first (so that pg_rewind sees its new timeline in its control file), pg_rewind, then
     * standby.signal and primary_conninfo (the replication account, application_name the server's name) and
     * started; done once its WAL receiver streams from the source. Idempotent: a server that streams from the source
     * already is only read.
     */
    async pgRejoinAsStandby(input: { pair: string; server: string; source: string }): Promise<RejoinResult> {
      const src = connections.server(input.pair, input.source);
      const before = await status(input.pair, input.server);
      if (streamsFrom(before, src)) {
        const description = `${input.server} already streams from ${input.source}.`;
        return { server: input.server, source: input.source, alreadyStandby: true, steps: [], description };
      }
      const h = host(input.pair, input.server);
      const steps: string[] = [];
      const oldEndLsn = await stopCleanly(h, steps);
      await exec(input.pair, input.source, 'CHECKPOINT');
      steps.push(`CHECKPOINT on ${input.source}`);
      const report = await rewind(input.pair, h, input.source, oldEndLsn);
      steps.push(`pg_rewind from ${input.source}${report.required ? '' : ' (no rewind required)'}`);
      await h.check(
        standbyScript(h, connections, input.pair, src.host, src.port),
        'write standby.signal and primary_conninfo',
        READ_MS,
      );
      steps.push(`standby.signal and primary_conninfo (${src.host}:${src.port})`);
      await h.start(COMMAND_MS, PG_CTL_WAIT_SECONDS);
      steps.push('pg_ctl start');
      const deadline = Date.now() + STREAMING_WAIT_MS;
      for (;;) {
        const s = await status(input.pair, input.server);
        if (streamsFrom(s, src)) break;
        if (Date.now() > deadline)
          throw pgDecision(
            'StandbyNotStreaming',
            `${input.server} started as a standby but does not stream from ${input.source} after ${STREAMING_WAIT_MS / 1000}s (WAL receiver ${s.walReceiver?.status ?? 'not running'}${s.error ? `; ${s.error.message}` : ''}); its log ${h.logFile} says why.`,
          );
        heartbeat({ server: input.server, waiting: 'streaming' });
        await sleep(POLL_MS);
      }
      const description = `${input.server} streams from ${input.source} as a standby (${steps.join('; ')}); ${report.sentence}`;
      log.info(description);
      return {
        server: input.server,
        source: input.source,
        alreadyStandby: false,
        steps,
        rewind: report,
        description,
      };
    },
  };
}

/**
 * The script that makes a stopped data directory start as a standby of host:port: standby.signal, and
 * primary_conninfo in postgresql.auto.conf (read last, so it wins over postgresql.conf), replacing the one pg_rewind
 * copied from the source. Its text holds the replication password: it is never shown.
 */
function standbyScript(
  h: PgHost,
  connections: PgConnections,
  pair: string,
  host: string,
  port: number,
): string {
  const { user, password } = connections.replicationCredentials(pair);
  const conninfo = [
    `host=${conninfoValue(host)}`,
    `port=${port}`,
    `user=${conninfoValue(user)}`,
    `password=${conninfoValue(password)}`,
    `application_name=${conninfoValue(h.server.name)}`,
  ].join(' ');
  const auto = `${h.dataDirectory}/postgresql.auto.conf`;
  return [
    'set -e',
    `touch ${shellQuote(auto)}`,
    `sed -i '/^[[:space:]]*primary_conninfo[[:space:]]*=/d' ${shellQuote(auto)}`,
    `printf '%s\\n' ${shellQuote(`primary_conninfo = ${confString(conninfo)}`)} >> ${shellQuote(auto)}`,
    `touch ${shellQuote(`${h.dataDirectory}/standby.signal`)}`,
  ].join('\n');
}

/** What pg_rewind's output says it did; `oldEndLsn` is where the old primary's WAL ended. */
export function readRewindOutput(output: string, server: string, oldEndLsn: string): RewindReport {
  if (/no rewind required/.test(output))
    return {
      required: false,
      oldEndLsn,
      rewoundBytes: 0,
      sentence: `pg_rewind found nothing to rewind: ${server} wrote nothing past the point where the new primary's timeline began (its WAL ends at ${oldEndLsn}).`,
    };
  const diverged = /servers diverged at WAL location ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(output);
  const checkpoint =
    /rewinding from last common checkpoint at ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(output);
  const divergedAt = diverged?.[1];
  const rewoundBytes = divergedAt ? Math.max(0, lsnDiff(oldEndLsn, divergedAt)) : undefined;
  return {
    required: true,
    ...(divergedAt ? { divergedAt, divergedTimeline: Number(diverged![2]) } : {}),
    ...(checkpoint ? { lastCommonCheckpoint: checkpoint[1] } : {}),
    oldEndLsn,
    ...(rewoundBytes !== undefined ? { rewoundBytes } : {}),
    sentence: divergedAt
      ? `pg_rewind rewound ${server}: it diverged from the new primary at ${divergedAt} (timeline ${diverged![2]}) and its WAL ended at ${oldEndLsn}, so ${rewoundBytes} byte(s) of WAL it wrote after the divergence — transactions the new primary never received — were discarded (rewound from the last common checkpoint ${checkpoint?.[1] ?? 'unknown'}).`
      : `pg_rewind rewound ${server} (its output names no divergence point: ${lastLines(output, 3)}).`,
  };
}
