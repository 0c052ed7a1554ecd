import { EsError, indexClosedBlock, indexNotFound } from './errors';
import type { FollowParameters } from './follow-parameters';
import type { EmulatedIndex, EmulatedShard, Operation } from './index-state';
import { parseTimeValue } from './params';

/** What a follow task needs to reach its leader index on one tick. */
export type LeaderLookup = { ok: true; index: EmulatedIndex | undefined } | { ok: false; error: EsError };

export interface ReadException {
  retries: number;
  error: EsError;
}

const RETRY_BASE_DELAY_MS = 50;

interface BufferedOperation {
  op: Operation;
  bytes: number;
  /** When the write to the follower shard completes (now + replication delay). */
  writtenAt: number;
}

/**
 * The follow tasks of one follower index: one shard follow task per shard (TransportResumeFollowAction starts one
 * persistent task `<follower index UUID>-<shard>` for each shard), all with the same parameters.
 */
export class IndexFollowTask {
  readonly shards: ShardFollowTask[];

  constructor(
    readonly remoteCluster: string,
    readonly leaderIndex: string,
    readonly leaderIndexUuid: string,
    readonly followerIndex: string,
    readonly followerIndexUuid: string,
    readonly parameters: FollowParameters,
    startingCheckpoints: number[],
  ) {
    this.shards = startingCheckpoints.map(
      (checkpoint, shardId) =>
        new ShardFollowTask(
          remoteCluster,
          leaderIndex,
          leaderIndexUuid,
          followerIndex,
          followerIndexUuid,
          shardId,
          parameters,
          checkpoint,
        ),
    );
  }

  /** The id of the first shard's task: the one whose creation fails first when the tasks already exist. */
  get id(): string {
    return (this.shards[0] as ShardFollowTask).id;
  }

  tick(
    now: number,
    follower: EmulatedIndex,
    lookupLeader: () => LeaderLookup,
    replicationDelayMs: number,
  ): void {
    for (const shard of this.shards) shard.tick(now, follower, lookupLeader, replicationDelayMs);
  }
}

/**
 * The shard follow task of one shard of a follower index, after ShardFollowNodeTask: a read long-polls the
 * leader shard's operation history and stays outstanding until operations above `last_requested_seq_no`
 * exist or `read_poll_timeout` passes. Read operations go to the write buffer and reach the follower shard
 * after the emulator's replication delay, so the lag is visible in the stats meanwhile. Retryable read
 * failures go to `read_exceptions` and are retried after a random exponential backoff capped at
 * `read_poll_timeout`; the leader checkpoint only moves on a successful read, and `time_since_last_read_millis`
 * counts from the last read sent (a retry too). A non-retryable failure (the leader index is gone) sets
 * `fatal_exception` and stops reading.
 */
export class ShardFollowTask {
  leaderGlobalCheckpoint: number;
  leaderMaxSeqNo: number;
  lastRequestedSeqNo: number;
  successfulReadRequests = 0;
  failedReadRequests = 0;
  operationsRead = 0;
  bytesRead = 0;
  successfulWriteRequests = 0;
  operationsWritten = 0;
  totalReadTimeMillis = 0;
  readonly readExceptions = new Map<number, ReadException>();
  fatalException: EsError | undefined;
  private readonly writeBuffer: BufferedOperation[] = [];
  private readOutstanding = false;
  /** -1 until the first read is sent, as ShardFollowNodeTask's lastFetchTime. */
  private lastReadSentAt = -1;
  private retries = 0;
  private nextAttemptAt = 0;

  constructor(
    readonly remoteCluster: string,
    readonly leaderIndex: string,
    readonly leaderIndexUuid: string,
    readonly followerIndex: string,
    readonly followerIndexUuid: string,
    readonly shardId: number,
    readonly parameters: FollowParameters,
    startingCheckpoint: number,
  ) {
    this.leaderGlobalCheckpoint = startingCheckpoint;
    this.leaderMaxSeqNo = startingCheckpoint;
    this.lastRequestedSeqNo = startingCheckpoint;
  }

  get id(): string {
    return `${this.followerIndexUuid}-${this.shardId}`;
  }

  tick(
    now: number,
    follower: EmulatedIndex,
    lookupLeader: () => LeaderLookup,
    replicationDelayMs: number,
  ): void {
    if (!follower.isOpen || !follower.primaryActive) return;
    this.read(now, lookupLeader, replicationDelayMs);
    this.write(now, follower);
  }

