import path from 'node:path';
import { activityInfo, Context, heartbeat, log } from '@temporalio/activity';
import type { PoolConnection } from 'mysql2/promise';
import { gtidsMissing } from '../../common/gtid';
import { appliedPosition } from '../../common/mysql-status';
import { redact, secretsIn, withoutQuotedValues } from '../../common/redact';
import { durationMs } from '../../config/duration';
import { sshTargetOf } from '../apps';
import type { SshClient, SshTarget } from '../apps/ssh';
import type { RunbookRegistry } from '../runbooks';
import { GtidReader, parseBinlogScript, type BinlogScript } from './binlog-script';
import type { MysqlConnections } from './connections';
import {
  BINLOG_TOOL,
  binlogReadCommand,
  redactedSql,
  SALVAGE_SQL,
  SQL,
  type Dialect,
  type Statement,
} from './dialect';
import { classifyMysqlError, mysqlDecision, mysqlFailure } from './errors';
import { throwIfCancelled } from '../activity-context';
import { checkedInput, resumeInput, salvageInput, type SalvageInput } from './inputs';
import { MysqlSession } from './session';
import { BINLOG_READ_FAILURES, explainFailure, KEEP_DOWN_FAILURES } from './tool-errors';

/** The binlog tool's output is held in memory before it is applied; beyond this the salvage is not tried. */
export const SALVAGE_MAX_BYTES = 256 * 1024 * 1024;
const HEARTBEAT_MS = 1000;

export interface SalvageResult {
  /** The candidate the transactions were applied to, and the dead primary they come from. */
  server: string;
  from: string;
  possible: boolean;
  /** Why nothing could be salvaged (the failover goes on without). */
  impossible?: string;
  /** Transactions of `from` applied to `server` by the salvage, every attempt counted. */
  salvaged: number;
  /** Of which this attempt applied (a retry after a lost worker applies only what is left). */
  appliedThisAttempt: number;
  /** The candidate's GTID position this attempt started from, and where it is now. */
  startPosition?: string;
  position?: string;
  transferredBytes: number;
  /** The binlog tool ended early (e.g. on a truncated last event): what it printed until then was applied. */
  toolWarning?: string;
  /** The salvage stopped at the runbook's timeouts.salvage before the end of what the binlog holds. */
  timedOut?: boolean;
  steps: string[];
  description: string;
}

/** What a retry needs from an attempt that died: where the candidate was before the first attempt. */
interface SalvageProgress {
  baseline: string;
}

export interface SalvageDeps {
  runbooks: RunbookRegistry;
  connections: MysqlConnections;
  ssh: SshClient;
}

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

function previousProgress(): SalvageProgress | undefined {
  try {
    const details = activityInfo().heartbeatDetails as SalvageProgress | undefined;
    return typeof details?.baseline === 'string' ? details : undefined;
  } catch {
    return undefined;
  }
}

