import { heartbeat, log } from '@temporalio/activity';
import { chooseCandidate, type CandidateChoice } from '../../common/mysql-candidates';
import {
  gtidsMissing,
  tryGtidsMissing,
  mariadbErrantRanges,
  mariadbMaxPos,
  mysqlGtidElements,
  mysqlGtidsMissing,
  type MariadbErrantRange,
} from '../../common/gtid';
import { durationMs } from '../../config/duration';
import type { RunbookRegistry } from '../runbooks';
import type { MysqlConnections } from './connections';
import {
  changeSourceStatement,
  type SourceSettings,
  gtidSubtractStatement,
  killConnectionSql,
  MARIADB_BINLOG,
  PROTECTED_COMMANDS,
  PROTECTED_USERS,
  repointMode,
  SQL,
  SQL_THREAD_IDLE,
  waitForGtidStatement,
  waitReached,
  type Dialect,
  type RepointMode,
} from './dialect';
import { mysqlDecision, refuseIncompleteRebuild } from './errors';
import {
  catchUpInput,
  checkedInput,
  fenceInput,
  invalidInput,
  promoteInput,
  repointInput,
  type CatchUpInput,
  type FenceInput,
  type PromoteInput,
  type RepointInput,
} from './inputs';
import { findReadOnlyBypass, type ReadOnlyBypass } from './read-only-bypass';
import { MysqlSession } from './session';
import { pairUsesSemiSync, semiSyncStatement } from './semi-sync';
import { readServerStatus, type MysqlServerStatus } from './status';
import { throwIfCancelled } from '../activity-context';

/** Seconds a repointed replica waits between attempts to connect to its new source (MASTER_CONNECT_RETRY). */
export const REPLICATION_CONNECT_RETRY_SECONDS = 5;

export interface CatchUpResult {
  server: string;
  /** The GTIDs it had to apply. */
  target: string;
  /** Where the target came from: a server name, "input", or "relay log" (what it had received). */
  targetFrom: string;
  /** The GTIDs it has applied now. */
  applied: string;
  alreadyCaughtUp: boolean;
  waitedMs: number;
  /** Set when the source is gone and the relay log ends in a transaction that will never complete. */
  incompleteTail?: boolean;
}

export interface FenceResult {
  server: string;
  alreadyFenced: boolean;
  readOnly: true;
  killedConnections: number;
  /** What its binlog holds once fenced: every acknowledged write is in here (wait for it before promoting). */
  gtidBinlogPos: string;
  /** Statements run, in order (client sessions ended, then read-only set). */
  steps: string[];
  /**
   * MariaDB: accounts read_only does not stop (READ ONLY ADMIN, directly or through a role), "'user'@'host'".
   * MySQL: none (super_read_only stops every client account).
   */
  writersDespiteReadOnly: string[];
  /** What the fence could not make sure of, one plain sentence each (empty when nothing). */
  notGuaranteed: string[];
  /** The outcome in plain sentences: what was done, who can still write, what is not guaranteed. */
  description: string;
}

export interface PromoteResult {
  server: string;
  alreadyPromoted: boolean;
  /** Statements run, in order (none when it was already promoted). */
  steps: string[];
  gtidBinlogPos: string;
  /** Other servers of the pair that could not be checked for writability. */
  unreachableOthers: string[];
}

export interface ErrantTransactionsReport {
  server: string;
  reference: string;
  dialect: Dialect;
  /** GTIDs the server has and the reference lacks (MySQL: GTID set elements; MariaDB: single GTIDs). */
  gtids: string[];
  /** How many transactions; a lower bound when `truncated`. */
  count: number;
  /** MariaDB: per originating server, the last GTID the reference has and the server's last one. */
  ranges?: MariadbErrantRange[];
  /** MariaDB: the binlog scan that lists them stopped at its limit. */
  truncated?: boolean;
  sentence: string;
}

export interface RepointResult {
  server: string;
  source: string;
  alreadyReplicating: boolean;
  mode: RepointMode;
  steps: string[];
  ioRunning: string;
  sqlRunning: string;
}

