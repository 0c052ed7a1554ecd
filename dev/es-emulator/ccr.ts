import type { EmulatedCluster } from './cluster';
import { validateIndexName } from './cluster';
import {
  EsError,
  illegalArgument,
  indexNotFound,
  resourceAlreadyExists,
  resourceNotFound,
  statusException,
  validationFailed,
  wrappedException,
} from './errors';
import { explicitFollowParameters, withDefaults, type FollowParameters } from './follow-parameters';
import { EmulatedIndex, FOLLOWING_INDEX_SETTING } from './index-state';
import { IndexFollowTask } from './replication';
import { parseByteSize, simpleMatch } from './params';

/**
 * Cross-cluster replication operations on the follower cluster, with the preconditions checked in the order
 * of TransportPutFollowAction, TransportPauseFollowAction, TransportResumeFollowAction and TransportUnfollowAction.
 */

export interface PutFollowResponse {
  follow_index_created: boolean;
  follow_index_shards_acked: boolean;
  index_following_started: boolean;
}

/** A put-follow whose restore has started: `completion` settles once following started (or could not). */
export interface StartedPutFollow {
  completion: Promise<void>;
}

/**
 * PUT /<follower>/_ccr/follow, after TransportPutFollowAction: the follower index is restored from the leader's
 * latest commit (over a closed index of that name, keeping its UUID, as RestoreService.restoreOverClosedIndex
 * does), which takes the leader's size over the CCR recovery rate; then following starts (a resume-follow).
 * With `wait_for_active_shards` none (the default) the answer comes as soon as the restore has started and
 * a failure to start following is only logged; otherwise the answer waits for the restore and the resume.
 */
export async function putFollow(
  cluster: EmulatedCluster,
  followerIndex: string,
  body: Record<string, unknown>,
  waitForActiveShards: number | 'all' | undefined,
): Promise<PutFollowResponse> {
  const { completion } = startPutFollow(cluster, followerIndex, body);
  const waits = waitForActiveShards !== undefined && waitForActiveShards !== 0;
  if (!waits) {
    completion.catch(() => undefined);
    return { follow_index_created: true, follow_index_shards_acked: false, index_following_started: false };
  }
  await completion;
  return { follow_index_created: true, follow_index_shards_acked: true, index_following_started: true };
}

/** Validates a put-follow and starts its restore; throws the errors ES answers before the restore starts. */
export function startPutFollow(
  cluster: EmulatedCluster,
  followerIndex: string,
  body: Record<string, unknown>,
): StartedPutFollow {
  const missing: string[] = [];
  if (typeof body.remote_cluster !== 'string') missing.push('remote_cluster is missing');
  if (typeof body.leader_index !== 'string') missing.push('leader_index is missing');
  if (missing.length > 0) throw validationFailed(missing);
  const remoteCluster = body.remote_cluster as string;
  const leaderIndexName = body.leader_index as string;
  const parameters = withDefaults(explicitFollowParameters(body));

  const { leader, leaderCluster } = fetchLeader(cluster, remoteCluster, leaderIndexName);
  const existing = cluster.indices.get(followerIndex);
  // The restore validates the target name only when no index has it yet (RestoreService).
  if (!existing) validateIndexName(followerIndex);
  if (existing?.isOpen) {
    throw new EsError(
      500,
      'snapshot_restore_exception',
      `[_ccr_${remoteCluster}:_latest_/_latest_] cannot restore index [${followerIndex}] because an open index with same name ` +
        'already exists in the cluster. Either close or delete the existing index or restore the index under a different ' +
        'name by providing a rename pattern and replacement name',
    );
  }

  const follower = new EmulatedIndex(
    followerIndex,
    followerSettings(leader, followerIndex, body.settings),
    structuredClone(leader.mappings),
    existing?.uuid,
  );
  // Restoring over a closed index allocates a new primary: its term moves past the old one.
  follower.primaryTerm = existing ? existing.primaryTerm + 1 : 1;
  // The restored metadata carries the CCR custom metadata (CcrRepository): follow info lists the index at once.
  follower.follower = { remoteCluster, leaderIndex: leader.name, leaderIndexUuid: leader.uuid };
  const snapshot = leader.snapshot();
  const restored = new Promise<void>((resolve) => {
    follower.restoring = {
      until: Date.now() + restoreDurationMs(snapshot.sizeInBytes, cluster, leaderCluster),
      snapshot,
      done: resolve,
    };
  });
  cluster.indices.set(followerIndex, follower);
  cluster.metadataVersion++;
  // A shard follow task of the same index UUID (a follower closed without pausing) survives the restore, and
  // starting following then fails with resource_already_exists_exception (PersistentTasksClusterService).
  const completion = restored.then(() => {
    if (cluster.indices.get(followerIndex) !== follower) throw indexNotFound(followerIndex);
    const task = cluster.followTasks.get(followerIndex);
    if (task) throw resourceAlreadyExists(`task with id {${task.id}} already exist`);
    startFollowing(cluster, follower, parameters);
  });
  return { completion };
}

