/**
 * Every failure type the Redis activities raise, and whether a retry can fix it: the activities mark failures
 * non-retryable from it, and the workflows' retry policies take their `nonRetryableErrorTypes` from it. Pure data,
 * so workflow code may import it.
 */
export const REDIS_FAILURE_TYPES = {
  // Connection problems: the next attempt may succeed.
  /** Nothing answers (refused, reset, host unknown), e.g. a dead master. */
  RedisUnreachable: { retryable: true },
  /** Connecting or a command took longer than the runbook allows (a frozen or overloaded server). */
  RedisTimeout: { retryable: true },
  /** Any other server error. */
  RedisError: { retryable: true },
  /** A FAILOVER ended without handing over (it rolled back on its timeout): the next try may succeed. */
  RedisFailoverRolledBack: { retryable: true },

  // Decisions for a human: retrying cannot change the answer.
  /** The password or user is wrong (WRONGPASS, NOAUTH). */
  RedisInvalidCredentials: { retryable: false },
  /** The runbook's password reference cannot be read. */
  RedisSecretUnavailable: { retryable: false },
  /** An activity's input is malformed or names no server of the runbook; nothing was changed. */
  RedisInvalidInput: { retryable: false },
  /** The replica did not read everything the paused master holds within the runbook's catch-up timeout. */
  RedisNotCaughtUp: { retryable: false },
  /** The server a replica should follow is not a writable master (it replicates, or does not answer as one). */
  RedisSourceNotMaster: { retryable: false },
  /** A planned promotion whose old master does not answer: its last writes could not be checked, so nothing is done. */
  RedisMasterUnreachableForSwitchover: { retryable: false },
  /** After its commands the server is not in the role asked (still a master, still writable, another source). */
  RedisRoleNotReached: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;

export type RedisFailureType = keyof typeof REDIS_FAILURE_TYPES;
