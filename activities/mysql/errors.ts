import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../../common/redact';
import { typedFailure } from '../failure';

/**
 * Failure types a caller can match on (nonRetryableErrorTypes, reports).
 *
 * Connection problems (retryable: the next attempt may succeed):
 * - `MysqlUnreachable`: nothing answers (refused, reset, host unknown) — e.g. a dead primary.
 * - `MysqlTimeout`: connecting or a statement took too long.
 * - `MysqlError`: any other server error.
 *
 * Decisions for a human (non-retryable: retrying cannot change the answer):
 * - `InvalidCredentials`, `SecretUnavailable`: fix the account or the secret reference.
 * - `NoCandidate`: no replica can be promoted. `CandidateTooFarBehind`: the best one lags more than allowed.
 * - `ReplicaNotCaughtUp`: the replica did not apply what it must within the time allowed.
 * - `ReplicationBroken`: the applier stopped on an error. `ReplicationNotRunning`: repointed replication
 *   did not come up (both threads Yes).
 * - `ErrantTransactions`: a server has transactions the new primary lacks; they are listed in the details.
 * - `SplitBrainRisk`: another server of the pair is writable. `NotAReplica`, `UnknownServer`: wrong target.
 */
export type MysqlFailureType =
  | 'MysqlUnreachable'
  | 'MysqlTimeout'
  | 'InvalidCredentials'
  | 'SecretUnavailable'
  | 'MysqlError'
  | 'NoCandidate'
  | 'CandidateTooFarBehind'
  | 'ReplicaNotCaughtUp'
  | 'ReplicationBroken'
  | 'ReplicationNotRunning'
  | 'ErrantTransactions'
  | 'SplitBrainRisk'
  | 'NotAReplica'
  | 'UnknownServer';

const AUTH_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
]);

export function classifyMysqlError(err: unknown): MysqlFailureType {
  if ((err as Error)?.name === 'SecretUnavailableError') return 'SecretUnavailable';
  const code = (err as { code?: string }).code ?? '';
  if (AUTH_CODES.has(code)) return 'InvalidCredentials';
  if (code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT') return 'MysqlTimeout';
  if (NETWORK_CODES.has(code)) return 'MysqlUnreachable';
  return 'MysqlError';
}

const NON_RETRYABLE = new Set<MysqlFailureType>(['InvalidCredentials', 'SecretUnavailable']);

/**
 * A typed Temporal failure for a MySQL error. The message names the server and the error code, never the
 * statement text (mysql2 keeps it in `err.sql`, which is dropped) nor any of `secrets`.
 */
export function mysqlFailure(
  server: string,
  err: unknown,
  secrets: readonly string[] = [],
  context?: string,
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const type = classifyMysqlError(err);
  const code = (err as { code?: string }).code ?? (type === 'SecretUnavailable' ? 'secret' : 'unknown');
  const text = redact((err as Error)?.message ?? String(err), secrets);
  const message = `${server}: ${context ? `${context}: ` : ''}${text} (${code})`;
  return ApplicationFailure.create({ message, type, nonRetryable: NON_RETRYABLE.has(type) });
}

/** A typed failure raised by an activity's own judgement (not a MySQL error). */
export function mysqlDecision(
  type: MysqlFailureType,
  message: string,
  details?: Record<string, unknown>,
  nonRetryable = true,
): ApplicationFailure {
  return typedFailure(type, message, nonRetryable, details);
}
