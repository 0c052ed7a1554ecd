import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Context, heartbeat, log } from '@temporalio/activity';
import { z } from 'zod';
import { scrubOutput } from '../../common/redact';
import { durationMs } from '../../config/duration';
import { formatPath } from '../../config/load';
import type { RunbookRegistry } from '../runbooks';
import type { MysqlConnections } from './connections';
import { mysqlDecision } from './errors';
import { readServerStatus, type MysqlServerStatus } from './status';

/**
 * MySQL's switch delegated to MHA (`masterha_master_switch`, mha4mysql-manager 0.58): the run has fenced the old
 * primary and chosen the candidate; MHA applies what the candidate lacks (relay logs, and for a dead master what its
 * binlog holds, over MHA's own SSH), promotes it and repoints the other replicas. Its outcome is read three ways:
 * the exit status (0 done, 10 master switched but some replicas not, anything else failed: MasterRotate.pm and
 * MasterFailover.pm), MHA's closing sentence ("Switching master to … completed successfully." / "Master failover to
 * … completed successfully."), and every server read again afterwards.
 */

const mhaSwitchInput = z
  .object({
    pair: z.string().min(1),
    /** `alive`: a planned switch (the old primary answers); `dead`: the old primary is gone. */
    mode: z.enum(['alive', 'dead']),
    server: z.string().min(1),
    from: z.string().min(1),
  })
  .strict();

export type MhaSwitchInput = z.infer<typeof mhaSwitchInput>;

export interface MhaSwitchResult {
  /** The promoted candidate and the old primary. */
  server: string;
  from: string;
  alreadySwitched: boolean;
  /** MHA's exit status (absent when it was not run again). */
  exitStatus?: number;
  /** MHA's sentence that states the outcome, or the last errors it logged. */
  outcome: string;
  steps: string[];
  description: string;
}

/** MHA's exit status when the new master is in place but some replicas could not be switched to it. */
const MHA_SLAVES_PARTIALLY_FAILED = 10;
const OUTPUT_LIMIT_BYTES = 4096;
const HEARTBEAT_MS = 1000;
/** After SIGINT (MHA's handler kills its threads on every server), how long before SIGKILL. */
const INTERRUPT_GRACE_MS = 5000;

export function createMysqlMhaActivities({
  runbooks,
  connections,
}: {
  runbooks: RunbookRegistry;
  connections: MysqlConnections;
}) {
  const status = (pair: string, server: string): Promise<MysqlServerStatus> => {
    const s = connections.server(pair, server);
    return readServerStatus(
      (sql) => connections.query(pair, server, sql),
      server,
      s.site,
      connections.secrets(pair),
    );
  };

  return {
    /** Runs MHA's switch to `server`, unless `server` already is the writable primary that replicates from nothing. */
    async mysqlMhaSwitch(raw: MhaSwitchInput): Promise<MhaSwitchResult> {
      const input = parsed(raw);
      const loaded = runbooks.get(input.pair);
      const delegate = loaded.runbook.mysql.delegate;
      if (!delegate)
        throw mysqlDecision('InvalidInput', `pair ${input.pair}: its runbook has no mysql.delegate section`);
      const before = await status(input.pair, input.server);
      if (!before.reachable)
        throw mysqlDecision(
          'MysqlUnreachable',
          `${input.server} does not answer (${before.error?.type ?? 'no answer'}), so MHA is not asked to promote it yet.`,
          { server: input.server },
        );
      if (isSoleWritable(before))
        return {
          server: input.server,
          from: input.from,
          alreadySwitched: true,
          outcome: 'not run again',
          steps: [],
          description: `${input.server} is already the writable primary and replicates from nothing, so MHA is not run again.`,
        };
      const config = path.resolve(path.dirname(loaded.file), delegate.config);
      const args = switchArguments(input, config, (name) => connections.server(input.pair, name), delegate);
      const logFile = managerLog(config);
      const logStart = logFile && existsSync(logFile) ? statSync(logFile).size : 0;
      log.info(`running ${delegate.command} ${args.join(' ')}`, { server: input.server });
      const run = await runMha(delegate.command, args, delegate.env, durationMs(delegate.timeout));
      const text = scrubOutput(
        `${run.output}\n${logFile ? readFrom(logFile, logStart) : ''}`,
        connections.secrets(input.pair),
        64 * 1024,
      );
      const outcome = outcomeSentence(text);
      const after = await status(input.pair, input.server);
      const ran = `MHA (${path.basename(delegate.command)} --master_state=${input.mode}) exited with ${run.timedOut ? `a timeout after ${delegate.timeout}` : `status ${run.exitStatus}`}: ${outcome}`;
      if (!isSoleWritable(after) || (run.exitStatus !== 0 && run.exitStatus !== MHA_SLAVES_PARTIALLY_FAILED))
        throw mysqlDecision(
          'MhaSwitchFailed',
          `${ran}; ${input.server} is ${describe(after)}. MHA's last output: ${scrubOutput(text, [], OUTPUT_LIMIT_BYTES)}`,
          { server: input.server, exitStatus: run.exitStatus },
        );
      const partial =
        run.exitStatus === MHA_SLAVES_PARTIALLY_FAILED
          ? ' Some replicas were not switched by MHA; the run repoints every replica next.'
          : '';
      return {
        server: input.server,
        from: input.from,
        alreadySwitched: false,
        exitStatus: run.exitStatus,
        outcome,
        steps: [ran, `${input.server} is now writable and replicates from nothing`],
        description: `MHA switched MySQL from ${input.from} to ${input.server}: ${outcome}${partial}`,
      };
    },
  };
}

