import type { EsClients } from './clients';
import {
  configureRemoteCluster,
  pauseFollowersIfCaughtUp,
  remoteClusterStatus,
  resumeFollowers,
  setAutoFollowActive,
  type EsAutoFollowInput,
  type EsIndicesInput,
  type EsPauseInput,
  type EsRemoteClusterInput,
} from './control';
import {
  deleteAutoFollowPatterns,
  divergence,
  mirrorAutoFollowPatterns,
  type EsDivergenceInput,
  type EsPatternsInput,
} from './failback';
import { fenceWrites, unfenceWrites, writeBlockStatus, type EsFenceInput } from './fence';
import { followIndices, type EsFollowInput } from './follow';
import {
  autoFollowInput,
  divergenceInput,
  fenceInput,
  followInput,
  indicesInput,
  patternsInput,
  pauseInput,
  promoteInput,
  remoteClusterInput,
  remoteClusterStatusInput,
  validated,
} from './inputs';
import { promoteFollowers, type EsPromoteInput } from './promote';
import { followerStatus, observeHealth, type EsFollowerStatusInput, type EsHealthInput } from './status';

export type {
  EsHealthInput,
  EsHealthObservation,
  EsFollowerStatusReport,
  FollowerIndexStatus,
} from './status';
export type { EsRemoteClusterResult } from './control';
export type { EsPromoteResult, PromotedIndex, PromoteProgress, PromoteStep } from './promote';
export type { EsFollowResult, FollowedIndex, FollowOutcome } from './follow';
export type { EsDivergenceReport, IndexDivergence } from './failback';
export type {
  EsFenceInput,
  EsWriteBlockStatus,
  EsWriteFenceResult,
  FenceOutcome,
  IndexWriteBlock,
  UnfenceOutcome,
} from './fence';
export type { EsFailureType } from '../../common/es-failures';
// Workflow code imports the values from common/es-failures itself: this module pulls in the ES client.
export { ES_FAILURE_TYPES, ES_NON_RETRYABLE_FAILURE_TYPES } from '../../common/es-failures';

export interface ElasticsearchActivityDeps {
  es: EsClients;
}

/**
 * Elasticsearch CCR activities (DESIGN §5). Each reads the current state first and succeeds when the goal
 * already holds, so any of them can be retried; failures are typed (see ./failure-types.ts). The ones that
 * change something check their input at run time first (./inputs.ts).
 */
export function createElasticsearchActivities({ es }: ElasticsearchActivityDeps) {
  return {
    /** One health observation of a site's cluster; an unreachable cluster is an observation, not an error. */
    esClusterHealth: (input: EsHealthInput) => observeHealth(es, input),
    /** Follower status and lag of the follower indices (default on the standby site). */
    esFollowerStatus: (input: EsFollowerStatusInput) => followerStatus(es, input),
    /** Pauses the followers; with `onlyIfCaughtUp`, only once every one has read all of its leader. */
    esPauseFollow: validated('esPauseFollow', pauseInput, (input: EsPauseInput) =>
      pauseFollowersIfCaughtUp(es, input),
    ),
    esResumeFollow: validated('esResumeFollow', indicesInput, (input: EsIndicesInput) =>
      resumeFollowers(es, input),
    ),
    esPauseAutoFollow: validated('esPauseAutoFollow', autoFollowInput, (input: EsAutoFollowInput) =>
      setAutoFollowActive(es, input, false),
    ),
    esResumeAutoFollow: validated('esResumeAutoFollow', autoFollowInput, (input: EsAutoFollowInput) =>
      setAutoFollowActive(es, input, true),
    ),
    /** Points `site`'s remote alias at the other site's cluster (the follower holds the connection). */
    esConfigureRemoteCluster: validated(
      'esConfigureRemoteCluster',
      remoteClusterInput,
      (input: EsRemoteClusterInput) => configureRemoteCluster(es, input),
    ),
    esRemoteClusterStatus: validated(
      'esRemoteClusterStatus',
      remoteClusterStatusInput,
      (input: { pair: string; site: string }) => remoteClusterStatus(es, input),
    ),
    /** Point of no return: pause → close → unfollow → open each follower index (heartbeats progress). */
    esPromoteFollowers: validated('esPromoteFollowers', promoteInput, (input: EsPromoteInput) =>
      promoteFollowers(es, input),
    ),
    /** Failback: make `site`'s indices followers of the other site's, refusing to destroy open indices unasked. */
    esFollowIndices: validated('esFollowIndices', followInput, (input: EsFollowInput) =>
      followIndices(es, input),
    ),
    /**
     * Failover fence: the site's leader indices refuse writes (`index.blocks.write`, added with the add index block
     * API so that no write is in flight afterwards). Idempotent.
     */
    esFenceWrites: validated('esFenceWrites', fenceInput, (input: EsFenceInput) => fenceWrites(es, input)),
    /** The fence's rollback: the write block is removed from the site's leader indices. Idempotent. */
    esUnfenceWrites: validated('esUnfenceWrites', fenceInput, (input: EsFenceInput) =>
      unfenceWrites(es, input),
    ),
    /** Read-only: which of the site's leader indices carry the write block (is the site still fenced?). */
    esWriteBlockStatus: validated('esWriteBlockStatus', fenceInput, (input: EsFenceInput) =>
      writeBlockStatus(es, input),
    ),
    /**
     * Failback, read-only: the documents each old leader index holds that the new leader lacks, paged in a point in
     * time; `underWriteBlock` makes it the recount of a fenced site, `previous` reports an earlier count beside it.
     */
    esDivergence: validated('esDivergence', divergenceInput, (input: EsDivergenceInput) =>
      divergence(es, input),
    ),
    /** Failback: `site` auto-follows the other site's new indices as the other site's patterns follow it. */
    esMirrorAutoFollowPatterns: validated(
      'esMirrorAutoFollowPatterns',
      patternsInput,
      (input: EsPatternsInput) => mirrorAutoFollowPatterns(es, input),
    ),
    esDeleteAutoFollowPatterns: validated(
      'esDeleteAutoFollowPatterns',
      patternsInput,
      (input: EsPatternsInput) => deleteAutoFollowPatterns(es, input),
    ),
  };
}