export function createMysqlSalvageActivities({ runbooks, connections, ssh }: SalvageDeps) {
  /** Runs a command on the dead primary's host, heartbeating while it runs. */
  async function remote(
    target: SshTarget,
    command: { text: string; describe: string },
    timeoutMs: number,
    beat: () => void,
    onStdout?: (chunk: Buffer) => void,
  ) {
    const timer = setInterval(beat, HEARTBEAT_MS);
    try {
      return await ssh.exec(target, command.text, {
        timeoutMs,
        signal: cancellationSignal(),
        onStdout,
        describe: command.describe,
      });
    } finally {
      clearInterval(timer);
    }
  }

  /** The applier's own connection to the candidate (never pooled), and how it runs a statement. */
  async function applierConnection(pair: string, session: MysqlSession) {
    const connection = await dedicatedConnection(pair, session.name);
    /** Runs one statement; throws the driver's error as it is. */
    const exec = async (statement: string | Statement) => {
      await connection.query(
        typeof statement === 'string'
          ? { sql: statement, timeout: session.statementTimeoutMs }
          : { sql: statement.sql, values: statement.values, timeout: session.statementTimeoutMs },
      );
    };
    /** Runs one statement; a failure is typed, without secrets. */
    const run = async (statement: string | Statement) => {
      try {
        await exec(statement);
      } catch (err) {
        throw mysqlFailure(session.name, err, session.secrets);
      }
    };
    return { connection, exec, run };
  }

  /**
   * Runs the runbook's keepDown command on the dead primary's host: mysqld stays down, so its binlog is final. The
   * command's text is never shown (it may hold a secret): the runbook's keepDown names it.
   */
  async function keepMysqldDown(
    target: SshTarget,
    text: string,
    secrets: string[],
    timeoutMs: number,
    beat: () => void,
  ): Promise<{ step: string } | { impossible: string }> {
    const keepDown = { text, describe: "the runbook's salvage.keepDown command" };
    try {
      const down = await remote(target, keepDown, timeoutMs, beat);
      if (down.exitCode === 0) return { step: `mysqld kept down (${keepDown.describe} exited 0)` };
      return {
        impossible:
          `${target.label}: ${keepDown.describe} exited ${down.exitCode ?? down.signal}, so mysqld may still run: ` +
          explainFailure(keepDown.describe, down.stderr, KEEP_DOWN_FAILURES, secrets),
      };
    } catch (err) {
      return { impossible: (err as Error).message };
    }
  }

  /**
   * The transactions the dead primary's binlog holds beyond `startPosition`, as the server's own binlog tool prints
   * them on its host (at most SALVAGE_MAX_BYTES). A tool that fails after printing some is a warning (`toolSaid`).
   */
  async function readBinlogBeyond(
    target: SshTarget,
    dialect: Dialect,
    binlogIndex: string,
    startPosition: string,
    secrets: string[],
    { timeoutMs, beat }: { timeoutMs: number; beat: () => void },
  ): Promise<
    { bytes: number; impossible: string } | { bytes: number; script: BinlogScript; toolSaid: string }
  > {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let read;
    try {
      read = await remote(
        target,
        {
          text: binlogReadCommand(dialect, binlogIndex, startPosition),
          describe: `${BINLOG_TOOL[dialect]} (the binlog read)`,
        },
        timeoutMs,
        beat,
        (chunk) => {
          bytes += chunk.length;
          if (bytes <= SALVAGE_MAX_BYTES) chunks.push(chunk);
        },
      );
    } catch (err) {
      return { bytes: 0, impossible: (err as Error).message };
    }
    if (bytes > SALVAGE_MAX_BYTES)
      return { bytes, impossible: `${BINLOG_TOOL[dialect]} printed more than ${SALVAGE_MAX_BYTES} bytes` };
    const script = parseBinlogScript(Buffer.concat(chunks).toString('utf8'), dialect);
    const toolSaid =
      read.exitCode === 0
        ? ''
        : `${BINLOG_TOOL[dialect]} exited ${read.exitCode ?? read.signal}: ${explainFailure(BINLOG_TOOL[dialect], read.stderr, BINLOG_READ_FAILURES, secrets)}`;
    if (toolSaid && script.gtids.length === 0) return { bytes, impossible: `${target.label}: ${toolSaid}` };
    return { bytes, script, toolSaid };
  }

  return {
    mysqlResumeReplication,
    /**
     * Unplanned failover, before the promotion: when `from` (the old primary) is dead but its host answers over
     * SSH, keeps its mysqld down (the runbook's `salvage.keepDown`), reads with the server's own binlog tool the
     * transactions its binlog holds beyond `server` (the candidate, replication stopped) and applies them to
     * `server` over one connection with their original GTIDs, so that they are in its binlog for the other
     * replicas. Each attempt starts from the candidate's GTID state under a named lock: a retry after a lost
     * worker applies only what is left. Nothing to reach, no tool output, a timeout: `possible: false` with the
     * reason (the failover goes on). A salvaged transaction the candidate refuses: `SalvageApplyFailed`.
     */
    async mysqlSalvageBinlog(unchecked: SalvageInput): Promise<SalvageResult> {
      const input = checkedInput('mysqlSalvageBinlog', salvageInput, unchecked);
      const loaded = runbooks.get(input.pair);
      const deadline = Date.now() + durationMs(loaded.runbook.timeouts.salvage);
      const remaining = () => Math.max(1000, deadline - Date.now());
      const steps: string[] = [];
      // Every heartbeat carries the progress: a heartbeat without details would erase it for the next attempt.
      let progress = previousProgress();
      const beat = () => heartbeat(progress);
      const base = { server: input.server, from: input.from, transferredBytes: 0, steps };
      const impossible = (reason: string, extra: Partial<SalvageResult> = {}) =>
        impossibleSalvage(input, { ...base, ...extra }, reason);
      const host = salvageHost(input, connections.server(input.pair, input.from), path.dirname(loaded.file));
      if ('impossible' in host) return impossible(host.impossible);
      const { target, salvage } = host;
      // What the host's programs print is logged (when no known failure explains it) without these.
      const secrets = [...connections.secrets(input.pair), ...secretsIn(salvage.keepDown)];

      // 1. mysqld stays down (it may only have been unreachable from here): its binlog is then final.
      const down = await keepMysqldDown(target, salvage.keepDown, secrets, remaining(), beat);
      if ('impossible' in down) return impossible(down.impossible);
      steps.push(`${input.from}: ${down.step}`);

      const session = await MysqlSession.open(connections, input.pair, input.server);
      const dialect = session.dialect;
      const { connection, exec, run } = await applierConnection(input.pair, session);
      try {
        // 2. One applier at a time; the position is read under the lock, once the candidate's applier is stopped.
        await lockForSalvage(connection, dialect, input.server);
        if (await stopApplier(session, run)) steps.push(`${input.server}: ${SQL[dialect].stopReplica}`);
        const startPosition = appliedPosition(await session.status());
        if (startPosition === '')
          return impossible(`${input.server} has no GTID position to start the salvage from`);
        // The position before the first attempt: carried by heartbeats, else (a worker killed before its first
        // heartbeat reached the server) the one the workflow read before the salvage, else this attempt's own.
        const baseline = progress?.baseline ?? input.baseline ?? startPosition;
        progress = { baseline };
        beat();

        // 3. What the binlog holds beyond the candidate, printed on the host by the server's own tool.
        const read = await readBinlogBeyond(target, dialect, salvage.binlogIndex, startPosition, secrets, {
          timeoutMs: remaining(),
          beat,
        });
        base.transferredBytes = read.bytes;
        if ('impossible' in read) return impossible(read.impossible, { startPosition });
        const { script, toolSaid } = read;
        steps.push(
          `${input.from}: ${BINLOG_TOOL[dialect]} after ${startPosition} (${script.gtids.length} transaction(s), ${read.bytes} bytes)`,
        );

        // 4. Applied in order with their own GTIDs; an incomplete last transaction is rolled back.
        const timedOut = await apply(script, exec, {
          dialect,
          deadline,
          server: input.server,
          secrets: session.secrets,
          beat,
        });
        const position = appliedPosition(await session.status());
        const record = SALVAGE_SQL[dialect].recordApplied(position);
        if (record) {
          await run(record);
          steps.push(`${input.server}: ${redactedSql(record)}`);
        }
        const outcome = salvageOutcome(input, dialect, {
          baseline,
          startPosition,
          position,
          script,
          timedOut,
          toolSaid,
        });
        log.info(outcome.description);
        return { ...base, ...outcome };
      } finally {
        // Never back to the pool: the session's server_id, GTID and replica-mode settings and the lock go with it.
        connection.destroy();
      }
    },
  };

  /**
   * The salvage's compensation: `server` replicates again from the source it had (its replication was stopped
   * for the salvage; MariaDB's gtid_slave_pos includes what was salvaged, so nothing comes twice) and is fenced.
   * Already running: no change.
   */
  async function mysqlResumeReplication(unchecked: { pair: string; server: string }) {
    const input = checkedInput('mysqlResumeReplication', resumeInput, unchecked);
    const session = await MysqlSession.open(connections, input.pair, input.server);
    const status = await session.status();
    const dialect = session.dialect;
    const steps: string[] = [];
    const fenced = dialect === 'mysql' ? !!status.superReadOnly : !!status.readOnly;
    if (!fenced)
      for (const statement of SQL[dialect].fence) {
        await session.exec(statement);
        steps.push(statement);
      }
    const repl = status.replication;
    if (repl && (repl.ioRunning === 'No' || repl.sqlRunning === 'No')) {
      await session.exec(SQL[dialect].startReplica);
      steps.push(SQL[dialect].startReplica);
    }
    const description = !repl
      ? `${input.server} has no replication source to resume; it is read-only.`
      : steps.length === 0
        ? `${input.server} already replicates from ${repl.sourceHost}:${repl.sourcePort} and is read-only.`
        : `${input.server} replicates again from ${repl.sourceHost}:${repl.sourcePort}, read-only (${steps.join('; ')}).`;
    log.info(description);
    return { server: input.server, steps, description };
  }

  async function dedicatedConnection(pair: string, server: string): Promise<PoolConnection> {
    try {
      return await connections.dedicated(pair, server);
    } catch (err) {
      throw mysqlFailure(server, err, connections.secrets(pair));
    }
  }
}