/** The restore copies the leader's bytes at `ccr.indices.recovery.max_bytes_per_sec` of both clusters (default 40mb). */
function restoreDurationMs(bytes: number, follower: EmulatedCluster, leader: EmulatedCluster): number {
  const rates = [follower, leader]
    .map((c) => c.settings.effective().get(RECOVERY_RATE_SETTING))
    .map((value) => parseByteSize(typeof value === 'string' ? value : undefined, DEFAULT_RECOVERY_RATE));
  const rate = Math.min(...rates.map((r) => (r <= 0 ? Number.POSITIVE_INFINITY : r)));
  return Number.isFinite(rate) ? Math.ceil((bytes / rate) * 1000) : 0;
}

const RECOVERY_RATE_SETTING = 'ccr.indices.recovery.max_bytes_per_sec';
const DEFAULT_RECOVERY_RATE = 40 * 1024 * 1024;

export function pauseFollow(cluster: EmulatedCluster, followerIndex: string): void {
  const index = cluster.index(followerIndex);
  if (!index.isFollower) throw notAFollower(followerIndex);
  if (!cluster.followTasks.has(followerIndex))
    throw illegalArgument(`no shard follow tasks for [${followerIndex}]`);
  cluster.followTasks.delete(followerIndex);
}

export function resumeFollow(
  cluster: EmulatedCluster,
  followerIndex: string,
  body: Record<string, unknown>,
): void {
  const follower = cluster.index(followerIndex);
  const metadata = follower.follower;
  if (!metadata) throw illegalArgument(`follow index [${followerIndex}] does not have ccr metadata`);
  const parameters = withDefaults(explicitFollowParameters(body));
  const { leader } = fetchLeader(cluster, metadata.remoteCluster, metadata.leaderIndex);
  if (leader.uuid !== metadata.leaderIndexUuid) {
    throw illegalArgument(
      `follow index [${followerIndex}] should reference [${leader.uuid}] as leader index but instead reference ` +
        `[${metadata.leaderIndexUuid}] as leader index`,
    );
  }
  if (!leader.isOpen || !follower.isOpen) throw illegalArgument('leader and follow index must be open');
  const task = cluster.followTasks.get(followerIndex);
  if (task) throw resourceAlreadyExists(`task with id {${task.id}} already exist`);
  startFollowing(cluster, follower, parameters);
}

export function unfollow(cluster: EmulatedCluster, followerIndex: string): void {
  const index = cluster.index(followerIndex);
  const metadata = index.follower;
  if (!metadata) throw notAFollower(followerIndex);
  if (index.isOpen) {
    throw illegalArgument(
      `cannot convert the follower index [${followerIndex}] to a non-follower, because it has not been closed`,
    );
  }
  if (cluster.followTasks.has(followerIndex)) {
    throw illegalArgument(
      `cannot convert the follower index [${followerIndex}] to a non-follower, because it has not been paused`,
    );
  }
  index.follower = undefined;
  delete index.settings[FOLLOWING_INDEX_SETTING];
  cluster.metadataVersion++;

  // The index is already unfollowed here; failing to remove the retention lease on the leader still fails the call.
  const failure = retentionLeaseRemovalFailure(
    cluster,
    metadata.remoteCluster,
    metadata.leaderIndex,
    metadata.leaderIndexUuid,
  );
  if (failure) {
    const leaseId = `${cluster.name}/${index.name}/${index.uuid}-following-${metadata.remoteCluster}/${metadata.leaderIndex}/${metadata.leaderIndexUuid}`;
    throw wrappedException(failure, { failed_to_remove_retention_leases: leaseId });
  }
}

export function followInfo(cluster: EmulatedCluster, expression: string): Record<string, unknown> {
  const indices = resolveIndices(cluster, expression);
  const followerIndices = indices
    .filter((index) => index.follower !== undefined)
    .map((index) => {
      const metadata = index.follower as NonNullable<EmulatedIndex['follower']>;
      const task = cluster.followTasks.get(index.name);
      const entry: Record<string, unknown> = {
        follower_index: index.name,
        remote_cluster: metadata.remoteCluster,
        leader_index: metadata.leaderIndex,
        status: task ? 'active' : 'paused',
      };
      if (task) entry.parameters = task.parameters;
      return entry;
    });
  return { follower_indices: followerIndices };
}

