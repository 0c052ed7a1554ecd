import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { redact } from '../../common/redact';
import type { PostgresqlConfig, PostgresqlServerConfig } from '../../config/schema';
import { sshTargetOf } from '../apps';
import { shellQuote } from '../apps/remote-command';
import { SshError, type SshClient, type SshExecResult } from '../apps/ssh';
import { typedFailure } from '../failure';
import { pgDecision } from './errors';

const HEARTBEAT_MS = 1000;

/**
 * Commands on a PostgreSQL server's host over SSH (the runbook's `ssh`, host key pinned), as the account that owns the
 * data directory: the SSH user itself, or `osUser` through runuser when the SSH user is root (pg_ctl refuses root).
 * Output returned to a workflow is scrubbed of the pair's secrets.
 */
export class PgHost {
  constructor(
    private readonly ssh: SshClient,
    private readonly settings: PostgresqlConfig,
    readonly server: PostgresqlServerConfig,
    private readonly baseDir: string,
    private readonly secrets: readonly string[],
  ) {}

  /** A program of the runbook's binDirectory with its arguments, each quoted. */
  tool(program: string, ...args: string[]): string {
    return [`${this.settings.binDirectory}/${program}`, ...args].map(shellQuote).join(' ');
  }

  get dataDirectory(): string {
    return this.server.dataDirectory;
  }

  /** Where pg_ctl start writes the server's output: beside the data directory, so pg_rewind never copies it over. */
  get logFile(): string {
    return `${this.server.dataDirectory}.dr-orchestrator.log`;
  }

  /**
   * Runs `script` (sh) on the host, heartbeating while it runs; resolves whatever its exit status. `describe` names it
   * in messages: its text may hold a secret (a primary_conninfo) and is never shown.
   */
  run(script: string, describe: string, timeoutMs: number): Promise<SshExecResult> {
    return this.exec(script, describe, timeoutMs);
  }

  private async exec(
    script: string,
    describe: string,
    timeoutMs: number,
    io: { onStdout?: (chunk: Buffer) => void; input?: Buffer } = {},
  ): Promise<SshExecResult> {
    const user = this.server.osUser;
    const command = user ? `runuser -u ${shellQuote(user)} -- sh -c ${shellQuote(script)}` : script;
    const timer = setInterval(() => heartbeat({ server: this.server.name, running: describe }), HEARTBEAT_MS);
    try {
      const target = sshTargetOf({ name: this.server.name, ssh: this.server.ssh }, this.baseDir);
      const r = await this.ssh.exec(target, command, {
        timeoutMs,
        signal: cancellationSignal(),
        describe,
        ...io,
      });
      return { ...r, stdout: redact(r.stdout, this.secrets), stderr: redact(r.stderr, this.secrets) };
    } catch (err) {
      if (err instanceof SshError)
        throw typedFailure(
          err.type,
          err.message,
          err.type.startsWith('HostKey') || err.type === 'SshAuthenticationFailed',
        );
      throw err;
    } finally {
      clearInterval(timer);
    }
  }

  /** The bytes of a file of the host (`cat`, as the data directory's owner); a failure is PostgresCommandFailed. */
  async readFile(file: string, timeoutMs: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const r = await this.exec(`cat ${shellQuote(file)}`, `read ${file}`, timeoutMs, {
      onStdout: (chunk) => chunks.push(chunk),
    });
    this.checked(r, `read ${file}`);
    return Buffer.concat(chunks);
  }

  /** Writes a file of the host whole: into a temporary name beside it, then renamed over it (atomic). */
  async writeFile(file: string, content: Buffer, timeoutMs: number): Promise<void> {
    const temporary = `${file}.dr-orchestrator`;
    const script = `cat > ${shellQuote(temporary)} && mv -f ${shellQuote(temporary)} ${shellQuote(file)}`;
    this.checked(await this.exec(script, `write ${file}`, timeoutMs, { input: content }), `write ${file}`);
  }

  /** Runs `script` and returns its standard output; a non-zero exit fails with PostgresCommandFailed and its stderr. */
  async check(script: string, describe: string, timeoutMs: number): Promise<string> {
    return this.checked(await this.run(script, describe, timeoutMs), describe).stdout;
  }