/** Applies the script's statements in order; returns true when the deadline stopped it. */
async function apply(
  script: BinlogScript,
  exec: (statement: string) => Promise<void>,
  options: {
    dialect: Dialect;
    deadline: number;
    server: string;
    secrets: readonly string[];
    beat: () => void;
  },
): Promise<boolean> {
  const { dialect, deadline, server, secrets, beat } = options;
  const run = async (statement: string) => {
    try {
      await exec(statement);
    } catch (err) {
      throw mysqlFailure(server, err, secrets);
    }
  };
  for (const statement of SALVAGE_SQL[dialect].beforeApply) await run(statement);
  let timedOut = false;
  try {
    let lastBeat = 0;
    let gtid: string | undefined;
    const reader = new GtidReader(dialect);
    for (const statement of script.statements) {
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      gtid = reader.read(statement) ?? gtid;
      try {
        await exec(statement);
      } catch (err) {
        const type = classifyMysqlError(err);
        if (type === 'MysqlUnreachable' || type === 'MysqlTimeout') throw mysqlFailure(server, err, secrets);
        throw refusedTransaction(server, gtid, statement, err, secrets);
      }
      if (Date.now() - lastBeat > HEARTBEAT_MS) {
        beat();
        throwIfCancelled();
        lastBeat = Date.now();
      }
    }
    await run('ROLLBACK');
  } finally {
    for (const statement of SALVAGE_SQL[dialect].afterApply) await run(statement);
  }
  return timedOut;
}

