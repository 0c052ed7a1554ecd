import { heartbeat, log } from '@temporalio/activity';
import { lsnBytes } from '../../common/pg-lsn';
import type { SshClient } from '../apps/ssh';
import type { RunbookRegistry } from '../runbooks';
import type { PgConnections } from './connections';
import { pgDecision, pgFailure } from './errors';
import { PgHost, type ControlData } from './remote';
import { createPgRejoinActivities } from './rejoin';
import { createPgSalvageActivities } from './salvage';
import { readPgStatus, type PgServerStatus } from './status';
import { COMMAND_MS, PG_CTL_WAIT_SECONDS, POLL_MS, READ_MS, sleep } from './timing';

export type { PgServerStatus, PgStandbyView } from './status';
export type { ControlData } from './remote';
export type { RejoinResult, RewindReport } from './rejoin';
export type { PgSalvageResult } from './salvage';

export interface PostgresqlActivityDeps {
  runbooks: RunbookRegistry;
  connections: PgConnections;
  /** SSH to the database hosts: pg_ctl, pg_controldata, pg_rewind. */
  ssh: SshClient;
}

/** The fence: the old primary stopped, and what its control file says of that stop. */
export interface PgStopResult {
  server: string;
  alreadyStopped: boolean;
  steps: string[];
  /** The control file after the stop: its state and last checkpoint (the shutdown checkpoint of a clean stop). */
  control: ControlData;
  /** "shut down": the stop was clean, so the checkpoint location is the last WAL record the server wrote. */
  cleanShutdown: boolean;
  description: string;
}

export interface PgCatchUpResult {
  server: string;
  /** The LSN the replay had to pass, and where it came from. */
  target: string;
  targetFrom: string;
  replayLsn: string;
  alreadyCaughtUp: boolean;
  waitedMs: number;
  description: string;
}

export interface PgPromoteResult {
  server: string;
  alreadyPromoted: boolean;
  steps: string[];
  timeline: number;
  currentLsn: string;
  description: string;
}

export interface PgStartResult {
  server: string;
  alreadyRunning: boolean;
  steps: string[];
  description: string;
}