export function followStats(cluster: EmulatedCluster, names: string[] | undefined): Record<string, unknown> {
  const all =
    names === undefined ||
    names.length === 0 ||
    (names.length === 1 && (names[0] === '_all' || names[0] === '*'));
  const tasks = [...cluster.followTasks.values()].filter(
    (task) => all || (names ?? []).some((name) => simpleMatch(name, task.followerIndex)),
  );
  if (!all && tasks.length === 0) {
    throw resourceNotFound(`No shard follow tasks for follower indices [${(names ?? []).join(',')}]`);
  }
  const now = Date.now();
  const indices = tasks
    .sort((a, b) => a.followerIndex.localeCompare(b.followerIndex))
    .map((task) => {
      const follower = cluster.indices.get(task.followerIndex);
      const shards = task.shards.map((shard) => shard.status(now, follower));
      const lag = shards.reduce(
        (sum, shard) =>
          sum +
          Math.max(
            0,
            (shard.leader_global_checkpoint as number) - (shard.follower_global_checkpoint as number),
          ),
        0,
      );
      return { index: task.followerIndex, total_global_checkpoint_lag: lag, shards };
    });
  return { indices };
}

/** Index names from a path expression: exact names must exist (404), wildcards match open and closed indices. */
export function resolveIndices(cluster: EmulatedCluster, expression: string): EmulatedIndex[] {
  const result = new Map<string, EmulatedIndex>();
  for (const part of expression.split(',').filter((p) => p !== '')) {
    if (part === '_all' || part.includes('*')) {
      const pattern = part === '_all' ? '*' : part;
      for (const index of cluster.indices.values())
        if (simpleMatch(pattern, index.name)) result.set(index.name, index);
    } else {
      result.set(part, cluster.index(part));
    }
  }
  return [...result.values()];
}

function startFollowing(
  cluster: EmulatedCluster,
  follower: EmulatedIndex,
  parameters: FollowParameters,
): void {
  const metadata = follower.follower as NonNullable<EmulatedIndex['follower']>;
  cluster.followTasks.set(
    follower.name,
    new IndexFollowTask(
      metadata.remoteCluster,
      metadata.leaderIndex,
      metadata.leaderIndexUuid,
      follower.name,
      follower.uuid,
      parameters,
      follower.shards.map((shard) => shard.maxSeqNo),
    ),
  );
}

/** CcrLicenseChecker.checkRemoteClusterLicenseAndFetchLeaderIndexMetadataAndHistoryUUIDs, as seen from REST. */
function fetchLeader(
  cluster: EmulatedCluster,
  remoteCluster: string,
  leaderIndex: string,
): { leader: EmulatedIndex; leaderCluster: EmulatedCluster } {
  const connection = cluster.connectToRemote(remoteCluster);
  if (!connection.ok) {
    throw statusException(
      400,
      `can not fetch remote index [${remoteCluster}:${leaderIndex}] metadata as the license state of the remote cluster ` +
        `[${remoteCluster}] could not be determined`,
      connection.error,
    );
  }
  const leader = connection.cluster.indices.get(leaderIndex);
  if (!leader) throw indexNotFound(leaderIndex);
  return { leader, leaderCluster: connection.cluster };
}

function followerSettings(
  leader: EmulatedIndex,
  followerIndex: string,
  requested: unknown,
): Record<string, string> {
  const settings: Record<string, string> = { ...leader.settings };
  delete settings['index.uuid'];
  settings['index.provided_name'] = followerIndex;
  settings[FOLLOWING_INDEX_SETTING] = 'true';
  if (requested !== null && typeof requested === 'object') {
    for (const [key, value] of flatEntries(requested as Record<string, unknown>)) {
      settings[key.startsWith('index.') ? key : `index.${key}`] = value;
    }
  }
  return settings;
}

function flatEntries(object: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.entries(object).flatMap(([key, value]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return flatEntries(value as Record<string, unknown>, path);
    }
    return [[path, String(value)] as [string, string]];
  });
}

function retentionLeaseRemovalFailure(
  cluster: EmulatedCluster,
  remoteCluster: string,
  leaderIndex: string,
  leaderIndexUuid: string,
): EsError | undefined {
  try {
    const connection = cluster.connectToRemote(remoteCluster);
    if (!connection.ok) return connection.error;
    const leader = connection.cluster.indices.get(leaderIndex);
    if (!leader || leader.uuid !== leaderIndexUuid) return indexNotFound(leaderIndex);
    return undefined;
  } catch (error) {
    if (error instanceof EsError) return error;
    throw error;
  }
}

function notAFollower(index: string): EsError {
  return illegalArgument(`index [${index}] is not a follower index`);
}
