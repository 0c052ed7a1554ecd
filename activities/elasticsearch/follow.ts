import { heartbeat, log } from '@temporalio/activity';
import type { EsClients, EsCluster } from './clients';
import { esDecision, esFailure, hasEsType } from './errors';
import { runBatch } from './control';

export interface EsFollowInput {
  pair: string;
  /** The cluster that becomes the follower (for failback: the old primary). */
  site: string;
  /** Follower indices, each following the leader index of the same name; default the runbook's `followerIndices`. */
  indices?: string[];
  /**
   * Existing open regular indices that may be replaced by followers: `true` for all, or their names. Their
   * documents (e.g. writes the old primary received after the failover) are LOST. Without it such an index is
   * refused with `FollowerIndexExists`.
   */
  replaceExisting?: boolean | string[];
  /** Passed to put-follow (default 1: answer once the primary shard is restored). */
  waitForActiveShards?: number | 'all';
}

export type FollowOutcome =
  | 'created'
  | 'already-following'
  | 'resumed'
  /** A closed index (or closed follower) re-followed by the "recreate a follower" procedure. */
  | 'recreated-from-closed'
  /** An open regular index closed and re-followed because the caller asked to replace it. */
  | 'replaced';

export interface FollowedIndex {
  index: string;
  leaderIndex: string;
  outcome: FollowOutcome;
  /** Documents the replaced index held when it was closed (when known): they are discarded. */
  discardedDocs?: number;
  /** put-follow's answer: the follower's shards are active and following started. */
  followingStarted?: boolean;
  warning?: string;
}

export interface EsFollowResult {
  site: string;
  leaderSite: string;
  remoteCluster: string;
  indices: FollowedIndex[];
  warnings: string[];
}

function mayReplace(input: EsFollowInput, index: string): boolean {
  return (
    input.replaceExisting === true ||
    (Array.isArray(input.replaceExisting) && input.replaceExisting.includes(index))
  );
}

async function putFollow(
  cluster: EsCluster,
  index: string,
  remoteCluster: string,
  waitForActiveShards: number | 'all',
): Promise<boolean> {
  try {
    const response = await cluster.putFollow({
      index,
      remoteCluster,
      leaderIndex: index,
      waitForActiveShards,
    });
    return response.index_following_started;
  } catch (err) {
    // put-follow creates the follower, so a missing index here is the leader.
    if (hasEsType(err, 'index_not_found_exception')) {
      throw esDecision(
        'LeaderIndexMissing',
        `${cluster.site}: follow ${index}: leader index ${remoteCluster}:${index} does not exist`,
      );
    }
    throw esFailure(cluster.site, `follow ${index}`, err, cluster.secrets);
  }
}

/**
 * Makes each index of `site` a follower of the same-named index on the other site (failback rebuilds
 * replication in reverse). Safe for an index that already exists:
 * - already a follower of that leader: nothing (or resume when paused and open);
 * - closed (a follower or not): re-followed by the documented "recreate a follower" procedure
 *   (put-follow over the closed index), with a warning;
 * - open regular index: refused (`FollowerIndexExists`, non-retryable) unless `replaceExisting` names it; then
 *   it is closed and re-followed, with a warning that its writes since the failover are lost.
 * Closing rather than deleting never leaves a moment without the index, in which a client write would
 * auto-create it with the wrong mappings.
 */