export function createPostgresqlActivities({ runbooks, connections, ssh }: PostgresqlActivityDeps) {
  const status = (pair: string, name: string): Promise<PgServerStatus> => {
    const s = connections.server(pair, name);
    return readPgStatus(
      (sql) => connections.query(pair, name, sql),
      s.name,
      s.site,
      connections.secrets(pair),
    );
  };
  /** A server's status when it answers; one that does not fails with its typed error (retryable as typed). */
  const answering = async (pair: string, name: string): Promise<PgServerStatus> => {
    const s = await status(pair, name);
    if (!s.reachable) throw pgDecision(s.error!.type, `${name}: ${s.error!.message}`);
    return s;
  };
  /** Runs one statement; a failure is typed, without secrets. */
  const exec = async (
    pair: string,
    server: string,
    sql: string,
    values: unknown[] = [],
    timeoutMs?: number,
  ) => {
    try {
      return await connections.query(pair, server, sql, values, timeoutMs);
    } catch (err) {
      throw pgFailure(server, err, connections.secrets(pair));
    }
  };
  const host = (pair: string, name: string) =>
    new PgHost(
      ssh,
      connections.settings(pair),
      connections.server(pair, name),
      connections.baseDir(pair),
      connections.secrets(pair),
    );

  return {
    /** Reads, in parallel, every PostgreSQL server of the pair. Unreachable servers are reported, not thrown. */
    async pgServerStatuses(input: { pair: string }): Promise<PgServerStatus[]> {
      const servers = connections.settings(input.pair).servers;
      return Promise.all(servers.map((s) => status(input.pair, s.name)));
    },

    async pgServerStatus(input: { pair: string; server: string }): Promise<PgServerStatus> {
      return status(input.pair, input.server);
    },

    /**
     * The control file of a server's data directory, read over SSH with pg_controldata (whether the server runs or
     * not): its state, last checkpoint, and whether pg_rewind could run on it (wal_log_hints or data checksums).
     */
    async pgControlData(input: { pair: string; server: string }): Promise<ControlData> {
      return host(input.pair, input.server).controlData(READ_MS);
    },

    /**
     * The fence: stops the server with `pg_ctl stop -m fast` over SSH (sessions ended, transactions in flight rolled
     * back, a shutdown checkpoint written, and — the walsenders exit only once the connected standbys confirmed all
     * WAL — everything it wrote streamed), then reads its control file. A stopped server takes no write whatever a
     * session sets, unlike default_transaction_read_only. Idempotent: a stopped server is only read.
     */
    async pgStopServer(input: { pair: string; server: string }): Promise<PgStopResult> {
      const h = host(input.pair, input.server);
      const steps: string[] = [];
      const stopped = await h.stop(READ_MS, PG_CTL_WAIT_SECONDS);
      if (stopped) steps.push('pg_ctl stop -m fast');
      const control = await h.controlData(READ_MS);
      const cleanShutdown = control.state === 'shut down';
      const how = cleanShutdown
        ? `cleanly (shutdown checkpoint at ${control.checkpointLsn} on timeline ${control.timeline})`
        : `but not cleanly: its control file says "${control.state}" (last checkpoint ${control.checkpointLsn})`;
      const description = stopped
        ? `${input.server} is stopped (pg_ctl stop -m fast) ${how}.`
        : `${input.server} was already stopped ${how}.`;
      log.info(description);
      return { server: input.server, alreadyStopped: !stopped, steps, control, cleanShutdown, description };
    },

    /**
     * Waits until the standby has replayed past `untilLsn` (planned: the stopped primary's shutdown checkpoint, the
     * last record it wrote: pg_last_wal_replay_lsn() is the end of the last record replayed, so it is past that
     * checkpoint's start exactly when the checkpoint is replayed), or without it until it has replayed everything
     * it received. Polls, heartbeating; StandbyNotCaughtUp after `timeoutMs`.
     */
    async pgCatchUp(input: {
      pair: string;
      server: string;
      untilLsn?: string;
      timeoutMs?: number;
    }): Promise<PgCatchUpResult> {
      const started = Date.now();
      const deadline = started + (input.timeoutMs ?? 300_000);
      let target = input.untilLsn;
      const targetFrom = target ? "the stopped primary's shutdown checkpoint" : 'what it has received';
      for (let polls = 0; ; polls++) {
        const s = await answering(input.pair, input.server);
        if (!s.inRecovery)
          throw pgDecision(
            'StandbyNotCaughtUp',
            `${input.server} is not a standby (not in recovery): it cannot catch up; a human must look.`,
          );
        const replay = s.replayLsn ?? '0/0';
        target ??= s.receiveLsn ?? replay;
        const done = input.untilLsn
          ? lsnBytes(replay) > lsnBytes(target)
          : lsnBytes(replay) >= lsnBytes(target);
        if (done) {
          const waitedMs = Date.now() - started;
          const description = `${input.server} has replayed ${input.untilLsn ? 'past' : 'up to'} ${target} (${targetFrom}): replay at ${replay}${polls === 0 ? ' already' : ` after ${waitedMs} ms`}.`;
          log.info(description);
          return {
            server: input.server,
            target,
            targetFrom,
            replayLsn: replay,
            alreadyCaughtUp: polls === 0,
            waitedMs,
            description,
          };
        }
        if (Date.now() > deadline)
          throw pgDecision(
            'StandbyNotCaughtUp',
            `${input.server} did not replay ${input.untilLsn ? 'past' : 'up to'} ${target} (${targetFrom}) within ${Math.round((input.timeoutMs ?? 300_000) / 1000)}s: replay at ${replay}, received up to ${s.receiveLsn ?? 'nothing'}, WAL receiver ${s.walReceiver?.status ?? 'not running'}.`,
            { server: input.server, target, replayLsn: replay },
          );
        heartbeat({ server: input.server, target, replay });
        await sleep(POLL_MS);
      }
    },

    /** Promotes a standby with pg_promote(wait => true). Idempotent: a server out of recovery is only read. */
    async pgPromote(input: { pair: string; server: string }): Promise<PgPromoteResult> {
      const before = await answering(input.pair, input.server);
      const steps: string[] = [];
      if (before.inRecovery) {
        const [r] = await exec(
          input.pair,
          input.server,
          'SELECT pg_promote(true, 60) AS promoted',
          [],
          75_000,
        );
        steps.push('SELECT pg_promote(wait => true, wait_seconds => 60)');
        if (r?.promoted !== true)
          throw pgDecision(
            'PromoteFailed',
            `${input.server}: pg_promote did not finish within 60s (it answered false); the server may still be promoting: a retry reads it again.`,
          );
      }
      const after = await status(input.pair, input.server);
      if (!after.reachable || after.inRecovery)
        throw pgDecision('PromoteFailed', `${input.server} is still in recovery after pg_promote.`);
      const description = before.inRecovery
        ? `${input.server} is the primary (pg_promote): timeline ${after.timeline}, WAL at ${after.currentLsn}.`
        : `${input.server} was already a primary (timeline ${after.timeline}, WAL at ${after.currentLsn}).`;
      log.info(description);
      return {
        server: input.server,
        alreadyPromoted: !before.inRecovery,
        steps,
        timeline: after.timeline!,
        currentLsn: after.currentLsn!,
        description,
      };
    },

    /**
     * Undoes the fence (a planned move's compensation before the point of no return): the stopped primary starts again
     * as the primary. Refuses a data directory that holds standby.signal (UnfenceOfStandby): that server must come
     * back as a standby, through the failback. Idempotent: a running server is left as it is.
     */
    async pgStartServer(input: { pair: string; server: string }): Promise<PgStartResult> {
      const h = host(input.pair, input.server);
      if (await h.running(READ_MS))
        return {
          server: input.server,
          alreadyRunning: true,
          steps: [],
          description: `${input.server} already runs.`,
        };
      const signal = await h.run(
        `test -e ${h.dataDirectory}/standby.signal`,
        'test for standby.signal',
        READ_MS,
      );
      if (signal.exitCode === 0)
        throw pgDecision(
          'UnfenceOfStandby',
          `refusing to start ${input.server} as the primary: its data directory holds standby.signal, so it comes back as a standby (failback) or a human decides.`,
        );
      await h.start(COMMAND_MS, PG_CTL_WAIT_SECONDS);
      const description = `${input.server} runs again as the primary (pg_ctl start).`;
      log.info(description);
      return { server: input.server, alreadyRunning: false, steps: ['pg_ctl start'], description };
    },

    ...createPgSalvageActivities({ host, answering }),
    ...createPgRejoinActivities({ runbooks, connections, host, status, exec }),
  };
}

export type PostgresqlActivities = ReturnType<typeof createPostgresqlActivities>;