/**
 * A salvaged transaction the candidate refused. The server's message may quote the row's values (a duplicate
 * key, a value out of range): only its words before the first quote are kept, with the error's number, its code
 * and the kind of statement (BINLOG for a row event).
 */
function refusedTransaction(
  server: string,
  gtid: string | undefined,
  statement: string,
  err: unknown,
  secrets: readonly string[],
) {
  const { errno, code = 'unknown' } = err as { errno?: number; code?: string };
  const kind = statementKind(statement);
  const said = withoutQuotedValues(redact((err as Error)?.message ?? '', secrets));
  return mysqlDecision(
    'SalvageApplyFailed',
    `${server} refused the salvaged transaction ${gtid ?? '(before the first GTID)'}: its ${kind} statement ` +
      `failed with error ${errno ?? '?'} (${code})${said ? `: ${said}` : ''}; ` +
      'the transactions before it are applied, the rest are not: a human must look before promoting.',
    { gtid, type: classifyMysqlError(err), errno, code, statement: kind },
  );
}

/** The statement's first keyword (BINLOG, INSERT, CREATE…), after any leading comment: never its data. */
function statementKind(statement: string): string {
  const word = /^\s*(?:\/\*[\s\S]*?\*\/\s*)*([A-Za-z]{1,20})\b/.exec(statement)?.[1];
  return word ? word.toUpperCase() : 'unrecognised';
}

