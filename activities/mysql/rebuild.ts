import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { heartbeat, log } from '@temporalio/activity';
import { mariadbErrantRanges } from '../../common/gtid';
import { redact } from '../../common/redact';
import type { MysqlConnections } from './connections';
import { SQL } from './dialect';
import { mysqlDecision } from './errors';
import { checkedInput, rebuildInput, type RebuildInput } from './inputs';
import { MysqlSession } from './session';
import type { MysqlServerStatus } from './status';

/** Schemas a rebuild never copies nor drops: the server's own (accounts, statistics, metadata). */
const SYSTEM_SCHEMAS = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

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
  steps: string[];
  durationMs: number;
  description: string;
}

/**
 * Rebuilds `server` as a clean copy of `source` (the new primary), discarding what only `server` holds (its
 * errant transactions): the method MariaDB documents for a new GTID replica, a consistent `mariadb-dump
 * --single-transaction --gtid --master-data=1` of the source loaded into the server, which sets its
 * gtid_slave_pos to the dump's position. Before the load the server stops replicating, forgets its binlog
 * (RESET MASTER: its errant GTIDs go with it) and drops its schemas; the load writes nothing to its binlog.
 * The server must be read-only (fenced) and the source writable. Replication is then started by mysqlRepoint.
 * MariaDB only; the worker needs the `mariadb-dump` and `mariadb` client programs.
 */