  private read(now: number, lookupLeader: () => LeaderLookup, replicationDelayMs: number): void {
    if (this.fatalException || now < this.nextAttemptAt) return;
    if (!this.readOutstanding) this.sendRead(now);
    const from = this.lastRequestedSeqNo + 1;
    const lookup = lookupLeader();
    if (!lookup.ok) return this.onReadFailure(now, from, lookup.error);
    const leader = lookup.index;
    if (!leader || leader.uuid !== this.leaderIndexUuid) {
      this.fatalException = indexNotFound(this.leaderIndex);
      this.readOutstanding = false;
      return;
    }
    if (!leader.isOpen) return this.onReadFailure(now, from, indexClosedBlock(this.leaderIndex));

    const leaderShard = leader.shards[this.shardId] as EmulatedShard;
    const ops = leaderShard.operationsAfter(
      this.lastRequestedSeqNo,
      this.parameters.max_read_request_operation_count,
    );
    if (ops.length === 0 && now - this.lastReadSentAt < this.pollTimeoutMs()) return;

    this.successfulReadRequests++;
    this.totalReadTimeMillis += now - this.lastReadSentAt;
    this.leaderGlobalCheckpoint = leaderShard.globalCheckpoint;
    this.leaderMaxSeqNo = leaderShard.maxSeqNo;
    this.readExceptions.clear();
    this.retries = 0;
    for (const op of ops) {
      const bytes = Buffer.byteLength(JSON.stringify(op.source ?? {}));
      this.writeBuffer.push({ op, bytes, writtenAt: now + replicationDelayMs });
      this.operationsRead++;
      this.bytesRead += bytes;
      this.lastRequestedSeqNo = Math.max(this.lastRequestedSeqNo, op.seqNo);
    }
    this.sendRead(now);
  }

  private write(now: number, follower: EmulatedIndex): void {
    let written = 0;
    while (this.writeBuffer.length > 0 && (this.writeBuffer[0] as BufferedOperation).writtenAt <= now) {
      follower.applyReplicated(this.shardId, (this.writeBuffer.shift() as BufferedOperation).op);
      written++;
    }
    if (written === 0) return;
    this.operationsWritten += written;
    this.successfulWriteRequests++;
  }

  /** One `shards[]` entry of the follow stats, in ShardFollowNodeTaskStatus field order. */
  status(now: number, follower: EmulatedIndex | undefined): Record<string, unknown> {
    const followerShard = follower?.shards[this.shardId];
    const followerCheckpoint = followerShard?.globalCheckpoint ?? -1;
    const status: Record<string, unknown> = {
      remote_cluster: this.remoteCluster,
      leader_index: this.leaderIndex,
      follower_index: this.followerIndex,
      shard_id: this.shardId,
      leader_global_checkpoint: this.leaderGlobalCheckpoint,
      leader_max_seq_no: this.leaderMaxSeqNo,
      follower_global_checkpoint: followerCheckpoint,
      follower_max_seq_no: followerShard?.maxSeqNo ?? -1,
      last_requested_seq_no: this.lastRequestedSeqNo,
      outstanding_read_requests: this.readOutstanding ? 1 : 0,
      outstanding_write_requests: this.writeBuffer.length > 0 ? 1 : 0,
      write_buffer_operation_count: this.writeBuffer.length,
      write_buffer_size_in_bytes: this.writeBuffer.reduce((sum, entry) => sum + entry.bytes, 0),
      follower_mapping_version: 1,
      follower_settings_version: 1,
      follower_aliases_version: 1,
      total_read_time_millis: this.totalReadTimeMillis,
      total_read_remote_exec_time_millis: 0,
      successful_read_requests: this.successfulReadRequests,
      failed_read_requests: this.failedReadRequests,
      operations_read: this.operationsRead,
      bytes_read: this.bytesRead,
      total_write_time_millis: 0,
      successful_write_requests: this.successfulWriteRequests,
      failed_write_requests: 0,
      operations_written: this.operationsWritten,
      read_exceptions: [...this.readExceptions].map(([fromSeqNo, { retries, error }]) => ({
        from_seq_no: fromSeqNo,
        retries,
        exception: error.toCause(),
      })),
      time_since_last_read_millis: this.lastReadSentAt === -1 ? -1 : now - this.lastReadSentAt,
    };
    if (this.fatalException) status.fatal_exception = this.fatalException.toCause();
    return status;
  }

  private sendRead(now: number): void {
    this.readOutstanding = true;
    this.lastReadSentAt = now;
  }

  private onReadFailure(now: number, from: number, error: EsError): void {
    this.failedReadRequests++;
    this.retries++;
    this.readExceptions.set(from, { retries: this.retries, error });
    this.readOutstanding = false;
    this.nextAttemptAt = now + retryDelayMs(this.retries, this.pollTimeoutMs());
  }

  private pollTimeoutMs(): number {
    return parseTimeValue(this.parameters.read_poll_timeout, 60_000, 'read_poll_timeout');
  }
}

/**
 * ShardFollowNodeTask.computeDelay: a random multiple of 50 ms up to 2^(retry-1) of them (retry capped at 24),
 * at most the task's read_poll_timeout (the code passes getReadPollTimeout, not max_retry_delay).
 */
export function retryDelayMs(retry: number, maxDelayMs: number, random: () => number = Math.random): number {
  const n = Math.round(2 ** (Math.min(retry, 24) - 1));
  const k = Math.floor(random() * (n + 1));
  return Math.min(k * RETRY_BASE_DELAY_MS, maxDelayMs);
}