export interface FailoverActivityDeps {
  runbooks: RunbookRegistry;
  connections: MysqlConnections;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GTIDs a server has applied, in the form its wait function compares against. */
function appliedOf(status: MysqlServerStatus): string {
  if (status.dialect === 'mysql') return status.gtidExecuted ?? '';
  return mariadbMaxPos(status.gtidSlavePos ?? '', status.gtidExecuted ?? '');
}

const writable = (s: MysqlServerStatus) => s.reachable && !s.readOnly && !s.superReadOnly;

export function createMysqlFailoverActivities({ runbooks, connections }: FailoverActivityDeps) {
  const open = (pair: string, server: string) => MysqlSession.open(connections, pair, server);

  async function statuses(pair: string, except?: string): Promise<MysqlServerStatus[]> {
    const secrets = connections.secrets(pair);
    return Promise.all(
      runbooks
        .get(pair)
        .runbook.mysql.servers.filter((s) => s.name !== except)
        .map((s) => readServerStatus((sql) => connections.query(pair, s.name, sql), s.name, s.site, secrets)),
    );
  }

  /** What a catch-up waits for: `untilGtid`, the binlog of `untilServer`, or by default what it has received. */
  async function catchUpTarget(
    input: CatchUpInput,
    session: MysqlSession,
    status: MysqlServerStatus,
  ): Promise<{ target: string; targetFrom: string }> {
    if (input.untilGtid !== undefined) {
      const readable = tryGtidsMissing(session.dialect, input.untilGtid, '');
      if ('error' in readable) throw invalidInput('mysqlCatchUp', [`untilGtid: ${readable.error}`]);
      return { target: input.untilGtid, targetFrom: 'input' };
    }
    if (input.untilServer) {
      const other = await open(input.pair, input.untilServer);
      return { target: (await other.status()).gtidBinlogPos ?? '', targetFrom: input.untilServer };
    }
    if (!status.replication)
      throw mysqlDecision('NotAReplica', `${input.server} is not a replica: it has nothing to catch up on.`);
    return { target: status.replication.retrievedGtid, targetFrom: 'relay log' };
  }

  return {
    /** The state of one server of the pair; an unreachable server is reported, not thrown. */
    async mysqlServerStatus(input: { pair: string; server: string }): Promise<MysqlServerStatus> {
      const config = connections.server(input.pair, input.server);
      return readServerStatus(
        (sql) => connections.query(input.pair, config.name, sql),
        config.name,
        config.site,
        connections.secrets(input.pair),
      );
    },

    /**
     * Chooses the replica to promote: the most advanced eligible one GTID-wise. Fails with `NoCandidate`
     * or, when its lag exceeds `maxLagSeconds` (default: the runbook's), `CandidateTooFarBehind`.
     */
    async mysqlSelectCandidate(input: {
      pair: string;
      exclude?: string[];
      site?: string;
      maxLagSeconds?: number;
    }): Promise<CandidateChoice> {
      const all = await statuses(input.pair);
      const choice = chooseCandidate(all, {
        exclude: input.exclude,
        site: input.site,
        maxLagSeconds: input.maxLagSeconds ?? runbooks.get(input.pair).runbook.mysql.maxLagSeconds,
      });
      log.info(choice.sentence, { pair: input.pair, candidate: choice.candidate });
      if (!choice.candidate) throw mysqlDecision('NoCandidate', choice.sentence, { ranking: choice.ranking });
      if (choice.tooFarBehind)
        throw mysqlDecision('CandidateTooFarBehind', choice.sentence, {
          candidate: choice.candidate,
          ranking: choice.ranking,
        });
      return choice;
    },

    /**
     * Waits until `server` has applied everything it must: the GTIDs of `untilServer`'s binlog (planned
     * switchover: call after fencing it), or `untilGtid`, or by default everything it has received.
     * Waits in slices of `sliceSeconds`, heartbeating between them; `ReplicaNotCaughtUp` after
     * `timeoutSeconds` (default: the runbook's timeouts.replicaCatchUp), `ReplicationBroken` if its
     * applier stops on an error.
     */
    async mysqlCatchUp(unchecked: CatchUpInput): Promise<CatchUpResult> {
      const input = checkedInput('mysqlCatchUp', catchUpInput, unchecked);
      const started = Date.now();
      const timeoutMs =
        (input.timeoutSeconds ??
          durationMs(runbooks.get(input.pair).runbook.timeouts.replicaCatchUp) / 1000) * 1000;
      const sliceSeconds = Math.max(1, Math.round(input.sliceSeconds ?? 2));
      const session = await open(input.pair, input.server);
      const status = await session.status();
      const { target, targetFrom } = await catchUpTarget(input, session, status);
      const missing = gtidsMissing(session.dialect, target, appliedOf(status));
      if (missing === 0) {
        log.info(`${input.server} has already applied ${target || 'everything'} (from ${targetFrom}).`);
        return {
          server: input.server,
          target,
          targetFrom,
          applied: appliedOf(status),
          alreadyCaughtUp: true,
          waitedMs: 0,
        };
      }
      if (!status.replication)
        throw mysqlDecision(
          'NotAReplica',
          `${input.server} lacks ${missing} transaction(s) of ${targetFrom} and is not a replica, so it cannot get them.`,
          { target, applied: appliedOf(status) },
        );
      return applyUntil(session, input, { target, targetFrom, timeoutMs, sliceSeconds, started }, status);
    },

    /**
     * Fences a server: read-only (MySQL super_read_only, MariaDB read_only), and, when the runbook's
     * `killClientConnectionsOnFence` says so, ends every client session except replication and the
     * orchestrator's own. An unreachable server fails with `MysqlUnreachable`.
     */
    async mysqlFence(unchecked: FenceInput): Promise<FenceResult> {
      const input = checkedInput('mysqlFence', fenceInput, unchecked);
      const settings = connections.settings(input.pair);
      const session = await open(input.pair, input.server);
      const before = await session.status();
      const alreadyFenced = session.dialect === 'mysql' ? !!before.superReadOnly : !!before.readOnly;
      const steps: string[] = [];
      const clientSessions = async () =>
        (await session.rows(SQL[session.dialect].processList))
          .map((row) => ({
            id: Number(row.id),
            user: String(row.user ?? ''),
            command: String(row.command ?? ''),
          }))
          .filter(
            (c) =>
              !PROTECTED_USERS.has(c.user) &&
              !PROTECTED_COMMANDS.has(c.command) &&
              c.user !== settings.user &&
              c.user !== settings.replicationUser,
          );
      const killClients = async () => {
        for (const client of await clientSessions()) {
          try {
            await session.exec(killConnectionSql(client.id));
            steps.push(killConnectionSql(client.id));
          } catch (err) {
            // ER_NO_SUCH_THREAD: it ended by itself meanwhile.
            if (!/Unknown thread id|1094/.test((err as Error).message)) throw err;
          }
        }
      };
      if (settings.killClientConnectionsOnFence) await killClients();
      if (!alreadyFenced)
        for (const statement of SQL[session.dialect].fence) {
          await session.exec(statement);
          steps.push(statement);
        }
      if (settings.killClientConnectionsOnFence) await killClients();
      const after = await session.status();
      if (!after.readOnly || (session.dialect === 'mysql' && !after.superReadOnly))
        throw stillWritable(session, after);
      const bypass = await findReadOnlyBypass(session);
      const openWriterSessions = (await clientSessions()).filter((c) => bypass.users.has(c.user));
      const killed = steps.filter((x) => x.startsWith('KILL')).length;
      const notGuaranteed = fenceLimits(session, bypass, openWriterSessions, {
        killClients: settings.killClientConnectionsOnFence,
        orchestratorUser: settings.user,
      });
      const description = fenceSentence(session, after, { alreadyFenced, killed, bypass, notGuaranteed });
      log.info(description);
      return {
        server: input.server,
        alreadyFenced,
        readOnly: true,
        killedConnections: killed,
        gtidBinlogPos: after.gtidBinlogPos ?? '',
        steps,
        writersDespiteReadOnly: bypass.accounts,
        notGuaranteed,
        description,
      };
    },

    /**
     * Promotes a replica: stop replication, forget the source (RESET SLAVE ALL / RESET REPLICA ALL), writable.
     * Checks first and does only what is left, so a retry after a crash between statements finishes the job
     * and a second call succeeds with `alreadyPromoted`. Refuses with `SplitBrainRisk` while another server
     * of the pair is writable, and with `ReplicaNotCaughtUp` while it holds received but unapplied
     * transactions (unless `allowUnappliedTransactions`). In a semi-synchronous pair (see pairUsesSemiSync) it
     * turns the source side on, so that the new primary waits for acknowledgements as the old one did.
     */
    async mysqlPromote(unchecked: PromoteInput): Promise<PromoteResult> {
      const input = checkedInput('mysqlPromote', promoteInput, unchecked);
      const session = await open(input.pair, input.server);
      const status = await session.status();
      refuseIncompleteRebuild(status);
      const others = await statuses(input.pair, input.server);
      const writableOthers = others.filter(writable).map((s) => s.server);
      if (writableOthers.length > 0)
        throw mysqlDecision(
          'SplitBrainRisk',
          `refusing to promote ${input.server}: ${writableOthers.join(', ')} ${writableOthers.length > 1 ? 'are' : 'is'} writable; fence ${writableOthers.length > 1 ? 'them' : 'it'} first.`,
          { writable: writableOthers },
        );
      const steps: string[] = [];
      const dialect = session.dialect;
      const repl = status.replication;
      if (repl) {
        if (repl.pendingTransactions && !input.allowUnappliedTransactions)
          throw mysqlDecision(
            'ReplicaNotCaughtUp',
            `refusing to promote ${input.server}: ${repl.pendingTransactions} received transaction(s) are not applied yet (catch up first).`,
            { received: repl.retrievedGtid, applied: repl.appliedGtid },
          );
        if (repl.ioRunning !== 'No' || repl.sqlRunning !== 'No') {
          await session.exec(SQL[dialect].stopReplica);
          steps.push(SQL[dialect].stopReplica);
        }
        await session.exec(SQL[dialect].resetReplicaAll);
        steps.push(SQL[dialect].resetReplicaAll);
      }
      if (status.readOnly || status.superReadOnly) {
        for (const statement of SQL[dialect].unfence) {
          await session.exec(statement);
          steps.push(statement);
        }
      }
      // A pair that replicates semi-synchronously keeps doing so: the new primary waits for acknowledgements.
      const semiSync = pairUsesSemiSync(status, others) ? semiSyncStatement(status, 'source') : {};
      if (semiSync.sql) {
        await session.exec(semiSync.sql);
        steps.push(semiSync.sql);
      }
      if (semiSync.missing) log.warn(semiSync.missing);
      const after = await session.status();
      if (after.replication || !writable(after)) throw notPromoted(session, after, steps);
      const unreachableOthers = others.filter((s) => !s.reachable).map((s) => s.server);
      log.info(
        steps.length
          ? `${input.server} is promoted (${steps.join('; ')}); binlog at ${after.gtidBinlogPos}.`
          : `${input.server} was already promoted.`,
      );
      return {
        server: input.server,
        alreadyPromoted: steps.length === 0,
        steps,
        gtidBinlogPos: after.gtidBinlogPos ?? '',
        unreachableOthers,
      };
    },

    /**
     * Lists the transactions `server` has and `reference` (e.g. the new primary) lacks. Read-only: it
     * reports them; `mysqlRepoint` is what refuses (`ErrantTransactions`) while there are any.
     */
    async mysqlFindErrantTransactions(input: {
      pair: string;
      server: string;
      reference: string;
    }): Promise<ErrantTransactionsReport> {
      const server = await open(input.pair, input.server);
      const reference = await open(input.pair, input.reference);
      const report = await errantTransactions(
        server,
        await server.status(),
        reference,
        await reference.status(),
      );
      log.info(report.sentence);
      return report;
    },

    /**
     * Makes `server` replicate from `source` with GTID positioning (MariaDB: slave_pos for a replica;
     * a former primary — no replication configured — is demoted with MASTER_DEMOTE_TO_SLAVE=1 from 10.10,
     * current_pos before; MySQL: SOURCE_AUTO_POSITION=1), read-only, with the runbook's replication account.
     * Refuses with `ErrantTransactions` while `server` has transactions `source` lacks; succeeds only once
     * both threads run (`ReplicationNotRunning` otherwise). Already replicating from `source` → no change.
     * When `source` is a semi-synchronous source, the replica side is turned on before replication starts.
     */
    async mysqlRepoint(unchecked: RepointInput): Promise<RepointResult> {
      const input = checkedInput('mysqlRepoint', repointInput, unchecked);
      if (input.server === input.source)
        throw mysqlDecision('UnknownServer', `${input.server} cannot replicate from itself.`);
      const session = await open(input.pair, input.server);
      const sourceSession = await open(input.pair, input.source);
      const status = await session.status();
      refuseIncompleteRebuild(status);
      const sourceStatus = await sourceSession.status();
      const errant = await errantTransactions(session, status, sourceSession, sourceStatus);
      if (errant.count > 0)
        throw mysqlDecision(
          'ErrantTransactions',
          `refusing to repoint ${input.server} to ${input.source}: ${errant.sentence} A human must decide (discard them, or replay them on ${input.source}).`,
          { ...errant },
        );

      const tlsCa = connections.settings(input.pair).replicationTls?.ca;
      const plan = repointPlan(session, status, sourceSession.config, sourceStatus, tlsCa);
      if (plan.semiSync.missing) log.warn(plan.semiSync.missing);
      if (plan.alreadyReplicating) {
        log.info(`${input.server} already replicates from ${input.source}.`);
        return {
          server: input.server,
          source: input.source,
          alreadyReplicating: true,
          mode: plan.mode,
          steps: [],
          ioRunning: 'Yes',
          sqlRunning: 'Yes',
        };
      }
      const credentials = connections.replicationCredentials(input.pair);
      const steps = await pointAtSource(session, status, plan, {
        host: sourceSession.config.host,
        port: sourceSession.config.port,
        user: credentials.user,
        password: credentials.password,
        connectRetry: REPLICATION_CONNECT_RETRY_SECONDS,
        tlsCa,
      });
      return waitUntilReplicating(session, input, plan.mode, steps);
    },
  };
}

interface CatchUpGoal {
  target: string;
  targetFrom: string;
  timeoutMs: number;
  sliceSeconds: number;
  /** When the activity started (Date.now()). */
  started: number;
}

/**
 * Runs the applier and waits, slice by slice with a heartbeat between, until the server has applied the goal's
 * target. Stops early, successfully, when the source is gone and the relay log ends in an incomplete transaction.
 */
async function applyUntil(
  session: MysqlSession,
  input: CatchUpInput,
  goal: CatchUpGoal,
  initial: MysqlServerStatus,
): Promise<CatchUpResult> {
  const { target, targetFrom, timeoutMs, sliceSeconds, started } = goal;
  let status = initial;
  const missing = () => gtidsMissing(session.dialect, target, appliedOf(status));
  const result = (extra: Partial<CatchUpResult> = {}): CatchUpResult => ({
    server: input.server,
    target,
    targetFrom,
    applied: appliedOf(status),
    alreadyCaughtUp: false,
    waitedMs: Date.now() - started,
    ...extra,
  });
  const waitsForRelayLogOnly = !input.untilServer && input.untilGtid === undefined;
  let idleChecks = 0;
  let lastApplied = appliedOf(status);
  for (;;) {
    const repl = await applierRunning(session, input.server, status, target);
    // Source gone and nothing left to apply: the rest of the relay log is an incomplete transaction.
    if (waitsForRelayLogOnly && repl.ioRunning !== 'Yes') {
      const idle = SQL_THREAD_IDLE.test(repl.sqlState ?? '') && appliedOf(status) === lastApplied;
      idleChecks = idle ? idleChecks + 1 : 0;
      if (idleChecks >= 2) {
        log.warn(
          `${input.server}: applied all complete transactions it received (${appliedOf(status)}); the relay log ends in an incomplete one.`,
        );
        return result({ incompleteTail: true });
      }
    }
    lastApplied = appliedOf(status);
    const remainingMs = timeoutMs - (Date.now() - started);
    if (remainingMs <= 0)
      throw mysqlDecision(
        'ReplicaNotCaughtUp',
        `${input.server} still lacks ${missing()} transaction(s) of ${targetFrom} after ${Math.round(timeoutMs / 1000)}s.`,
        { target, applied: appliedOf(status) },
      );
    const slice = Math.max(1, Math.min(sliceSeconds, Math.ceil(remainingMs / 1000)));
    const [row] = await session.rows(
      waitForGtidStatement(session.dialect, target, slice),
      slice * 1000 + session.statementTimeoutMs,
    );
    heartbeat({ server: input.server, target, waitedMs: Date.now() - started });
    throwIfCancelled();
    status = await session.status();
    if (waitReached(row?.result) || missing() === 0) {
      log.info(`${input.server} applied ${target} (from ${targetFrom}) in ${Date.now() - started} ms.`);
      return result();
    }
  }
}

/** The replica's replication, its applier started; fails when it is no replica or its applier stopped on an error. */
async function applierRunning(
  session: MysqlSession,
  server: string,
  status: MysqlServerStatus,
  target: string,
): Promise<NonNullable<MysqlServerStatus['replication']>> {
  const repl = status.replication;
  if (!repl) throw mysqlDecision('NotAReplica', `${server} stopped being a replica while catching up.`);
  if (repl.lastSqlErrno)
    throw mysqlDecision(
      'ReplicationBroken',
      `${server}: the applier stopped on error ${repl.lastSqlErrno}: ${repl.lastSqlError}`,
      { target, applied: appliedOf(status) },
    );
  if (repl.sqlRunning !== 'Yes') {
    log.info(`${server}: starting the applier to catch up.`);
    await session.exec(SQL[session.dialect].startSqlThread);
  }
  return repl;
}

interface RepointPlan {
  mode: RepointMode;
  /** Read-only as a replica must be (MySQL super_read_only, MariaDB read_only). */
  fenced: boolean;
  /** The statement turning the replica side of semi-sync on, when its new source is semi-synchronous. */
  semiSync: { sql?: string; missing?: string };
  /** Already replicating from that source, by GTID, read-only, both threads running, nothing to turn on. */
  alreadyReplicating: boolean;
}

/** How `status`'s server is to be pointed at the source, and whether it already is. */
function repointPlan(
  session: MysqlSession,
  status: MysqlServerStatus,
  source: { host: string; port: number },
  sourceStatus: MysqlServerStatus,
  tlsCa: string | undefined,
): RepointPlan {
  const repl = status.replication;
  const sameSource =
    !!repl &&
    repl.sourceHost === source.host &&
    repl.sourcePort === source.port &&
    (tlsCa === undefined || repl.tls === true);
  const gtidPositioned = !!repl && repl.gtidPositioning !== 'No' && repl.gtidPositioning !== 'no';
  const formerPrimary = !repl || repl.gtidPositioning === 'Current_Pos';
  const fenced = session.dialect === 'mysql' ? !!status.superReadOnly : !!status.readOnly;
  // A semi-synchronous source needs its replicas' acknowledgements: the replica side is turned on before START.
  const semiSync = sourceStatus.semiSync?.source?.enabled ? semiSyncStatement(status, 'replica') : {};
  const running = repl?.ioRunning === 'Yes' && repl.sqlRunning === 'Yes';
  return {
    mode: repointMode(session.dialect, session.version, formerPrimary),
    fenced,
    semiSync,
    alreadyReplicating: sameSource && gtidPositioned && fenced && running && !semiSync.sql,
  };
}

/** Read-only, replication stopped, the new source with GTID positioning, semi-sync if needed, started: the steps. */
async function pointAtSource(
  session: MysqlSession,
  status: MysqlServerStatus,
  plan: RepointPlan,
  source: SourceSettings,
): Promise<string[]> {
  const sql = SQL[session.dialect];
  const repl = status.replication;
  const steps: string[] = [];
  const run = async (statement: Parameters<MysqlSession['exec']>[0]) => {
    await session.exec(statement);
    steps.push(MysqlSession.show(statement));
  };
  if (!plan.fenced) for (const statement of sql.fence) await run(statement);
  if (repl && (repl.ioRunning !== 'No' || repl.sqlRunning !== 'No')) await run(sql.stopReplica);
  await run(changeSourceStatement(session.dialect, plan.mode, source));
  if (plan.semiSync.sql) await run(plan.semiSync.sql);
  await run(sql.startReplica);
  return steps;
}

/** Succeeds once both threads run; fails when one stops on an error, or at the deadline (`ReplicationNotRunning`). */
async function waitUntilReplicating(
  session: MysqlSession,
  input: RepointInput,
  mode: RepointMode,
  steps: string[],
): Promise<RepointResult> {
  const deadline = Date.now() + (input.verifyTimeoutSeconds ?? 30) * 1000;
  for (;;) {
    const r = (await session.status()).replication;
    if (r?.ioRunning === 'Yes' && r.sqlRunning === 'Yes') {
      log.info(`${input.server} replicates from ${input.source} (${mode}); both threads run.`);
      return {
        server: input.server,
        source: input.source,
        alreadyReplicating: false,
        mode,
        steps,
        ioRunning: r.ioRunning,
        sqlRunning: r.sqlRunning,
      };
    }
    const errors = [
      r?.lastIoErrno ? `IO ${r.lastIoErrno}: ${r.lastIoError}` : '',
      r?.lastSqlErrno ? `SQL ${r.lastSqlErrno}: ${r.lastSqlError}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    const stopped = r?.ioRunning === 'No' || r?.sqlRunning === 'No';
    if ((errors && stopped) || Date.now() > deadline)
      throw mysqlDecision(
        'ReplicationNotRunning',
        `${input.server} does not replicate from ${input.source}: IO thread ${r?.ioRunning ?? '-'}, SQL thread ${r?.sqlRunning ?? '-'}${errors ? ` (${errors})` : ''}.`,
        { ioRunning: r?.ioRunning, sqlRunning: r?.sqlRunning, errors },
      );
    heartbeat({ server: input.server, source: input.source });
    throwIfCancelled();
    await sleep(200);
  }
}

/** The fence's statements were acknowledged, yet the server accepts writes: a human must find out why. */
function stillWritable(session: MysqlSession, after: MysqlServerStatus) {
  const flags =
    session.dialect === 'mysql'
      ? `read_only=${onOff(after.readOnly)}, super_read_only=${onOff(after.superReadOnly)}`
      : `read_only=${onOff(after.readOnly)}`;
  return mysqlDecision(
    'StillWritableAfterFence',
    `${session.name} is still writable after ${SQL[session.dialect].fence.join('; ')} (${flags}): ` +
      `something turned it back or refused it; a human must find what changes read_only on ${session.name} ` +
      '(another orchestrator, a configuration manager, a person) before any promotion.',
    { server: session.name, readOnly: after.readOnly, superReadOnly: after.superReadOnly },
  );
}

/** The promotion's statements ran, yet the server still replicates or refuses writes. */
function notPromoted(session: MysqlSession, after: MysqlServerStatus, steps: string[]) {
  const repl = after.replication;
  const why = repl
    ? `it still has a replication source (${repl.sourceHost}:${repl.sourcePort})`
    : 'it is still read-only';
  const flags = session.dialect === 'mysql' ? 'read_only, super_read_only' : 'read_only';
  return mysqlDecision(
    'PromotionNotEffective',
    `${session.name} is not promoted after ${steps.length ? steps.join('; ') : 'checking it'}: ${why}; ` +
      `a human must look at ${session.name} (${SQL[session.dialect].replicaStatus}, ${flags}, its error log) ` +
      'before sending writes to it.',
    { server: session.name, steps, readOnly: after.readOnly, replicating: !!repl },
  );
}

const onOff = (flag: boolean | undefined) => (flag ? 'ON' : 'OFF');

/** What a fence leaves open, in plain sentences (MySQL's super_read_only leaves nothing to clients). */
function fenceLimits(
  session: MysqlSession,
  bypass: ReadOnlyBypass,
  openWriterSessions: { user: string }[],
  settings: { killClients: boolean; orchestratorUser: string },
): string[] {
  const limits: string[] = [];
  const others = bypass.accounts.filter((a) => !a.startsWith(`'${settings.orchestratorUser}'@`));
  if (others.length > 0)
    limits.push(
      `no write from ${others.join(', ')}: only revoking READ ONLY ADMIN from them (or stopping ${session.name}) ` +
        `prevents it, MariaDB ${session.version} having no super_read_only`,
    );
  if (openWriterSessions.length > 0) {
    const users = [...new Set(openWriterSessions.map((c) => c.user))].sort().join(', ');
    limits.push(
      settings.killClients
        ? `the end of ${openWriterSessions.length} session(s) of these accounts opened during the fence (${users})`
        : `the end of ${openWriterSessions.length} open session(s) of these accounts (${users}): killClientConnectionsOnFence is off`,
    );
  }
  if (others.length > 0 && settings.killClients)
    limits.push(
      'no write from a new session: an account holding READ ONLY ADMIN that reconnects can write again',
    );
  if (bypass.accounts.some((a) => a.startsWith(`'${settings.orchestratorUser}'@`)))
    limits.push(
      `the end of the sessions of the orchestrator's own account ${settings.orchestratorUser}: it needs ` +
        'READ ONLY ADMIN to set read_only, and the fence never ends its sessions',
    );
  if (bypass.incomplete) limits.push(`a complete list: ${bypass.incomplete}`);
  return limits;
}

function fenceSentence(
  session: MysqlSession,
  after: MysqlServerStatus,
  outcome: { alreadyFenced: boolean; killed: number; bypass: ReadOnlyBypass; notGuaranteed: string[] },
): string {
  const flag = session.dialect === 'mysql' ? 'super_read_only=ON' : 'read_only=ON';
  const parts = [
    `${session.name} is fenced (${flag}${outcome.alreadyFenced ? ', already' : ''}); ` +
      `${outcome.killed} client session(s) ended; binlog at ${after.gtidBinlogPos || '(empty)'}.`,
  ];
  if (session.dialect === 'mysql')
    parts.push('super_read_only stops every client account, SUPER holders included.');
  else if (outcome.bypass.accounts.length > 0)
    parts.push(
      `MariaDB read_only does not stop accounts holding READ ONLY ADMIN: ${outcome.bypass.accounts.join(', ')} can still write.`,
    );
  if (outcome.notGuaranteed.length > 0) parts.push(`Not guaranteed: ${outcome.notGuaranteed.join('; ')}.`);
  return parts.join(' ');
}

/**
 * The transactions `server` has and `reference` lacks, from both servers' states: MySQL `GTID_SUBTRACT`; MariaDB
 * `gtid_binlog_state` per (domain, server_id), the exact GTIDs listed from `server`'s binlog (bounded). Refuses
 * with `LogSlaveUpdatesOff` on MariaDB when either server does not log what it replicates.
 */
export async function errantTransactions(
  server: MysqlSession,
  status: MysqlServerStatus,
  reference: MysqlSession,
  referenceStatus: MysqlServerStatus,
): Promise<ErrantTransactionsReport> {
  const base = { server: server.name, reference: reference.name, dialect: server.dialect };
  if (server.dialect === 'mysql') {
    const executed = status.gtidExecuted ?? '';
    const [row] = await server.rows(gtidSubtractStatement(executed, referenceStatus.gtidExecuted ?? ''));
    const gtids = mysqlGtidElements(String(row?.errant ?? ''));
    const count = mysqlGtidsMissing(executed, referenceStatus.gtidExecuted ?? '');
    return {
      ...base,
      gtids,
      count,
      sentence: count
        ? `${server.name} has ${count} transaction(s) that ${reference.name} lacks: ${gtids.join(', ')}.`
        : `${server.name} has no transaction that ${reference.name} lacks.`,
    };
  }
  const notLogging = [status, referenceStatus].find((x) => x.logSlaveUpdates === false);
  if (notLogging)
    throw mysqlDecision(
      'LogSlaveUpdatesOff',
      `cannot compare the binlogs of ${server.name} and ${reference.name}: ${notLogging.server} has ` +
        'log_slave_updates=OFF, so its binlog lacks the transactions it replicated and the comparison would ' +
        `report false errant transactions; a human must set log_slave_updates=ON in ${notLogging.server}'s ` +
        'configuration and restart it.',
      { server: notLogging.server },
    );
  const ranges = mariadbErrantRanges(status.gtidBinlogState ?? '', referenceStatus.gtidBinlogState ?? '');
  if (ranges.length === 0)
    return {
      ...base,
      gtids: [],
      count: 0,
      ranges,
      sentence: `${server.name} has no transaction that ${reference.name} lacks.`,
    };
  const { gtids, truncated } = await listMariadbErrant(server, ranges);
  const count = Math.max(gtids.length, ranges.length);
  return {
    ...base,
    gtids,
    count,
    ranges,
    truncated,
    sentence:
      `${server.name} has ${truncated ? 'at least ' : ''}${count} transaction(s) that ${reference.name} lacks: ` +
      `${gtids.slice(0, 20).join(', ')}${gtids.length > 20 ? ', …' : ''}.`,
  };
}

/** MariaDB: the exact errant GTIDs, read from the server's binlog (newest file first, bounded). */
async function listMariadbErrant(
  session: MysqlSession,
  ranges: MariadbErrantRange[],
  limits = { maxEvents: 200_000, maxGtids: 10_000, pageSize: 5_000 },
): Promise<{ gtids: string[]; truncated: boolean }> {
  const isErrant = (domain: number, serverId: number, seq: number) =>
    ranges.some((r) => r.domain === domain && r.serverId === serverId && seq > r.referenceSeq);
  const files = (await session.rows(MARIADB_BINLOG.files)).map((r) => String(r.Log_name)).reverse();
  const found: string[] = [];
  let events = 0;
  for (const file of files) {
    const inFile: string[] = [];
    // A file is old enough to stop at when, in every errant range's domain, it starts at or below the
    // reference's last GTID of that origin (sequence numbers grow within a domain under gtid_strict_mode).
    const lowest = new Map<number, number>();
    for (let offset = 0; ; offset += limits.pageSize) {
      const rows = await session.rows(MARIADB_BINLOG.events(file, offset, limits.pageSize));
      events += rows.length;
      for (const row of rows) {
        if (row.Event_type !== 'Gtid') continue;
        const match = /GTID (\d+)-(\d+)-(\d+)/.exec(String(row.Info ?? ''));
        if (!match) continue;
        const [domain, serverId, seq] = match.slice(1).map(Number) as [number, number, number];
        if (!lowest.has(domain)) lowest.set(domain, seq);
        if (isErrant(domain, serverId, seq)) inFile.push(`${domain}-${serverId}-${seq}`);
      }
      if (rows.length < limits.pageSize || events >= limits.maxEvents) break;
    }
    found.unshift(...inFile);
    if (found.length >= limits.maxGtids || events >= limits.maxEvents)
      return { gtids: found.slice(-limits.maxGtids), truncated: true };
    const olderFilesIrrelevant = ranges.every((r) => {
      const first = lowest.get(r.domain);
      return first !== undefined && first <= r.referenceSeq;
    });
    if (olderFilesIrrelevant) break;
  }
  return { gtids: found, truncated: false };
}