export async function followIndices(es: EsClients, input: EsFollowInput): Promise<EsFollowResult> {
  const cluster = es.cluster(input.pair, input.site);
  const settings = es.settings(input.pair);
  const leaderSite = es.otherSite(input.pair, cluster.site);
  const remoteCluster = es.clusterConfig(input.pair, cluster.site).remoteAlias;
  const indices = [...new Set(input.indices ?? settings.followerIndices)];
  const wait = input.waitForActiveShards ?? 1;
  const warnings: string[] = [];
  const warn = (message: string, index: string) => {
    warnings.push(message);
    log.warn(message, { site: cluster.site, index });
  };
  let done = 0;

  const followed = await runBatch(
    cluster.site,
    'follow',
    indices,
    settings.promoteConcurrency,
    async (index): Promise<FollowedIndex> => {
      const state = await cluster.call(`follow ${index}: read state`, () => cluster.indexState(index));
      const base = { index, leaderIndex: index };
      if (!state.exists) {
        const started = await putFollow(cluster, index, remoteCluster, wait);
        log.info(`${cluster.site}: ${index} now follows ${remoteCluster}:${index}`, {
          site: cluster.site,
          index,
        });
        return { ...base, outcome: 'created', followingStarted: started };
      }
      const f = state.follower;
      const sameLeader = f !== undefined && f.remoteCluster === remoteCluster && f.leaderIndex === index;
      if (f && !sameLeader && !mayReplace(input, index)) {
        throw esDecision(
          'IndexFollowsOtherLeader',
          `${cluster.site}: follow ${index}: the index already follows ${f.remoteCluster}:${f.leaderIndex}; ` +
            `name it in replaceExisting to re-follow ${remoteCluster}:${index}`,
          { index, remoteCluster: f.remoteCluster, leaderIndex: f.leaderIndex },
        );
      }
      if (sameLeader && state.open) {
        if (f.status === 'active') return { ...base, outcome: 'already-following' };
        try {
          await cluster.resumeFollow(index);
        } catch (err) {
          if (!hasEsType(err, 'resource_already_exists_exception')) {
            if (hasEsType(err, 'index_not_found_exception'))
              throw esDecision(
                'LeaderIndexMissing',
                `${cluster.site}: follow ${index}: leader index ${remoteCluster}:${index} does not exist`,
              );
            throw esFailure(cluster.site, `follow ${index}: resume`, err, cluster.secrets);
          }
        }
        log.info(`${cluster.site}: resumed following of ${index}`, { site: cluster.site, index });
        return { ...base, outcome: 'resumed' };
      }
      if (!state.open) {
        const warning =
          `${cluster.site}: ${index} was closed; it is re-followed from ${remoteCluster}:${index} ` +
          `(recreate-a-follower procedure): its previous contents are replaced by the leader's`;
        const started = await putFollow(cluster, index, remoteCluster, wait);
        warn(warning, index);
        return { ...base, outcome: 'recreated-from-closed', followingStarted: started, warning };
      }
      // An open index that is not (or not this leader's) follower.
      let discardedDocs: number | undefined;
      try {
        discardedDocs = await cluster.countDocs(index);
      } catch {
        discardedDocs = undefined;
      }
      if (!mayReplace(input, index)) {
        throw esDecision(
          'FollowerIndexExists',
          `${cluster.site}: follow ${index}: an open index ${index} already exists` +
            `${discardedDocs === undefined ? '' : ` with ${discardedDocs} documents`}; following would discard it ` +
            `(writes it received since the failover are lost). Name it in replaceExisting to replace it, ` +
            `after copying aside what must be kept`,
          { index, documents: discardedDocs },
        );
      }
      const warning =
        `${cluster.site}: replacing open index ${index}` +
        `${discardedDocs === undefined ? '' : ` (${discardedDocs} documents)`} by a follower of ` +
        `${remoteCluster}:${index}: the writes it received since the failover are LOST`;
      warn(warning, index);
      if (f?.status === 'active') {
        await cluster.call(`replace ${index}: pause follow`, () => cluster.pauseFollow(index));
      }
      await cluster.call(`replace ${index}: close`, () => cluster.closeIndex(index));
      const started = await putFollow(cluster, index, remoteCluster, wait);
      return { ...base, outcome: 'replaced', discardedDocs, followingStarted: started, warning };
    },
    () => heartbeat({ done: ++done, total: indices.length }),
  );
  return { site: cluster.site, leaderSite, remoteCluster, indices: followed, warnings };
}
