import { log } from '@temporalio/activity';
import { scrubOutput } from '../../common/redact';

/**
 * What the programs the MySQL activities run (the binlog tool and the keepDown command on a database host, the
 * rebuild's dump and load) said when they failed, as one of a fixed set of sentences. Their error output is
 * remote, untrusted text that may quote a path, a row or a secret: it never goes into a result, a failure or a
 * heartbeat (workflow history). Output that matches no known failure is logged on the worker, scrubbed and
 * bounded, and the sentence says so. The messages matched are the programs' own, as MariaDB 10.11's tools and
 * Debian's sh print them (see activities/mysql/README.md).
 */
export interface KnownFailure {
  /** Matches the program's error output. */
  test: RegExp;
  says: string;
}

/** Error output of the salvage's binlog read on the old primary's host (binlogReadCommand). */
export const BINLOG_READ_FAILURES: readonly KnownFailure[] = [
  {
    test: /exec: \S+: (?:command )?not found/,
    says: 'the binlog tool is not installed on the host (exit 127)',
  },
  {
    test: /cd: (?:can't cd to|.*No such file)/,
    says: "the binlog index's folder does not exist on the host (check salvage.binlogIndex)",
  },
  {
    test: /^cat: .*No such file or directory/m,
    says: 'the binlog index does not exist on the host (check salvage.binlogIndex)',
  },
  {
    test: /^(?:cat|sh): .*Permission denied/m,
    says: 'the SSH user may not read the binlog index',
  },
  { test: /Please provide the log file/, says: 'the binlog index lists no binlog file' },
  { test: /not found \(Errcode: 2\b/, says: 'a binlog file the index lists does not exist' },
  { test: /\(Errcode: 13\b/, says: 'the SSH user may not read the binlog files (permission denied)' },
  { test: /not a binary log file/i, says: 'a file the index lists is not a binary log' },
  {
    test: /never reached expected GTID state/,
    says: "the binlog files do not reach the candidate's position (purged, or not this server's)",
  },
  {
    test: /read_log_event|Could not read entry at offset|Event truncated|Found invalid event/,
    says: 'a binlog event could not be read (the file is cut short or damaged); what came before it was printed',
  },
  {
    test: /argument value is invalid|unknown (?:variable|option)/,
    says: "the binlog tool refuses the salvage's options (MariaDB 10.8 or later reads from a GTID position)",
  },
  { test: /Cannot allocate memory|Out of memory/i, says: 'the host ran out of memory' },
];

/** Error output of the runbook's salvage.keepDown command (typically systemctl, through sudo). */
export const KEEP_DOWN_FAILURES: readonly KnownFailure[] = [
  { test: /(?:^|: )(?:command )?not found\s*$/m, says: 'a program it runs is not installed on the host' },
  {
    test: /sudo: (?:a terminal is required|.*password is required)/,
    says: 'sudo asked for a password: let the SSH user run it without one (NOPASSWD)',
  },
  {
    test: /not in the sudoers|not allowed to execute/,
    says: 'sudo does not allow the SSH user to run it',
  },
  {
    test: /Interactive authentication required|Access denied|Permission denied|Operation not permitted/i,
    says: 'the host refused the SSH user the permission to do it',
  },
  {
    test: /Unit \S+ (?:not found|not loaded|does not exist)|could not be found/i,
    says: 'the service it names does not exist on the host',
  },
];

/** Errors of the mariadb client and mariadb-dump, by the error number their output gives. */
const CLIENT_ERRORS: Record<number, string> = {
  1044: 'the account lacks a privilege it needs',
  1045: 'the server refused the account (access denied)',
  1049: 'a schema disappeared during the copy',
  1142: 'the account lacks a privilege it needs',
  1143: 'the account lacks a privilege it needs',
  1205: 'a lock wait timed out',
  1213: 'a deadlock ended its transaction',
  1227: 'the account lacks a privilege it needs',
  1290: 'the server refused it because of an option it runs with (read-only?)',
  2002: 'it could not connect to the server',
  2003: 'it could not connect to the server',
  2005: 'it could not resolve the server name',
  2006: 'the server went away',
  2013: 'it lost its connection to the server (the server stopped, restarted or ended its session)',
  2026: 'the TLS connection failed',
};

/** "ERROR 1062 (23000) at line 5", "Got error: 1045:", "Error 2013:", "… (1227)" at a line's end. */
const CLIENT_ERRNO = /ERROR (\d{4}) \(|Got error: (\d{4}):|Error (\d{4}):|\((\d{4})\)\s*$/m;

/** "error 2013: it lost its connection…", from the output of the mariadb client or mariadb-dump; else undefined. */
export function clientFailure(stderr: string): string | undefined {
  const match = CLIENT_ERRNO.exec(stderr);
  const errno = Number(match?.slice(1).find((g) => g !== undefined));
  if (!match || !Number.isInteger(errno)) return undefined;
  const says = CLIENT_ERRORS[errno];
  return says ? `error ${errno}: ${says}` : `error ${errno}`;
}

/**
 * The known failure `stderr` shows, as a sentence ("a binlog file the index lists does not exist"); otherwise
 * a sentence saying that there was none or that it is in the worker's log (scrubbed of `secrets`, bounded).
 */
export function explainFailure(
  program: string,
  stderr: string,
  known: readonly KnownFailure[],
  secrets: readonly string[],
): string {
  const found = known.find((k) => k.test.test(stderr));
  if (found) return found.says;
  if (!stderr.trim()) return 'it printed no error';
  log.warn(`${program} failed; its error output, scrubbed: ${scrubOutput(stderr, secrets, 1000)}`);
  return "its error output matches no known failure (the worker's log has it, scrubbed)";
}
