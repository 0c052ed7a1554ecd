import { startPutFollow } from './ccr';
import type { EmulatedCluster } from './cluster';
import { EsError, resourceNotFound, statusException, validationFailed, wrappedException } from './errors';
import { explicitFollowParameters, type FollowParameters } from './follow-parameters';
import { simpleMatch } from './params';

export interface AutoFollowPattern {
  remoteCluster: string;
  leaderIndexPatterns: string[];
  leaderIndexExclusionPatterns: string[];
  followIndexPattern: string | undefined;
  settings: Record<string, unknown>;
  parameters: Partial<FollowParameters>;
  active: boolean;
}

interface RemoteTracking {
  /** Start of the last round (AutoFollower.lastAutoFollowTimeInMillis). */
  lastCheckAt: number;
  lastSeenMetadataVersion: number;
  lastActivePatterns: string;
  lastFailureAt: number;
}

/** A round whose remote cluster state request failed is retried after this delay. */
const FAILED_ROUND_RETRY_MS = 1000;
/** `ccr.auto_follow.wait_for_metadata_timeout`: how long one long-polling cluster state request waits. */
const WAIT_FOR_METADATA_TIMEOUT_MS = 60_000;
const MAX_RECENT_ERRORS = 256;

/**
 * Auto-follow patterns and the AutoFollowCoordinator: one auto-follower per remote cluster, which runs a round
 * whenever the remote metadata version moves (or its active patterns change) and follows new matching open
 * leader indices. Indices that already existed when a pattern was created are recorded as followed, so only
 * indices created afterwards get followers.
 */
export class AutoFollowCoordinator {
  readonly patterns = new Map<string, AutoFollowPattern>();
  private readonly followedLeaderUuids = new Map<string, Set<string>>();
  private readonly tracking = new Map<string, RemoteTracking>();
  private readonly recentErrors = new Map<string, { timestamp: number; error: EsError }>();
  private failedFollowIndices = 0;
  private failedRemoteClusterStateRequests = 0;
  private successfulFollowIndices = 0;

  put(cluster: EmulatedCluster, name: string, body: Record<string, unknown>): void {
    const problems: string[] = [];
    if (name.includes(',')) problems.push("[name] name must not contain a ','");
    if (name.startsWith('_')) problems.push("[name] name must not start with '_'");
    if (typeof body.remote_cluster !== 'string') problems.push('[remote_cluster] is missing');
    const leaderPatterns = stringList(body.leader_index_patterns);
    if (leaderPatterns.length === 0) problems.push('[leader_index_patterns] is missing');
    if (problems.length > 0) throw validationFailed(problems);
    const remoteCluster = body.remote_cluster as string;
    const followIndexPattern =
      typeof body.follow_index_pattern === 'string' ? body.follow_index_pattern : undefined;
    const parameters = explicitFollowParameters(body);

    const connection = cluster.connectToRemote(remoteCluster);
    if (!connection.ok) {
      throw statusException(
        400,
        `can not fetch remote cluster state as the license state of the remote cluster [${remoteCluster}] could not be determined`,
        connection.error,
      );
    }
    const previous = this.patterns.get(name);
    const followed = this.followedLeaderUuids.get(name) ?? new Set<string>();
    const newPatterns = previous
      ? leaderPatterns.filter((p) => !previous.leaderIndexPatterns.includes(p))
      : leaderPatterns;
    for (const index of connection.cluster.indices.values()) {
      if (newPatterns.some((pattern) => simpleMatch(pattern, index.name))) followed.add(index.uuid);
    }
    this.followedLeaderUuids.set(name, followed);
    this.patterns.set(name, {
      remoteCluster,
      leaderIndexPatterns: leaderPatterns,
      leaderIndexExclusionPatterns: stringList(body.leader_index_exclusion_patterns),
      followIndexPattern,
      settings: isObject(body.settings) ? body.settings : {},
      parameters,
      active: true,
    });
    cluster.metadataVersion++;
  }

