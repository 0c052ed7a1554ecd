import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../../common/redact';
import { MYSQL_FAILURE_TYPES, type MysqlFailureType } from '../../common/mysql-failures';
import { typedFailure } from '../failure';

export {
  MYSQL_FAILURE_TYPES,
  MYSQL_NON_RETRYABLE_FAILURE_TYPES,
  type MysqlFailureType,
} from '../../common/mysql-failures';
import { NETWORK_ERROR_CODES } from '../activity-context';

const AUTH_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
]);
/** MySQL's client adds its own code for a connection the server dropped. */
const NETWORK_CODES = new Set([...NETWORK_ERROR_CODES, 'PROTOCOL_CONNECTION_LOST']);

export function classifyMysqlError(err: unknown): MysqlFailureType {
  if ((err as Error)?.name === 'SecretUnavailableError') return 'SecretUnavailable';
  const code = (err as { code?: string }).code ?? '';
  if (AUTH_CODES.has(code)) return 'InvalidCredentials';
  if (code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT') return 'MysqlTimeout';
  if (NETWORK_CODES.has(code)) return 'MysqlUnreachable';
  return 'MysqlError';
}

/**
 * A typed Temporal failure for a MySQL error. The message names the server and the error code, never the
 * statement text (mysql2 keeps it in `err.sql`, which is dropped) nor any of `secrets`. For a statement that
 * carries a secret (`failedStatement`), the server's own text is left out too: it may echo the statement,
 * cut where redaction cannot recognise the secret; only the statement's name, error number and code remain.
 */
export function mysqlFailure(
  server: string,
  err: unknown,
  secrets: readonly string[] = [],
  failedStatement?: string,
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const type = classifyMysqlError(err);
  const code = (err as { code?: string }).code ?? (type === 'SecretUnavailable' ? 'secret' : 'unknown');
  const errno = (err as { errno?: number }).errno;
  const message = failedStatement
    ? `${server}: ${failedStatement} failed with ${errno ? `error ${errno} (${code})` : `(${code})`}`
    : `${server}: ${redact((err as Error)?.message ?? String(err), secrets)} (${code})`;
  return ApplicationFailure.create({ message, type, nonRetryable: !MYSQL_FAILURE_TYPES[type].retryable });
}

/** A typed failure raised by an activity's own judgement (not a MySQL error); retryable as the catalog says. */
export function mysqlDecision(
  type: MysqlFailureType,
  message: string,
  details?: Record<string, unknown>,
): ApplicationFailure {
  return typedFailure(type, message, !MYSQL_FAILURE_TYPES[type].retryable, details);
}

/**
 * Refuses a server that holds an incomplete rebuild (see REBUILD_MARK in dialect.ts): part of a copy, which no
 * replica, primary or client may use. Only running the rebuild again to its end clears the mark.
 */
export function refuseIncompleteRebuild(
  status: { server: string; rebuildIncomplete?: { startedAt: string; source: string } },
  before = 'repointing or promoting it',
): void {
  const mark = status.rebuildIncomplete;
  if (!mark) return;
  throw mysqlDecision(
    'RebuildIncomplete',
    `${status.server} holds an incomplete rebuild (started at ${mark.startedAt} from ${mark.source}): ` +
      `run the rebuild again before ${before}.`,
    { server: status.server, ...mark },
  );
}
