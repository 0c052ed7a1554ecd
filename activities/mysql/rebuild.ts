import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { mariadbErrantRanges } from '../../common/gtid';
import type { RebuildMark } from '../../common/mysql-status';
import { utf8Tail } from '../../common/text';
import type { MysqlConnections } from './connections';
import { REBUILD_MARK, SQL, type Statement } from './dialect';
import { mysqlDecision, mysqlFailure } from './errors';
import { throwIfCancelled } from '../activity-context';
import { checkedInput, rebuildInput, type RebuildInput } from './inputs';
import { MysqlSession } from './session';
import type { MysqlServerStatus } from './status';
import { clientFailure, explainFailure } from './tool-errors';

/**
 * Schemas a rebuild never copies nor drops: the server's own (accounts, statistics, metadata), and the
 * orchestrator's, which holds the server's incomplete-rebuild mark.
 */
const NEVER_COPIED = new Set([
  'mysql',
  'information_schema',
  'performance_schema',
  'sys',
  REBUILD_MARK.schema,
]);
/** How often a rebuild heartbeats, whatever it is doing (a dump blocked on a lock prints nothing for long). */
export const REBUILD_HEARTBEAT_MS = 2000;
/** The end of each tool's error output kept to tell why it failed (never returned as such). */
const STDERR_KEPT_BYTES = 16 * 1024;

export interface RebuildResult {
  server: string;
  source: string;
  /** The server had no transaction the source lacks and already replicated from it: nothing was done. */
  alreadyClean: boolean;
  /** The schemas copied from the source, and those dropped on the server because the source has none. */
  copied: string[];
  dropped: string[];
  /** gtid_slave_pos after the load: where the server starts replicating from the source. */
  gtidSlavePos: string;
  /** An earlier rebuild that had changed the server without finishing (this one replaced what it left). */
  previousIncomplete?: RebuildMark;
  steps: string[];
  durationMs: number;
  description: string;
}

/** What a rebuild's heartbeats say: the step it is at, and the bytes the dump has printed so far. */
interface RebuildProgress {
  server: string;
  source: string;
  step: 'check' | 'mark' | 'reset' | 'copy' | 'clear';
  bytesCopied: number;
}

/** The two servers of a rebuild, checked, and what to copy. */
interface RebuildPlan {
  input: RebuildInput;
  session: MysqlSession;
  status: MysqlServerStatus;
  copied: string[];
  dropped: string[];
}

/**
 * Rebuilds `server` as a clean copy of `source` (the new primary), discarding what only `server` holds (its
 * errant transactions): the method MariaDB documents for a new GTID replica, a consistent `mariadb-dump
 * --single-transaction --gtid --master-data=1` of the source loaded into the server, which sets its
 * gtid_slave_pos to the dump's position. Before its first change it marks the server as holding an incomplete
 * rebuild (REBUILD_MARK), which only the end of a rebuild clears: meanwhile repoint, promote and unfence refuse
 * the server. Then the server stops replicating, forgets its binlog (RESET MASTER: its errant GTIDs go with it)
 * and drops its schemas; the load writes nothing to its binlog. It heartbeats every REBUILD_HEARTBEAT_MS, and
 * cancelling it (or a failure of either tool) kills the dump and the load before it ends.
 * The server must be read-only (fenced) and the source writable. Replication is then started by mysqlRepoint.
 * MariaDB only; the worker needs the `mariadb-dump` and `mariadb` client programs.
 */
export function createMysqlRebuildActivities({ connections }: { connections: MysqlConnections }) {
  return {
    async mysqlRebuildReplica(unchecked: RebuildInput): Promise<RebuildResult> {
      const input = checkedInput('mysqlRebuildReplica', rebuildInput, unchecked);
      if (input.server === input.source)
        throw mysqlDecision('RebuildNotPossible', `${input.server} cannot be rebuilt from itself.`);
      const progress: RebuildProgress = {
        server: input.server,
        source: input.source,
        step: 'check',
        bytesCopied: 0,
      };
      return heartbeating(progress, () => rebuild(connections, input, progress));
    },
  };
}

