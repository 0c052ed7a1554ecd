import { ApplicationFailure } from '@temporalio/common';

/** Failure types a caller can match on (nonRetryableErrorTypes, reports). */
export type MysqlFailureType = 'MysqlUnreachable' | 'MysqlTimeout' | 'InvalidCredentials' | 'MysqlError';

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
  'ECONNRESET',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
]);

export function classifyMysqlError(err: unknown): MysqlFailureType {
  const code = (err as { code?: string }).code ?? '';
  if (AUTH_CODES.has(code)) return 'InvalidCredentials';
  if (code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT') return 'MysqlTimeout';
  if (NETWORK_CODES.has(code)) return 'MysqlUnreachable';
  return 'MysqlError';
}

/**
 * A typed Temporal failure for a MySQL error. The message names the server and the error code,
 * never the password (mysql2 messages carry the user name at most).
 */
export function mysqlFailure(server: string, err: unknown): ApplicationFailure {
  const type = classifyMysqlError(err);
  const code = (err as { code?: string }).code ?? 'unknown';
  const message = `${server}: ${(err as Error).message ?? String(err)} (${code})`;
  return ApplicationFailure.create({ message, type, nonRetryable: type === 'InvalidCredentials' });
}
