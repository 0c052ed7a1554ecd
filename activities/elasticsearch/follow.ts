import { heartbeat, log } from '@temporalio/activity';
import type { ApplicationFailure } from '@temporalio/common';
import type { EsClients, EsCluster, IndexState } from './clients';
import { durationMs } from '../../config/duration';
import { esDecision, esFailure, hasEsType } from './errors';
import { runBatch } from './control';

export interface EsFollowInput {
  pair: string;
  /** The cluster that becomes the follower (for failback: the old primary). */
  site: string;
  /** Follower indices, each following the leader index of the same name; default the runbook's `followerIndices`. */
  indices?: string[];
  /**
   * Existing regular indices (open or closed) that may be replaced by followers: `true` for all, or their names.
   * Their documents (e.g. writes the old primary received after the failover) are LOST. Without it such an index
   * is refused with `FollowerIndexExists`.
   */
  replaceExisting?: boolean | string[];
  /** How long to wait for each follower's restore from the leader, e.g. "2h"; default the runbook's `followRestoreTimeout`. */
  restoreTimeout?: string;
}

export type FollowOutcome =
  | 'created'
  | 'already-following'
  | 'resumed'
  /** A closed follower of the same leader re-followed by the "recreate a follower" procedure. */
  | 'recreated-from-closed'
  /** A regular index (open or closed) or a follower of another leader, replaced because the caller named it. */
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

/** What following needs to know about the cluster and the wait, for every index of the batch. */
interface FollowContext {
  cluster: EsCluster;
  remoteCluster: string;
  restoreTimeoutMs: number;
}

function leaderMissing(c: FollowContext, index: string): ApplicationFailure {
  return esDecision(
    'LeaderIndexMissing',
    `${c.cluster.site}: follow ${index}: leader index ${c.remoteCluster}:${index} does not exist`,
  );
}

/**
 * Put-follow without waiting for the restore (wait_for_active_shards 0: a large index takes longer to copy than
 * any request timeout), then waits for the follower to be active.
 */
async function putFollowAndWait(c: FollowContext, index: string): Promise<boolean> {
  try {
    await c.cluster.putFollow({
      index,
      remoteCluster: c.remoteCluster,
      leaderIndex: index,
      waitForActiveShards: 0,
    });
  } catch (err) {
    // put-follow creates the follower, so a missing index here is the leader.
    if (hasEsType(err, 'index_not_found_exception')) throw leaderMissing(c, index);
    throw esFailure(c.cluster.site, `follow ${index}`, err, c.cluster.secrets);
  }
  return waitUntilFollowing(c, index);
}

/** One server-side health wait: short enough to heartbeat often. */
const HEALTH_WAIT_MS = 5_000;

/**
 * Waits, heartbeating, until the follower's primary shard is restored (its health is no longer red) and its
 * shard follow task runs. ES starts the task itself after the restore; when it has not (a put-follow answered
 * before the restore logs that failure only), the follower is resumed. Bounded by `restoreTimeoutMs`.
 */
async function waitUntilFollowing(c: FollowContext, index: string): Promise<boolean> {
  const { cluster } = c;
  const started = Date.now();
  const deadline = started + c.restoreTimeoutMs;
  for (;;) {
    const waitMs = Math.max(1, Math.min(HEALTH_WAIT_MS, deadline - Date.now()));
    heartbeat({ index, waiting: 'restore', elapsedMs: Date.now() - started });
    const health = await cluster.call(`follow ${index}: wait for the restore`, () =>
      cluster.health(
        { index, waitForStatus: 'yellow', timeout: `${waitMs}ms` },
        waitMs + cluster.requestTimeoutMs,
      ),
    );
    const restored = health.status !== 'red';
    if (restored) {
      const state = await cluster.call(`follow ${index}: read state`, () => cluster.indexState(index));
      if (state.follower?.status === 'active') return true;
      if (state.follower) {
        await resumeFollowing(c, index);
        return true;
      }
    }
    if (Date.now() >= deadline) {
      throw esDecision(
        'FollowerNotReady',
        `${cluster.site}: follow ${index}: ${index} is still ${restored ? 'not following' : 'restoring from'} ` +
          `${c.remoteCluster}:${index} after ${Math.round((Date.now() - started) / 100) / 10} s (restoreTimeout); ` +
          'a retry waits for it again',
        { index, health: health.status },
      );
    }
  }
}

/** Resumes a paused follower of the right leader; already following is success. */
async function resumeFollowing(c: FollowContext, index: string): Promise<void> {
  try {
    await c.cluster.resumeFollow(index);
  } catch (err) {
    if (hasEsType(err, 'resource_already_exists_exception')) return;
    if (hasEsType(err, 'index_not_found_exception')) throw leaderMissing(c, index);
    throw esFailure(c.cluster.site, `follow ${index}: resume`, err, c.cluster.secrets);
  }
}