function parsed(raw: unknown): MhaSwitchInput {
  const result = mhaSwitchInput.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw mysqlDecision('InvalidInput', `mysqlMhaSwitch: ${formatPath(issue.path)} ${issue.message}`);
}

const isSoleWritable = (s: MysqlServerStatus) =>
  s.reachable && !s.readOnly && !s.superReadOnly && s.replication === undefined;

function describe(s: MysqlServerStatus): string {
  if (!s.reachable) return 'unreachable';
  const writable = s.readOnly || s.superReadOnly ? 'read-only' : 'writable';
  return s.replication
    ? `${writable} and still replicates from ${s.replication.sourceHost}:${s.replication.sourcePort}`
    : `${writable} and replicates from nothing`;
}

type ServerAddress = { host: string; port: number };

/** masterha_master_switch's arguments; MHA knows servers by host and port, as its own configuration names them. */
export function switchArguments(
  input: MhaSwitchInput,
  config: string,
  server: (name: string) => ServerAddress,
  delegate: { runningUpdatesLimit: number },
): string[] {
  const candidate = server(input.server);
  const old = server(input.from);
  const common = [
    `--conf=${config}`,
    `--new_master_host=${candidate.host}`,
    `--new_master_port=${candidate.port}`,
    '--interactive=0',
  ];
  if (input.mode === 'alive')
    return [
      ...common,
      '--master_state=alive',
      '--orig_master_is_new_slave',
      `--running_updates_limit=${delegate.runningUpdatesLimit}`,
    ];
  return [
    ...common,
    '--master_state=dead',
    `--dead_master_host=${old.host}`,
    `--dead_master_ip=${old.host}`,
    `--dead_master_port=${old.port}`,
    // MHA refuses a second dead-master failover within 8 hours of the last one without it; the run decided.
    '--ignore_last_failover',
  ];
}

/** The `manager_log` of MHA's configuration, where MHA writes its log instead of its standard output. */
export function managerLog(config: string): string | undefined {
  if (!existsSync(config)) return undefined;
  const line = readFileSync(config, 'utf8')
    .split('\n')
    .find((l) => /^\s*manager_log\s*=/.test(l));
  return line?.split('=').slice(1).join('=').trim() || undefined;
}

function readFrom(file: string, offset: number): string {
  if (!existsSync(file)) return '';
  return readFileSync(file).subarray(offset).toString('utf8');
}

/** MHA's closing sentence, or (when it has none) its last error lines. */
export function outcomeSentence(text: string): string {
  const closing = [
    ...text.matchAll(
      /(?:Switching master|Master failover) to \S+ (?:completed successfully|done, but [^\n.]*)\./g,
    ),
  ];
  if (closing.length > 0) return closing.at(-1)![0];
  const errors = text
    .split('\n')
    .filter((l) => /\[error\]|Got ERROR|failed/i.test(l))
    .map((l) => l.replace(/^.*\[error\](\[[^\]]*\])?\s*/, '').trim())
    .filter(Boolean);
  return errors.length > 0 ? errors.slice(-3).join(' / ') : 'MHA printed no outcome';
}

interface MhaRun {
  exitStatus: number;
  timedOut: boolean;
  output: string;
}

/** Runs MHA with a bound, heartbeating; cancellation or the bound interrupts it (SIGINT, then SIGKILL). */
function runMha(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<MhaRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let timedOut = false;
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-64 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const interrupt = () => {
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), INTERRUPT_GRACE_MS).unref();
    };
    const beat = setInterval(() => heartbeat({ mha: 'running' }), HEARTBEAT_MS);
    const bound = setTimeout(() => {
      timedOut = true;
      interrupt();
    }, timeoutMs);
    const signal = Context.current().cancellationSignal;
    signal.addEventListener('abort', interrupt, { once: true });
    const done = () => {
      clearInterval(beat);
      clearTimeout(bound);
      signal.removeEventListener('abort', interrupt);
    };
    child.on('error', (err) => {
      done();
      reject(
        mysqlDecision('MhaSwitchFailed', `MHA could not be started (${command}): ${err.message}`, {
          command,
        }),
      );
    });
    child.on('close', (code, sig) => {
      done();
      if (signal.aborted) return reject(signal.reason);
      resolve({ exitStatus: code ?? (sig ? 128 : 1), timedOut, output });
    });
  });
}