/** Takes the salvage's named lock on the applier's connection, or refuses while another session holds it. */
async function lockForSalvage(connection: PoolConnection, dialect: Dialect, server: string): Promise<void> {
  const [lock] = (await connection.query({ ...SALVAGE_SQL[dialect].lock, timeout: 30_000 }))[0] as {
    locked: unknown;
  }[];
  if (Number(lock?.locked) !== 1)
    throw mysqlDecision(
      'SalvageInProgress',
      `${server}: another session still applies a salvage (an earlier attempt whose connection is not closed yet).`,
    );
}

/** What a salvage that could be tried achieved: counts from the positions, and the sentence saying it. */
function salvageOutcome(
  input: SalvageInput,
  dialect: Dialect,
  run: {
    baseline: string;
    startPosition: string;
    position: string;
    script: BinlogScript;
    timedOut: boolean;
    toolSaid: string;
  },
) {
  const { baseline, startPosition, position, script, timedOut, toolSaid } = run;
  const appliedThisAttempt = gtidsMissing(dialect, position, startPosition);
  const salvaged = gtidsMissing(dialect, position, baseline);
  const notAll = script.gtids.filter((g) => gtidsMissing(dialect, g, position) > 0).length;
  const description =
    `${salvaged} transaction(s) salvaged from ${input.from}'s binlog onto ${input.server}` +
    `${appliedThisAttempt !== salvaged ? ` (${appliedThisAttempt} by this attempt)` : ''}, with their original GTIDs; ` +
    `${input.server} is at ${position}; ${input.from} stays down (its keepDown command ran).` +
    (timedOut
      ? ` The runbook's salvage timeout ended it with ${notAll} transaction(s) not applied: they are lost.`
      : '') +
    (toolSaid ? ` The binlog tool stopped early (${toolSaid}); anything after it is lost.` : '');
  return {
    possible: true,
    salvaged,
    appliedThisAttempt,
    startPosition,
    position,
    ...(toolSaid ? { toolWarning: toolSaid } : {}),
    ...(timedOut ? { timedOut } : {}),
    description,
  };
}

/** The result of a salvage that could not be tried, and why: the failover goes on without it. */
function impossibleSalvage(
  input: SalvageInput,
  base: Pick<SalvageResult, 'server' | 'from' | 'transferredBytes' | 'steps'> & Partial<SalvageResult>,
  reason: string,
): SalvageResult {
  const description = `salvage impossible: ${reason}; the transactions ${input.from} acknowledged beyond what ${input.server} received are lost.`;
  log.warn(description);
  return { salvaged: 0, appliedThisAttempt: 0, ...base, possible: false, impossible: reason, description };
}

/** Stops the candidate's replication, so that its position holds still; whether it had to. */
async function stopApplier(
  session: MysqlSession,
  run: (statement: string) => Promise<void>,
): Promise<boolean> {
  const repl = (await session.status()).replication;
  if (!repl || (repl.ioRunning === 'No' && repl.sqlRunning === 'No')) return false;
  await run(SQL[session.dialect].stopReplica);
  return true;
}

/** The dead primary's host as the runbook describes it for a salvage, or why there is none. */
function salvageHost(
  input: SalvageInput,
  config: ReturnType<MysqlConnections['server']>,
  baseDir: string,
): { target: SshTarget; salvage: NonNullable<typeof config.salvage> } | { impossible: string } {
  if (!config.ssh || !config.salvage)
    return { impossible: `the runbook has no ssh and salvage sections for ${input.from}` };
  try {
    return { target: sshTargetOf({ name: input.from, ssh: config.ssh }, baseDir), salvage: config.salvage };
  } catch (err) {
    return { impossible: (err as Error).message };
  }
}