export function createMysqlRebuildActivities({ connections }: { connections: MysqlConnections }) {
  return {
    async mysqlRebuildReplica(unchecked: RebuildInput): Promise<RebuildResult> {
      const input = checkedInput('mysqlRebuildReplica', rebuildInput, unchecked);
      const started = Date.now();
      if (input.server === input.source)
        throw mysqlDecision('RebuildNotPossible', `${input.server} cannot be rebuilt from itself.`);
      const session = await MysqlSession.open(connections, input.pair, input.server);
      const source = await MysqlSession.open(connections, input.pair, input.source);
      const [status, sourceStatus] = [await session.status(), await source.status()];
      refuseUnsafe(session, status, source, sourceStatus);
      if (isClean(status, sourceStatus, source))
        return done(input, started, {
          alreadyClean: true,
          copied: [],
          dropped: [],
          gtidSlavePos: status.gtidSlavePos ?? '',
          steps: [],
          description: `${input.server} holds nothing that ${input.source} lacks and replicates from it: not rebuilt.`,
        });

      const schemas = async (s: MysqlSession) =>
        (await s.rows('SHOW DATABASES'))
          .map((r) => String(Object.values(r)[0]))
          .filter((name) => !SYSTEM_SCHEMAS.has(name));
      const copied = await schemas(source);
      const dropped = (await schemas(session)).filter((name) => !copied.includes(name));
      const steps: string[] = [];
      const run = async (statement: string) => {
        await session.exec(statement);
        steps.push(statement);
      };
      if (status.replication) await run(SQL.mariadb.stopReplica);
      await run(SQL.mariadb.resetReplicaAll);
      await run('RESET MASTER');
      await copySchemas(connections, input, copied, [...copied, ...dropped]);
      steps.push(
        `mariadb-dump --single-transaction --gtid --master-data=1 --databases ${copied.join(' ') || '(none)'} from ${input.source} | mariadb (sql_log_bin=0) into ${input.server}`,
      );
      const after = await session.status();
      const gtidSlavePos = after.gtidSlavePos ?? '';
      return done(input, started, {
        alreadyClean: false,
        copied,
        dropped,
        gtidSlavePos,
        steps,
        description:
          `${input.server} was rebuilt from ${input.source}: what only it held is discarded, ` +
          `${copied.length} schema(s) copied (${copied.join(', ') || 'none'})` +
          `${dropped.length ? `, ${dropped.join(', ')} dropped` : ''}; it resumes from ${gtidSlavePos || 'the start'}.`,
      });
    },
  };
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

/**
 * `mariadb-dump` of `schemas` on the source piped into `mariadb` on the server, after dropping `drop` there, the
 * load's session with sql_log_bin=0. The account's password goes in a private defaults file, never on a command
 * line nor in an environment variable. Heartbeats the bytes copied.
 */
async function copySchemas(
  connections: MysqlConnections,
  input: RebuildInput,
  schemas: string[],
  drop: string[],
): Promise<void> {
  const credentials = connections.orchestratorCredentials(input.pair);
  const secrets = connections.secrets(input.pair);
  const dir = mkdtempSync(path.join(tmpdir(), 'dr-rebuild-'));
  try {
    const defaults = (name: string, server: string) => {
      const config = connections.server(input.pair, server);
      const file = path.join(dir, `${name}.cnf`);
      const tls = credentials.tlsCa ? `ssl-ca=${path.join(dir, 'ca.pem')}\nssl-verify-server-cert\n` : '';
      writeFileSync(
        file,
        `[client]\nuser=${credentials.user}\npassword=${credentials.password}\nhost=${config.host}\nport=${config.port}\n${tls}`,
        { mode: 0o600 },
      );
      return file;
    };
    if (credentials.tlsCa) writeFileSync(path.join(dir, 'ca.pem'), credentials.tlsCa, { mode: 0o600 });
    const prelude = drop.map((name) => `DROP DATABASE IF EXISTS \`${name.replace(/`/g, '``')}\`;\n`).join('');
    const dumpArgs = [
      `--defaults-extra-file=${defaults('source', input.source)}`,
      '--single-transaction',
      '--gtid',
      '--master-data=1',
      '--routines',
      '--events',
      '--triggers',
      '--databases',
      ...schemas,
    ];
    const loadArgs = [
      `--defaults-extra-file=${defaults('target', input.server)}`,
      '--init-command=SET SESSION sql_log_bin=0',
    ];
    await pipe(schemas.length > 0 ? dumpArgs : undefined, loadArgs, prelude, input, secrets);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function pipe(
  dumpArgs: string[] | undefined,
  loadArgs: string[],
  prelude: string,
  input: RebuildInput,
  secrets: string[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const errors: string[] = [];
    let settled = false;
    const fail = (what: string) => {
      if (settled) return;
      settled = true;
      dump?.kill('SIGKILL');
      load.kill('SIGKILL');
      const said = errors.join(' ').trim().slice(0, 500);
      reject(
        mysqlDecision(
          'RebuildFailed',
          redact(
            `rebuilding ${input.server} from ${input.source}: ${what}${said ? `: ${said}` : ''}`,
            secrets,
          ),
        ),
      );
    };
    const load = spawn('mariadb', loadArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
    const dump = dumpArgs
      ? spawn('mariadb-dump', dumpArgs, { stdio: ['ignore', 'pipe', 'pipe'] })
      : undefined;
    const exits = new Map<string, number | null>();
    const exited = (tool: string, code: number | null) => {
      exits.set(tool, code);
      if (code !== 0) return fail(`${tool} ended with code ${code}`);
      if (exits.size === (dump ? 2 : 1) && !settled) {
        settled = true;
        resolve();
      }
    };
    load.stderr.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
    load.on('error', (err) => fail(`mariadb could not run (${err.message})`));
    load.on('close', (code) => exited('mariadb', code));
    load.stdin.on('error', () => undefined); // a load that died is reported by its exit code
    load.stdin.write(prelude);
    if (!dump) {
      load.stdin.end();
      return;
    }
    let bytes = 0;
    let lastBeat = 0;
    dump.stderr.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
    dump.on('error', (err) => fail(`mariadb-dump could not run (${err.message})`));
    dump.on('close', (code) => exited('mariadb-dump', code));
    dump.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (Date.now() - lastBeat > 1000) {
        lastBeat = Date.now();
        heartbeat({ server: input.server, source: input.source, bytesCopied: bytes });
      }
    });
    dump.stdout.pipe(load.stdin);
  });
}