  get(name: string | undefined): Record<string, unknown> {
    if (name !== undefined) this.require(name);
    const names = name === undefined ? [...this.patterns.keys()].sort() : [name];
    return {
      patterns: names.map((n) => ({ name: n, pattern: describe(this.patterns.get(n) as AutoFollowPattern) })),
    };
  }

  delete(name: string): void {
    this.require(name);
    this.patterns.delete(name);
    this.followedLeaderUuids.delete(name);
  }

  setActive(name: string, active: boolean): void {
    this.require(name).active = active;
  }

  stats(now: number): Record<string, unknown> {
    return {
      number_of_failed_follow_indices: this.failedFollowIndices,
      number_of_failed_remote_cluster_state_requests: this.failedRemoteClusterStateRequests,
      number_of_successful_follow_indices: this.successfulFollowIndices,
      recent_auto_follow_errors: [...this.recentErrors].map(([key, { timestamp, error }]) => ({
        leader_index: key,
        timestamp,
        auto_follow_exception: error.toCause(),
      })),
      auto_followed_clusters: [...this.tracking].map(([alias, tracking]) => ({
        cluster_name: alias,
        time_since_last_check_millis: now - tracking.lastCheckAt,
        last_seen_metadata_version: tracking.lastSeenMetadataVersion,
      })),
    };
  }

  clear(): void {
    this.patterns.clear();
    this.followedLeaderUuids.clear();
    this.tracking.clear();
    this.recentErrors.clear();
    this.failedFollowIndices = 0;
    this.failedRemoteClusterStateRequests = 0;
    this.successfulFollowIndices = 0;
  }

  tick(cluster: EmulatedCluster, now: number): void {
    const activeByRemote = new Map<string, string[]>();
    for (const [name, pattern] of [...this.patterns].sort(([a], [b]) => a.localeCompare(b))) {
      if (!pattern.active) continue;
      activeByRemote.set(pattern.remoteCluster, [...(activeByRemote.get(pattern.remoteCluster) ?? []), name]);
    }
    for (const alias of this.tracking.keys()) if (!activeByRemote.has(alias)) this.tracking.delete(alias);
    for (const [alias, patternNames] of activeByRemote) this.runRound(cluster, alias, patternNames, now);
  }

  private runRound(cluster: EmulatedCluster, alias: string, patternNames: string[], now: number): void {
    const tracking = this.tracking.get(alias) ?? {
      lastCheckAt: now,
      lastSeenMetadataVersion: 0,
      lastActivePatterns: '',
      lastFailureAt: 0,
    };
    this.tracking.set(alias, tracking);
    if (now - tracking.lastFailureAt < FAILED_ROUND_RETRY_MS) return;
    let connection;
    try {
      connection = cluster.connectToRemote(alias);
    } catch (error) {
      // NoSuchRemoteClusterException: the auto-follower stops until the remote is configured again.
      if (error instanceof EsError) return;
      throw error;
    }
    if (!connection.ok) {
      tracking.lastFailureAt = now;
      tracking.lastCheckAt = now;
      for (const name of patternNames) {
        this.failedRemoteClusterStateRequests++;
        this.recordError(name, wrappedException(connection.error), now);
      }
      return;
    }
    const remote = connection.cluster;
    const patternsKey = patternNames.join(',');
    const changed =
      remote.metadataVersion > tracking.lastSeenMetadataVersion ||
      patternsKey !== tracking.lastActivePatterns;
    if (!changed) {
      // The long-polling cluster state request timed out with no change: the next one starts.
      if (now - tracking.lastCheckAt >= WAIT_FOR_METADATA_TIMEOUT_MS) tracking.lastCheckAt = now;
      return;
    }
    tracking.lastCheckAt = now;
    tracking.lastSeenMetadataVersion = remote.metadataVersion;
    tracking.lastActivePatterns = patternsKey;
    for (const name of patternNames) {
      this.recentErrors.delete(name);
      this.followNewLeaderIndices(cluster, remote, name, now);
    }
  }