/**
 * Clears what a restore over the closed index would trip on: a shard follow task still running (a follower
 * closed without pausing keeps its task; it survives the restore, which keeps the index UUID, and following
 * then fails after the data was replaced), and the CCR metadata of another leader (unfollow also releases that
 * leader's retention lease; when the lease cannot be removed the index is unfollowed all the same).
 */
async function prepareClosedIndex(c: FollowContext, state: IndexState, sameLeader: boolean): Promise<void> {
  const { cluster } = c;
  const index = state.index;
  if (state.follower?.status === 'active') {
    await cluster.call(`follow ${index}: pause the closed follower`, () => cluster.pauseFollow(index));
  }
  if (state.follower && !sameLeader) {
    try {
      await cluster.unfollow(index);
    } catch (err) {
      const after = await cluster.call(`follow ${index}: read state`, () => cluster.indexState(index));
      if (after.follower) throw esFailure(cluster.site, `follow ${index}: unfollow`, err, cluster.secrets);
    }
  }
}

/**
 * Makes each index of `site` a follower of the same-named index on the other site (failback rebuilds
 * replication in reverse). Safe for an index that already exists:
 * - already a follower of that leader: nothing (or resume when paused and open; wait when still restoring);
 * - a closed follower of that leader: re-followed by the documented "recreate a follower" procedure (paused
 *   first when its follow task still runs), with a warning;
 * - any regular index, open or closed, or a follower of another leader: refused (`FollowerIndexExists` /
 *   `IndexFollowsOtherLeader`, non-retryable) unless `replaceExisting` names it; then it is closed and
 *   re-followed, with a warning that its writes since the failover are lost.
 * Closing rather than deleting never leaves a moment without the index, in which a client write would
 * auto-create it with the wrong mappings. Each put-follow answers at once; the activity then waits for the
 * restore, heartbeating.
 */
export async function followIndices(es: EsClients, input: EsFollowInput): Promise<EsFollowResult> {
  const cluster = es.cluster(input.pair, input.site);
  const settings = es.settings(input.pair);
  const leaderSite = es.otherSite(input.pair, cluster.site);
  const remoteCluster = es.clusterConfig(input.pair, cluster.site).remoteAlias;
  const c: FollowContext = {
    cluster,
    remoteCluster,
    restoreTimeoutMs: durationMs(input.restoreTimeout ?? settings.followRestoreTimeout),
  };
  const indices = [...new Set(input.indices ?? settings.followerIndices)];
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
        const started = await putFollowAndWait(c, index);
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
        // Paused and open: restored by an earlier put-follow (waited for here) or paused by someone (resumed).
        const started = await waitUntilFollowing(c, index);
        log.info(`${cluster.site}: ${index} follows ${remoteCluster}:${index} again`, {
          site: cluster.site,
          index,
        });
        return { ...base, outcome: 'resumed', followingStarted: started };
      }
      if (!state.open && sameLeader) {
        const warning =
          `${cluster.site}: ${index} was a closed follower; it is re-followed from ${remoteCluster}:${index} ` +
          `(recreate-a-follower procedure): its previous contents are replaced by the leader's`;
        await prepareClosedIndex(c, state, true);
        const started = await putFollowAndWait(c, index);
        warn(warning, index);
        return { ...base, outcome: 'recreated-from-closed', followingStarted: started, warning };
      }
      // A regular index (open or closed), or a follower of another leader: replaced only when named.
      let discardedDocs: number | undefined;
      if (state.open) {
        try {
          discardedDocs = await cluster.countDocs(index);
        } catch {
          discardedDocs = undefined;
        }
      }
      const docs = discardedDocs === undefined ? '' : ` with ${discardedDocs} documents`;
      if (!mayReplace(input, index)) {
        throw esDecision(
          'FollowerIndexExists',
          `${cluster.site}: follow ${index}: ${state.open ? 'an open' : 'a closed'} index ${index} already exists${docs}; ` +
            `following would discard it (writes it received since the failover are lost). Name it in ` +
            `replaceExisting to replace it, after copying aside what must be kept`,
          { index, open: state.open, documents: discardedDocs },
        );
      }
      const warning =
        `${cluster.site}: replacing ${state.open ? 'open' : 'closed'} index ${index}` +
        `${discardedDocs === undefined ? '' : ` (${discardedDocs} documents)`} by a follower of ` +
        `${remoteCluster}:${index}: the writes it received since the failover are LOST`;
      warn(warning, index);
      let closed = state;
      if (state.open) {
        if (f?.status === 'active') {
          await cluster.call(`replace ${index}: pause follow`, () => cluster.pauseFollow(index));
        }
        await cluster.call(`replace ${index}: close`, () => cluster.closeIndex(index));
        closed = { ...state, open: false, follower: f && { ...f, status: 'paused' } };
      }
      await prepareClosedIndex(c, closed, false);
      const started = await putFollowAndWait(c, index);
      return { ...base, outcome: 'replaced', discardedDocs, followingStarted: started, warning };
    },
    () => heartbeat({ done: ++done, total: indices.length }),
  );
  return { site: cluster.site, leaderSite, remoteCluster, indices: followed, warnings };
}
