import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../../common/redact';
import { REDIS_FAILURE_TYPES, type RedisFailureType } from '../../common/redis-failures';
import { typedFailure } from '../failure';
import { NETWORK_ERROR_CODES } from '../activity-context';

/** The failure type of an error of the client or the server (WRONGPASS/NOAUTH are Redis's own error codes). */
export function classifyRedisError(err: unknown): RedisFailureType {
  if ((err as Error)?.name === 'SecretUnavailableError') return 'RedisSecretUnavailable';
  const message = (err as Error)?.message ?? '';
  if (/^(WRONGPASS|NOAUTH)\b/.test(message)) return 'RedisInvalidCredentials';
  const code = (err as { code?: string }).code ?? '';
  if (code === 'ETIMEDOUT' || /Command timed out/i.test(message)) return 'RedisTimeout';
  if (NETWORK_ERROR_CODES.has(code) || /Connection is closed|Stream isn't writeable/i.test(message))
    return 'RedisUnreachable';
  return 'RedisError';
}

/**
 * A typed Temporal failure for an error talking to `server`: the message names the server and what failed,
 * never any of `secrets` (the password a command or the client could echo).
 */
export function redisFailure(
  server: string,
  err: unknown,
  secrets: readonly string[] = [],
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const type = classifyRedisError(err);
  const code = (err as { code?: string }).code;
  const message = `${server}: ${redact((err as Error)?.message ?? String(err), secrets)}${code ? ` (${code})` : ''}`;
  return ApplicationFailure.create({ message, type, nonRetryable: !REDIS_FAILURE_TYPES[type].retryable });
}

/** A failure decided by an activity (not an error of Redis), retryable as the catalog says. */
export function redisDecision(
  type: RedisFailureType,
  message: string,
  details?: Record<string, unknown>,
): ApplicationFailure {
  return typedFailure(type, message, !REDIS_FAILURE_TYPES[type].retryable, details);
}