  private followNewLeaderIndices(
    cluster: EmulatedCluster,
    remote: EmulatedCluster,
    name: string,
    now: number,
  ): void {
    const pattern = this.patterns.get(name) as AutoFollowPattern;
    const followed = this.followedLeaderUuids.get(name) ?? new Set<string>();
    const remoteUuids = new Set([...remote.indices.values()].map((index) => index.uuid));
    for (const uuid of followed) if (!remoteUuids.has(uuid)) followed.delete(uuid);
    for (const leader of remote.indices.values()) {
      if (!leader.isOpen || followed.has(leader.uuid) || !matchesPattern(pattern, leader.name)) continue;
      const key = `${name}:${leader.name}`;
      const others = [...this.patterns]
        .filter(
          ([other, p]) =>
            other !== name && p.remoteCluster === pattern.remoteCluster && matchesPattern(p, leader.name),
        )
        .map(([other]) => other);
      if (others.length > 0) {
        this.failedFollowIndices++;
        const reason = `index to follow [${leader.name}] for pattern [${name}] matches with other patterns [${others.join(', ')}]`;
        this.recordError(key, new EsError(500, 'exception', reason), now);
        continue;
      }
      const followerName = (pattern.followIndexPattern ?? '{{leader_index}}').replace(
        '{{leader_index}}',
        leader.name,
      );
      const existing = cluster.indices.get(followerName);
      try {
        if (existing?.follower?.leaderIndexUuid !== leader.uuid) {
          // AutoFollower puts a follow request that waits for the primary shard (the restore) to be active.
          const { completion } = startPutFollow(cluster, followerName, {
            remote_cluster: pattern.remoteCluster,
            leader_index: leader.name,
            settings: pattern.settings,
            ...pattern.parameters,
          });
          completion.then(
            () => {
              this.successfulFollowIndices++;
              this.recentErrors.delete(key);
            },
            (error: unknown) => {
              this.failedFollowIndices++;
              if (error instanceof EsError) this.recordError(key, error, Date.now());
            },
          );
        } else {
          this.successfulFollowIndices++;
          this.recentErrors.delete(key);
        }
        followed.add(leader.uuid);
      } catch (error) {
        if (!(error instanceof EsError)) throw error;
        this.failedFollowIndices++;
        this.recordError(key, error, now);
      }
    }
    this.followedLeaderUuids.set(name, followed);
  }

  private recordError(key: string, error: EsError, now: number): void {
    this.recentErrors.delete(key);
    this.recentErrors.set(key, { timestamp: now, error });
    while (this.recentErrors.size > MAX_RECENT_ERRORS) {
      const oldest = this.recentErrors.keys().next().value as string;
      this.recentErrors.delete(oldest);
    }
  }

  private require(name: string): AutoFollowPattern {
    const pattern = this.patterns.get(name);
    if (!pattern) throw resourceNotFound(`auto-follow pattern [${name}] is missing`);
    return pattern;
  }
}

function matchesPattern(pattern: AutoFollowPattern, indexName: string): boolean {
  return (
    pattern.leaderIndexPatterns.some((p) => simpleMatch(p, indexName)) &&
    !pattern.leaderIndexExclusionPatterns.some((p) => simpleMatch(p, indexName))
  );
}

/** AutoFollowPattern.toXContent: optional parts only when set. */
function describe(pattern: AutoFollowPattern): Record<string, unknown> {
  const body: Record<string, unknown> = {
    active: pattern.active,
    remote_cluster: pattern.remoteCluster,
    leader_index_patterns: pattern.leaderIndexPatterns,
    leader_index_exclusion_patterns: pattern.leaderIndexExclusionPatterns,
  };
  if (pattern.followIndexPattern !== undefined) body.follow_index_pattern = pattern.followIndexPattern;
  if (Object.keys(pattern.settings).length > 0) body.settings = pattern.settings;
  return { ...body, ...pattern.parameters };
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.map(String) : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
