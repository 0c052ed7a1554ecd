import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../../common/redact';
import { typedFailure } from '../failure';
import { NETWORK_ERROR_CODES } from '../activity-context';

/** Every failure type the PostgreSQL activities raise, and whether a retry can fix it. */
export const PG_FAILURE_TYPES = {
  /** Nothing answers (refused, reset, host unknown, shutting down), e.g. a dead or stopped server. */
  PostgresUnreachable: { retryable: true },
  /** Connecting or a statement took longer than the runbook allows (a frozen or overloaded server). */
  PostgresTimeout: { retryable: true },
  /** Any other server error. */
  PostgresError: { retryable: true },
  /** Fix the account or the secret reference. */
  InvalidCredentials: { retryable: false },
  SecretUnavailable: { retryable: false },
  /** The runbook names no such server. */
  UnknownServer: { retryable: false },
  /** A command on the server's host (pg_ctl, pg_controldata, pg_rewind) failed; its output says why. */
  PostgresCommandFailed: { retryable: false },
  /** The stopped primary's control file does not say "shut down": no clean stop, so its last LSN is not final. */
  NotCleanlyStopped: { retryable: false },
  /** The standby did not replay what it must within the time allowed. */
  StandbyNotCaughtUp: { retryable: false },
  /** pg_promote answered false, or the server is still in recovery after it. */
  PromoteFailed: { retryable: false },
  /** Starting an old primary again as a primary was refused: it is (or was made) a standby. */
  UnfenceOfStandby: { retryable: false },
  /** pg_rewind cannot run on the server: neither wal_log_hints nor data checksums (pg_rewind.sgml). */
  NotRewindable: { retryable: false },
  /** The rejoined standby does not stream from its new primary. */
  StandbyNotStreaming: { retryable: false },
} as const;

export type PgFailureType = keyof typeof PG_FAILURE_TYPES;

export function pgDecision(type: PgFailureType, message: string, details?: unknown): ApplicationFailure {
  return typedFailure(type, message, !PG_FAILURE_TYPES[type].retryable, details);
}

/** SQLSTATEs of a server that is going away or not yet there: admin_shutdown, crash_shutdown, cannot_connect_now. */
const GOING_AWAY = new Set(['57P01', '57P02', '57P03']);

export function classifyPgError(err: unknown): PgFailureType {
  if ((err as Error)?.name === 'SecretUnavailableError') return 'SecretUnavailable';
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error)?.message ?? '';
  if (code === '28P01' || code === '28000') return 'InvalidCredentials';
  if (code === '57014' || /timeout/i.test(message)) return 'PostgresTimeout';
  if (NETWORK_ERROR_CODES.has(code) || GOING_AWAY.has(code) || /Connection terminated/i.test(message))
    return 'PostgresUnreachable';
  return 'PostgresError';
}

/** A typed Temporal failure for a pg error: it names the server and the error, never any of `secrets`. */
export function pgFailure(server: string, err: unknown, secrets: readonly string[] = []): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const type = classifyPgError(err);
  const code = (err as { code?: string }).code;
  const text = redact((err as Error)?.message ?? String(err), secrets);
  return pgDecision(type, `${server}: ${text}${code ? ` (${code})` : ''}`, { server, code });
}