  private checked(r: SshExecResult, describe: string): SshExecResult {
    if (r.exitCode !== 0)
      throw pgDecision(
        'PostgresCommandFailed',
        `${this.server.name}: ${describe} failed (exit ${r.exitCode ?? r.signal}): ${lastLines(r.stderr || r.stdout)}`,
        { server: this.server.name, exitCode: r.exitCode },
      );
    return r;
  }

  /** Whether the server runs, by `pg_ctl status` (0: running, 3: not running; anything else fails). */
  async running(timeoutMs: number): Promise<boolean> {
    const r = await this.run(
      this.tool('pg_ctl', 'status', '-D', this.dataDirectory),
      'pg_ctl status',
      timeoutMs,
    );
    if (r.exitCode === 0) return true;
    if (r.exitCode === 3) return false;
    throw pgDecision(
      'PostgresCommandFailed',
      `${this.server.name}: pg_ctl status failed (exit ${r.exitCode ?? r.signal}): ${lastLines(r.stderr || r.stdout)}`,
    );
  }

  /**
   * Stops the server with `pg_ctl stop -m fast`; true when it stopped it, false when it was not running or died
   * meanwhile (pg_ctl stop fails on a postmaster that died leaving its pid file: `pg_ctl status` then says so).
   */
  async stop(timeoutMs: number, waitSeconds: number): Promise<boolean> {
    if (!(await this.running(timeoutMs))) return false;
    const stop = this.tool(
      'pg_ctl',
      'stop',
      '-D',
      this.dataDirectory,
      '-m',
      'fast',
      '-w',
      '-t',
      String(waitSeconds),
    );
    const r = await this.run(stop, 'pg_ctl stop -m fast', (waitSeconds + 15) * 1000);
    if (r.exitCode === 0) return true;
    if (!(await this.running(timeoutMs))) return false;
    throw pgDecision(
      'PostgresCommandFailed',
      `${this.server.name}: pg_ctl stop -m fast failed (exit ${r.exitCode ?? r.signal}) and it still runs: ${lastLines(r.stderr || r.stdout)}`,
      { server: this.server.name, exitCode: r.exitCode },
    );
  }

  /** Starts the server (pg_ctl start, waiting up to `waitSeconds` for it to accept connections), logging to logFile. */
  async start(timeoutMs: number, waitSeconds: number): Promise<void> {
    await this.check(
      this.tool(
        'pg_ctl',
        'start',
        '-D',
        this.dataDirectory,
        '-w',
        '-t',
        String(waitSeconds),
        '-l',
        this.logFile,
      ),
      'pg_ctl start',
      timeoutMs,
    );
  }

  /** The server's control file as pg_controldata prints it. */
  async controlData(timeoutMs: number): Promise<ControlData> {
    return parseControlData(
      await this.check(this.tool('pg_controldata', '-D', this.dataDirectory), 'pg_controldata', timeoutMs),
    );
  }
}

/** What the orchestrator reads of pg_controldata's output (src/bin/pg_controldata/pg_controldata.c). */
export interface ControlData {
  /** "shut down", "shut down in recovery", "in production", "in archive recovery", … */
  state: string;
  /** The start of the last checkpoint record: for a clean stop, the shutdown checkpoint, the last record written. */
  checkpointLsn: string;
  /** The REDO location of that checkpoint. */
  redoLsn: string;
  timeline: number;
  walLogHints: boolean;
  dataChecksums: boolean;
  /** The size of a WAL segment file ("Bytes per WAL segment"). */
  walSegmentBytes: number;
}

export function parseControlData(text: string): ControlData {
  const field = (label: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${label}:`));
    if (line === undefined) throw new Error(`pg_controldata printed no "${label}" line`);
    return line.slice(label.length + 1).trim();
  };
  return {
    state: field('Database cluster state'),
    checkpointLsn: field('Latest checkpoint location'),
    redoLsn: field("Latest checkpoint's REDO location"),
    timeline: Number(field("Latest checkpoint's TimeLineID")),
    walLogHints: field('wal_log_hints setting') === 'on',
    dataChecksums: field('Data page checksum version') !== '0',
    walSegmentBytes: Number(field('Bytes per WAL segment')),
  };
}

/** The last few lines of a command's output, for a message. */
export function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join(' / ') || 'no output';
}
