/** What a follower status read says of a cluster's followers as a whole. */
export interface FollowerSummary {
  total: number;
  active: number;
  healthy: boolean;
  maxLagOperations: number;
}

/**
 * Every follower is active, healthy (reading, no read errors) and within `maxLag` operations of its leader. A lag
 * of 0 alone does not say so: the leader checkpoint in the stats only moves on a successful read, so a follower cut
 * from its leader keeps its old lag.
 */
export const followersCaughtUp = (summary: FollowerSummary, maxLag = 0): boolean =>
  summary.active === summary.total && summary.healthy && summary.maxLagOperations <= maxLag;
