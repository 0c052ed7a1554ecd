/**
 * Every failure type the MySQL activities raise, and whether a retry can fix it: the single source of truth
 * for the activities (which mark failures non-retryable from it) and for workflows (which derive their retry
 * policies' `nonRetryableErrorTypes` from it). Pure data, so workflow code may import it.
 */
export const MYSQL_FAILURE_TYPES = {
  // Connection problems: the next attempt may succeed.
  /** Nothing answers (refused, reset, host unknown), e.g. a dead primary. */
  MysqlUnreachable: { retryable: true },
  /** Connecting or a statement took longer than the runbook allows (a frozen or overloaded server). */
  MysqlTimeout: { retryable: true },
  /** Any other server error. */
  MysqlError: { retryable: true },

  // Decisions for a human: retrying cannot change the answer.
  /** Fix the account or the secret reference. */
  InvalidCredentials: { retryable: false },
  SecretUnavailable: { retryable: false },
  /** An activity's input is malformed (the message names the field); nothing was changed. */
  InvalidInput: { retryable: false },
  /** No replica can be promoted. */
  NoCandidate: { retryable: false },
  /** The best replica lags more than allowed. */
  CandidateTooFarBehind: { retryable: false },
  /** The replica did not apply what it must within the time allowed. */
  ReplicaNotCaughtUp: { retryable: false },
  /** The applier stopped on an error. */
  ReplicationBroken: { retryable: false },
  /** Repointed replication did not come up (both threads Yes). */
  ReplicationNotRunning: { retryable: false },
  /** A server has transactions the new primary lacks; they are listed in the details. */
  ErrantTransactions: { retryable: false },
  /** MariaDB: a server's binlog lacks the replicated transactions (log_slave_updates=OFF), so its binlog
   *  state cannot be compared; the errant-transaction check refuses rather than report false ones. */
  LogSlaveUpdatesOff: { retryable: false },
  /** Another server of the pair is writable. */
  SplitBrainRisk: { retryable: false },
  /** The server still accepts writes after the fence's statements: something turned read-only back off. */
  StillWritableAfterFence: { retryable: false },
  /** Unfence refused: the server replicates from another, and a replica must stay read-only. */
  UnfenceOfReplica: { retryable: false },
  /** The unfence's statements were acknowledged, yet the server is still read-only. */
  StillReadOnlyAfterUnfence: { retryable: false },
  /** After the promotion's statements the server still replicates or is still read-only. */
  PromotionNotEffective: { retryable: false },
  /** Another session (an earlier attempt whose connection the server has not closed yet) applies a salvage. */
  SalvageInProgress: { retryable: true },
  /** A transaction salvaged from the old primary's binlog failed on the candidate: a human must look. */
  SalvageApplyFailed: { retryable: false },
  /** Wrong target: not a replica, or not a server of the pair. */
  NotAReplica: { retryable: false },
  UnknownServer: { retryable: false },
  /** A replica cannot be rebuilt from this source: a MySQL server, a writable target, a source that is not the primary. */
  RebuildNotPossible: { retryable: false },
  /** The dump or the load of a rebuild failed (the next attempt starts it again from the start). */
  RebuildFailed: { retryable: true },
  /** The server holds an incomplete rebuild (part of a copy): it is not repointed, promoted nor made writable
   *  until a rebuild finishes. */
  RebuildIncomplete: { retryable: false },
  /** The switch delegated to MHA failed or left the candidate not the sole writable primary: a human reads MHA's log. */
  MhaSwitchFailed: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;

export type MysqlFailureType = keyof typeof MYSQL_FAILURE_TYPES;

/** The types a workflow's retry policy must list in `nonRetryableErrorTypes`. */
export const MYSQL_NON_RETRYABLE_FAILURE_TYPES: readonly MysqlFailureType[] = (
  Object.keys(MYSQL_FAILURE_TYPES) as MysqlFailureType[]
).filter((type) => !MYSQL_FAILURE_TYPES[type].retryable);
