/**
 * How a runbook's start or stop command runs on an application host: inside a small POSIX `sh` supervisor that
 *
 * - holds a lock (`flock`, util-linux) for that host of that pair while the command runs, so that a retry of the
 *   activity (after a heartbeat timeout or a lost worker, while the previous attempt's command still runs) learns
 *   that it runs instead of running it a second time: a start `join`s (exits at once with ALREADY_RUNNING), a stop
 *   `wait`s for the lock up to its deadline;
 * - runs the command as a process group of its own (`setsid`), and ends that whole group when the SSH channel goes
 *   away (cancellation, timeout, a lost worker): sshd then closes the command's standard input, which a watcher
 *   reads (without a PTY, sshd sends no SIGHUP, and the command would otherwise go on running).
 *
 * The lock is a file descriptor of the supervising shell only (the command and the watcher get it closed), so a
 * daemon the command leaves behind never holds it, and the kernel releases it when the supervisor ends, however it
 * ends. `dash` (Debian's sh) cannot do job control without a terminal, hence `setsid` rather than `set -m`.
 */

/** Exit status of the supervisor when the lock is held by another run (and the marker line on stderr). */
export const ALREADY_RUNNING = 75;
export const ALREADY_RUNNING_MARKER = 'dr-orchestrator: another start or stop of this application is running';

/** A string as one single-quoted `sh` word. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The lock file of one application host of one pair (names are lower-case letters, digits and dashes). */
export function lockFileOf(pair: string, host: string): string {
  return `\${TMPDIR:-/tmp}/dr-orchestrator.${pair}.${host}.lock`;
}

export function supervisedCommand(
  command: string,
  options: { lockFile: string; mode: 'join' | 'wait'; waitSeconds?: number },
): string {
  const take =
    options.mode === 'join'
      ? 'flock -n 9'
      : `flock -w ${Math.max(1, Math.floor(options.waitSeconds ?? 1))} 9`;
  return [
    `exec 9>>"${options.lockFile}"`,
    `if ! ${take}; then echo ${shellQuote(ALREADY_RUNNING_MARKER)} >&2; exit ${ALREADY_RUNNING}; fi`,
    // The channel's standard input, for the watcher: an asynchronous command's own stdin is /dev/null.
    'exec 3<&0',
    `setsid sh -c ${shellQuote(command)} 9>&- 3<&- &`,
    'job=$!',
    // Standard input ends when the channel does: end the command's whole process group then.
    '( while read -r _ <&3; do :; done; kill -s TERM -- "-$job" ) 9>&- >/dev/null 2>&1 &',
    'watch=$!',
    'exec 3<&-',
    'wait "$job"; status=$?',
    'kill -s TERM "$watch" 2>/dev/null',
    'exit "$status"',
  ].join('\n');
}