/** Runs `work`, heartbeating `details` (as they are at each beat) at once and then on a timer. */
async function heartbeating<T>(details: object, work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const beat = () => context.heartbeat({ ...details });
  beat();
  const timer = setInterval(beat, REBUILD_HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

async function rebuild(
  connections: MysqlConnections,
  input: RebuildInput,
  progress: RebuildProgress,
): Promise<RebuildResult> {
  const started = Date.now();
  const session = await MysqlSession.open(connections, input.pair, input.server);
  const source = await MysqlSession.open(connections, input.pair, input.source);
  const [status, sourceStatus] = [await session.status(), await source.status()];
  refuseUnsafe(session, status, source, sourceStatus);
  const previous = status.rebuildIncomplete;
  if (!previous && isClean(status, sourceStatus, source)) return alreadyClean(input, status, started);
  const plan = { input, session, status, ...(await schemasToCopy(session, source)) };

  const steps: string[] = [];
  const step = async (name: RebuildProgress['step'], run: () => Promise<string[]>) => {
    throwIfCancelled();
    progress.step = name;
    steps.push(...(await run()));
  };
  await step('mark', () => markIncomplete(connections, input));
  await step('reset', () => forgetReplicationAndBinlog(plan));
  await step('copy', () => copySchemas(connections, plan, progress));
  await step('clear', () => clearMark(connections, input));
  const gtidSlavePos = (await session.status()).gtidSlavePos ?? '';
  return done(input, started, {
    alreadyClean: false,
    copied: plan.copied,
    dropped: plan.dropped,
    gtidSlavePos,
    ...(previous ? { previousIncomplete: previous } : {}),
    steps,
    description: rebuiltSentence(plan, gtidSlavePos, previous),
  });
}

function alreadyClean(input: RebuildInput, status: MysqlServerStatus, started: number): RebuildResult {
  return done(input, started, {
    alreadyClean: true,
    copied: [],
    dropped: [],
    gtidSlavePos: status.gtidSlavePos ?? '',
    steps: [],
    description: `${input.server} holds nothing that ${input.source} lacks and replicates from it: not rebuilt.`,
  });
}

function rebuiltSentence(plan: RebuildPlan, gtidSlavePos: string, previous?: RebuildMark): string {
  const { input, copied, dropped } = plan;
  return (
    `${input.server} was rebuilt from ${input.source}: what only it held is discarded, ` +
    `${copied.length} schema(s) copied (${copied.join(', ') || 'none'})` +
    `${dropped.length ? `, ${dropped.join(', ')} dropped` : ''}; it resumes from ${gtidSlavePos || 'the start'}.` +
    (previous ? ` A rebuild started at ${previous.startedAt} from ${previous.source} had not finished.` : '')
  );
}

function done(
  input: RebuildInput,
  started: number,
  rest: Omit<RebuildResult, 'server' | 'source' | 'durationMs'>,
): RebuildResult {
  log.info(rest.description);
  return { server: input.server, source: input.source, durationMs: Date.now() - started, ...rest };
}

function refuseUnsafe(
  session: MysqlSession,
  status: MysqlServerStatus,
  source: MysqlSession,
  sourceStatus: MysqlServerStatus,
): void {
  if (session.dialect !== 'mariadb' || source.dialect !== 'mariadb')
    throw mysqlDecision(
      'RebuildNotPossible',
      `${session.name} cannot be rebuilt by the orchestrator: it rebuilds MariaDB servers only (mariadb-dump --gtid); ` +
        'rebuild this MySQL server by hand (a clone or a backup of the new primary), then fail back again.',
    );
  if (!status.readOnly)
    throw mysqlDecision(
      'RebuildNotPossible',
      `refusing to rebuild ${session.name}: it is writable; fence it (read-only) first, so that no client writes to it while it is replaced.`,
    );
  if (sourceStatus.readOnly || sourceStatus.replication)
    throw mysqlDecision(
      'RebuildNotPossible',
      `refusing to rebuild ${session.name} from ${source.name}: ${source.name} is not the writable primary.`,
    );
}

/** Nothing to discard: no errant GTID in the binlog, and already a replica of the source. */
function isClean(status: MysqlServerStatus, sourceStatus: MysqlServerStatus, source: MysqlSession): boolean {
  const errant = mariadbErrantRanges(status.gtidBinlogState ?? '', sourceStatus.gtidBinlogState ?? '');
  const repl = status.replication;
  return (
    errant.length === 0 &&
    !!repl &&
    repl.sourceHost === source.config.host &&
    repl.sourcePort === source.config.port
  );
}

/** The source's schemas (copied), and the server's that the source lacks (dropped). */
async function schemasToCopy(
  server: MysqlSession,
  source: MysqlSession,
): Promise<{ copied: string[]; dropped: string[] }> {
  const schemas = async (s: MysqlSession) =>
    (await s.rows('SHOW DATABASES'))
      .map((r) => String(Object.values(r)[0]))
      .filter((name) => !NEVER_COPIED.has(name));
  const copied = await schemas(source);
  const dropped = (await schemas(server)).filter((name) => !copied.includes(name));
  return { copied, dropped };
}

/** Statements run on one connection of the server with sql_log_bin=0, which is then closed (never pooled). */
async function withoutBinlog(
  connections: MysqlConnections,
  input: RebuildInput,
  statements: (string | Statement)[],
): Promise<void> {
  const secrets = connections.secrets(input.pair);
  const timeout = connections.timeouts(input.pair).statementMs;
  const connection = await connections
    .dedicated(input.pair, input.server)
    .catch((err: unknown) => Promise.reject(mysqlFailure(input.server, err, secrets)));
  try {
    for (const s of [REBUILD_MARK.withoutBinlog, ...statements])
      await connection.query(
        typeof s === 'string' ? { sql: s, timeout } : { sql: s.sql, values: s.values, timeout },
      );
  } catch (err) {
    throw mysqlFailure(input.server, err, secrets);
  } finally {
    connection.destroy();
  }
}

async function markIncomplete(connections: MysqlConnections, input: RebuildInput): Promise<string[]> {
  const mark = REBUILD_MARK.set(new Date().toISOString(), input.source);
  await withoutBinlog(connections, input, [...REBUILD_MARK.create, mark]);
  return [`${input.server}: marked as holding an incomplete rebuild (${REBUILD_MARK.schema}, not binlogged)`];
}

async function clearMark(connections: MysqlConnections, input: RebuildInput): Promise<string[]> {
  await withoutBinlog(connections, input, [REBUILD_MARK.clear]);
  return [`${input.server}: incomplete-rebuild mark cleared`];
}

/** The server replicates from nobody and its binlog is empty: its errant GTIDs are gone with it. */
async function forgetReplicationAndBinlog({ session, status }: RebuildPlan): Promise<string[]> {
  const statements = [
    ...(status.replication ? [SQL.mariadb.stopReplica] : []),
    SQL.mariadb.resetReplicaAll,
    'RESET MASTER',
  ];
  for (const statement of statements) await session.exec(statement);
  return statements;
}

/** What the dump and the load run with; `dumpArgs` is absent when the source has no schema to copy. */
interface CopyCommands {
  dumpArgs?: string[];
  loadArgs: string[];
  /** Sent to the load before the dump's output: the DROP DATABASE of every schema copied or dropped. */
  prelude: string;
}

/**
 * `mariadb-dump` of the copied schemas on the source piped into `mariadb` on the server, after dropping the
 * copied and the dropped ones there, the load's session with sql_log_bin=0. The account's password goes in a
 * private defaults file, never on a command line nor in an environment variable.
 */
async function copySchemas(
  connections: MysqlConnections,
  plan: RebuildPlan,
  progress: RebuildProgress,
): Promise<string[]> {
  const { input, copied, dropped } = plan;
  const dir = mkdtempSync(path.join(tmpdir(), 'dr-rebuild-'));
  try {
    const commands = copyCommands(connections, input, dir, plan);
    const signal = Context.current().cancellationSignal;
    await pipeDumpIntoLoad(commands, progress, signal, (failure) =>
      rebuildFailed(input, failure, connections.secrets(input.pair)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    `mariadb-dump --single-transaction --gtid --master-data=1 --databases ${copied.join(' ') || '(none)'} ` +
      `from ${input.source} | mariadb (sql_log_bin=0) into ${input.server}` +
      (dropped.length ? ` (${dropped.join(', ')} dropped)` : ''),
  ];
}

function copyCommands(
  connections: MysqlConnections,
  input: RebuildInput,
  dir: string,
  { copied, dropped }: RebuildPlan,
): CopyCommands {
  const credentials = connections.orchestratorCredentials(input.pair);
  const ca = path.join(dir, 'ca.pem');
  if (credentials.tlsCa) writeFileSync(ca, credentials.tlsCa, { mode: 0o600 });
  const defaults = (name: string, server: string) => {
    const config = connections.server(input.pair, server);
    const file = path.join(dir, `${name}.cnf`);
    const tls = credentials.tlsCa ? `ssl-ca=${ca}\nssl-verify-server-cert\n` : '';
    const { user, password } = credentials;
    writeFileSync(
      file,
      `[client]\nuser=${user}\npassword=${password}\nhost=${config.host}\nport=${config.port}\n${tls}`,
      { mode: 0o600 },
    );
    return `--defaults-extra-file=${file}`;
  };
  const dumpOptions = ['--single-transaction', '--gtid', '--master-data=1', '--routines', '--events'];
  return {
    dumpArgs: copied.length
      ? [defaults('source', input.source), ...dumpOptions, '--triggers', '--databases', ...copied]
      : undefined,
    loadArgs: [defaults('target', input.server), '--init-command=SET SESSION sql_log_bin=0'],
    prelude: [...copied, ...dropped]
      .map((name) => `DROP DATABASE IF EXISTS \`${name.replace(/`/g, '``')}\`;\n`)
      .join(''),
  };
}

/** How one of the two programs ended. */
interface ToolExit {
  tool: 'mariadb-dump' | 'mariadb';
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It could not be started (e.g. ENOENT: not installed). */
  spawnError?: string;
  stderr: string;
}

/**
 * Runs the load, and the dump into it. Resolves once both ended well. When either fails, or `signal` aborts
 * (the activity is cancelled: by the workflow, a heartbeat timeout, the worker's shutdown), both are killed,
 * and it rejects only once both have ended, so that no child of the activity outlives it.
 */
async function pipeDumpIntoLoad(
  commands: CopyCommands,
  progress: RebuildProgress,
  signal: AbortSignal,
  failure: (exit: ToolExit) => Error,
): Promise<void> {
  const load = spawn('mariadb', commands.loadArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
  const dump = commands.dumpArgs
    ? spawn('mariadb-dump', commands.dumpArgs, { stdio: ['ignore', 'pipe', 'pipe'] })
    : undefined;
  const children = dump ? [load, dump] : [load];
  const killAll = () => children.forEach(killIfRunning);
  signal.addEventListener('abort', killAll, { once: true });
  if (signal.aborted) killAll();
  let firstFailure: ToolExit | undefined;
  const ended = (tool: ToolExit['tool'], child: ChildProcess) =>
    exitOf(tool, child).then((exit) => {
      if (!succeeded(exit) && !firstFailure) {
        firstFailure = exit;
        killAll();
      }
    });
  try {
    feed(load, dump, commands.prelude, progress);
    await Promise.all([ended('mariadb', load), ...(dump ? [ended('mariadb-dump', dump)] : [])]);
  } finally {
    signal.removeEventListener('abort', killAll);
  }
  if (signal.aborted)
    throw signal.reason instanceof Error ? signal.reason : new CancelledFailure('cancelled');
  if (firstFailure) throw failure(firstFailure);
}

/** The prelude, then the dump's output (counted in `progress`), into the load's standard input. */
function feed(
  load: ChildProcess,
  dump: ChildProcess | undefined,
  prelude: string,
  progress: RebuildProgress,
): void {
  load.stdin!.on('error', () => undefined); // a load that died is reported by its exit
  load.stdin!.write(prelude);
  if (!dump) return void load.stdin!.end();
  dump.stdout!.on('data', (chunk: Buffer) => (progress.bytesCopied += chunk.length));
  dump.stdout!.pipe(load.stdin!);
}

const succeeded = (exit: ToolExit) => !exit.spawnError && exit.code === 0;

function killIfRunning(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Resolves when the child has ended (its streams closed), or could not start; never rejects. */
function exitOf(tool: ToolExit['tool'], child: ChildProcess): Promise<ToolExit> {
  let stderr = Buffer.alloc(0);
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = Buffer.concat([stderr, chunk]);
    if (stderr.length > STDERR_KEPT_BYTES) stderr = stderr.subarray(stderr.length - STDERR_KEPT_BYTES);
  });
  return new Promise((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined)
        resolve({ tool, code: null, signal: null, spawnError: err.code ?? 'error', stderr: '' });
    });
    child.once('close', (code, signal) =>
      resolve({ tool, code, signal, stderr: utf8Tail(stderr, STDERR_KEPT_BYTES) }),
    );
  });
}

/**
 * RebuildFailed, saying which tool failed and why in a fixed sentence (its error output may quote rows or
 * statements: never returned; logged scrubbed when no known failure explains it).
 */
function rebuildFailed(input: RebuildInput, exit: ToolExit, secrets: readonly string[]) {
  const who =
    exit.tool === 'mariadb-dump'
      ? `mariadb-dump (reading ${input.source})`
      : `mariadb (loading into ${input.server})`;
  const how = exit.spawnError
    ? `could not start (${exit.spawnError})`
    : exit.code !== null
      ? `ended with code ${exit.code}`
      : `was killed by ${exit.signal}`;
  const why = exit.spawnError
    ? ''
    : `: ${clientFailure(exit.stderr) ?? explainFailure(exit.tool, exit.stderr, [], secrets)}`;
  return mysqlDecision(
    'RebuildFailed',
    `rebuilding ${input.server} from ${input.source}: ${who} ${how}${why}; ` +
      `${input.server} holds an incomplete rebuild until a rebuild finishes.`,
    { tool: exit.tool, code: exit.code, signal: exit.signal },
  );
}
