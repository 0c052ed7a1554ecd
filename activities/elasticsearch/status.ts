import type { estypes } from '@elastic/elasticsearch';
import { durationMs } from '../../config/duration';
import type { EsClients } from './clients';
import { redact } from '../../common/redact';
import { classifyEsError, describeEsError, esDecision, esFailure } from './errors';

export type HealthStatus = 'green' | 'yellow' | 'red';

export interface EsHealthInput {
  pair: string;
  site: string;
  /** Wait (server side) until the status is this colour or better. */
  waitForStatus?: HealthStatus;
  /** How long Elasticsearch waits for `waitForStatus`, e.g. "5s" (ES default 30s). */
  timeout?: string;
  /** Client-side limit of the call, e.g. "10s"; default: `timeout` plus the runbook's `requestTimeout`. */
  requestTimeout?: string;
  /** Health of these indices only (comma-separated names or patterns). */
  index?: string;
}

/** One observation of a cluster's health; a workflow applies fall/rise hysteresis over several. */
export interface EsHealthObservation {
  site: string;
  /** False when the cluster did not answer in time (connection refused, timeout, 5xx). */
  reachable: boolean;
  status: HealthStatus | 'unreachable';
  /** Elasticsearch gave up waiting for `waitForStatus` (it answered 408 with the current status). */
  timedOut: boolean;
  /** The status is `waitForStatus` or better (without `waitForStatus`: reachable and not red). */
  satisfied: boolean;
  numberOfNodes?: number;
  activePrimaryShards?: number;
  unassignedShards?: number;
  activeShardsPercent?: number;
  /** Why the cluster counts as unreachable: its failure type (`EsUnreachable`, `EsTimeout`, `EsUnavailable`) and message. */
  failure?: { type: string; message: string };
  tookMs: number;
  observedAt: string;
}

const RANK: Record<HealthStatus, number> = { green: 0, yellow: 1, red: 2 };
/** Failure types that are an observation ("the cluster is not answering"), not an error of the caller. */
const UNREACHABLE_TYPES = new Set(['EsUnreachable', 'EsTimeout', 'EsUnavailable']);

function parseDuration(value: string, field: string): number {
  try {
    return durationMs(value);
  } catch {
    throw esDecision(
      'EsRequestRejected',
      `${field} "${value}" is not a duration such as "500ms", "5s" or "1m"`,
    );
  }
}

export async function observeHealth(es: EsClients, input: EsHealthInput): Promise<EsHealthObservation> {
  const cluster = es.cluster(input.pair, input.site);
  const settings = es.settings(input.pair);
  const waitMs = input.timeout ? parseDuration(input.timeout, 'timeout') : 0;
  const requestTimeoutMs = input.requestTimeout
    ? parseDuration(input.requestTimeout, 'requestTimeout')
    : waitMs + durationMs(settings.requestTimeout);
  const started = Date.now();
  const observedAt = new Date(started).toISOString();
  try {
    const health = await cluster.health(
      { waitForStatus: input.waitForStatus, timeout: input.timeout, index: input.index },
      requestTimeoutMs,
    );
    const status = health.status.toLowerCase() as HealthStatus;
    return {
      site: cluster.site,
      reachable: true,
      status,
      timedOut: health.timed_out,
      satisfied: input.waitForStatus ? RANK[status] <= RANK[input.waitForStatus] : status !== 'red',
      numberOfNodes: health.number_of_nodes,
      activePrimaryShards: health.active_primary_shards,
      unassignedShards: health.unassigned_shards,
      activeShardsPercent: Number(health.active_shards_percent_as_number),
      tookMs: Date.now() - started,
      observedAt,
    };
  } catch (err) {
    const type = classifyEsError(err);
    if (!UNREACHABLE_TYPES.has(type)) throw esFailure(cluster.site, 'cluster health', err, cluster.secrets);
    return {
      site: cluster.site,
      reachable: false,
      status: 'unreachable',
      timedOut: false,
      satisfied: false,
      failure: { type, message: redact(`${cluster.site}: ${describeEsError(err)}`, cluster.secrets) },
      tookMs: Date.now() - started,
      observedAt,
    };
  }
}

export interface EsFollowerStatusInput {
  pair: string;
  /** The cluster holding the followers; default the standby site. */
  site?: string;
  /** Follower indices to report; default the runbook's `followerIndices`; "all": every follower of the cluster. */
  indices?: string[] | 'all';
}

export interface EsReadException {
  fromSeqNo: number;
  retries: number;
  type: string;
  reason: string;
}

export interface FollowerIndexStatus {
  index: string;
  /** `missing`: no such index; `not-follower`: a regular index (e.g. already promoted). */
  state: 'active' | 'paused' | 'not-follower' | 'missing';
  open?: boolean;
  remoteCluster?: string;
  leaderIndex?: string;
  leaderGlobalCheckpoint?: number;
  followerGlobalCheckpoint?: number;
  /** leader_global_checkpoint − follower_global_checkpoint, summed over shards; unknown while paused. */
  lagOperations?: number;
  /** Longest time since a shard last read from the leader. */
  timeSinceLastReadMs?: number;
  readExceptions: EsReadException[];
  fatalException?: { type: string; reason: string };
  /** The follow task reports that its leader index no longer exists. */
  leaderIndexMissing: boolean;
  /**
   * Active and reading: no fatal exception, no read exception, a read sent within the runbook's
   * `maxTimeSinceLastRead`, and lag within `maxLagOperations`. The lag alone cannot tell: the leader checkpoint
   * in the stats only moves on a successful read, so a follower cut from its leader reports its old lag.
   */
  healthy: boolean;
  /** One sentence: the verdict and why, with the limits it was judged against. */
  description: string;
}

export interface EsFollowerStatusReport {
  site: string;
  maxLagOperations: number;
  maxTimeSinceLastReadMs: number;
  indices: FollowerIndexStatus[];
  summary: {
    total: number;
    active: number;
    paused: number;
    notFollower: number;
    missing: number;
    /** Largest known lag among active followers. */
    maxLagOperations: number;
    /** Indices that are not healthy (see FollowerIndexStatus.healthy). */
    unhealthy: string[];
    healthy: boolean;
  };
}

function cause(e: estypes.ErrorCause | undefined): { type: string; reason: string } {
  return { type: e?.type ?? 'unknown', reason: e?.reason ?? '' };
}

/** Follower status and lag, from three calls whatever the number of indices: follow info, CCR stats, `_cat/indices`. */
export async function followerStatus(
  es: EsClients,
  input: EsFollowerStatusInput,
): Promise<EsFollowerStatusReport> {
  const cluster = es.cluster(input.pair, input.site);
  const settings = es.settings(input.pair);
  const [infos, stats, statuses] = await cluster.call('follower status', () =>
    Promise.all([cluster.followInfoAll(), cluster.followStats(), cluster.indexStatuses()]),
  );
  const limits: FollowerLimits = {
    site: cluster.site,
    maxLagOperations: settings.maxLagOperations,
    maxTimeSinceLastReadMs: durationMs(settings.maxTimeSinceLastRead),
  };
  const infoByIndex = new Map(infos.map((i) => [i.follower_index, i]));
  const statsByIndex = new Map(stats.map((s) => [s.index, s]));
  const names =
    input.indices === 'all'
      ? infos.map((i) => i.follower_index).sort()
      : (input.indices ?? settings.followerIndices);

  const indices = names.map((index): FollowerIndexStatus => {
    const info = infoByIndex.get(index);
    const status = statuses.get(index);
    const base = { index, readExceptions: [], leaderIndexMissing: false, healthy: false, description: '' };
    if (status === undefined) return judge({ ...base, state: 'missing' }, limits);
    if (!info) return judge({ ...base, state: 'not-follower', open: status === 'open' }, limits);
    const shards = statsByIndex.get(index)?.shards ?? [];
    const result: FollowerIndexStatus = {
      ...base,
      state: info.status === 'active' ? 'active' : 'paused',
      open: status === 'open',
      remoteCluster: info.remote_cluster,
      leaderIndex: info.leader_index,
    };
    if (shards.length > 0) {
      result.leaderGlobalCheckpoint = shards.reduce((sum, s) => sum + s.leader_global_checkpoint, 0);
      result.followerGlobalCheckpoint = shards.reduce((sum, s) => sum + s.follower_global_checkpoint, 0);
      result.lagOperations = shards.reduce(
        (sum, s) => sum + Math.max(0, s.leader_global_checkpoint - s.follower_global_checkpoint),
        0,
      );
      result.timeSinceLastReadMs = Math.max(...shards.map((s) => Number(s.time_since_last_read_millis)));
      result.readExceptions = shards.flatMap((s) =>
        (s.read_exceptions ?? []).map((r) => ({
          fromSeqNo: r.from_seq_no,
          retries: r.retries,
          ...cause(r.exception),
        })),
      );
      const fatal = shards.find((s) => s.fatal_exception)?.fatal_exception;
      if (fatal) {
        result.fatalException = cause(fatal);
        result.leaderIndexMissing = fatal.type === 'index_not_found_exception';
      }
    }
    return judge(result, limits);
  });

  const unhealthy = indices.filter((i) => !i.healthy).map((i) => i.index);
  return {
    site: cluster.site,
    maxLagOperations: settings.maxLagOperations,
    maxTimeSinceLastReadMs: limits.maxTimeSinceLastReadMs,
    indices,
    summary: {
      total: indices.length,
      active: indices.filter((i) => i.state === 'active').length,
      paused: indices.filter((i) => i.state === 'paused').length,
      notFollower: indices.filter((i) => i.state === 'not-follower').length,
      missing: indices.filter((i) => i.state === 'missing').length,
      maxLagOperations: Math.max(0, ...indices.map((i) => i.lagOperations ?? 0)),
      unhealthy,
      healthy: unhealthy.length === 0,
    },
  };
}

interface FollowerLimits {
  site: string;
  maxLagOperations: number;
  maxTimeSinceLastReadMs: number;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** Sets `healthy` and the sentence saying why, checking the signals a frozen lag would hide first. */
function judge(status: FollowerIndexStatus, limits: FollowerLimits): FollowerIndexStatus {
  const name = `follower index ${status.index} on ${limits.site}`;
  const leader = `${status.remoteCluster}:${status.leaderIndex}`;
  const lag = status.lagOperations ?? 0;
  const frozen = `its lag of ${lag} operation(s) counts only what it read before`;
  const verdict = (healthy: boolean, description: string): FollowerIndexStatus => ({
    ...status,
    healthy,
    description,
  });
  if (status.state === 'missing') return verdict(false, `${name} does not exist.`);
  if (status.state === 'not-follower')
    return verdict(false, `${name} is a regular index, not a follower (already promoted?).`);
  if (status.state === 'paused')
    return verdict(false, `${name} is paused: it does not receive the leader's writes.`);
  if (status.leaderIndexMissing) return verdict(false, `${name} has lost its leader index ${leader}.`);
  if (status.fatalException) {
    const { type, reason } = status.fatalException;
    return verdict(false, `${name} has stopped following ${leader} on ${type}: ${reason}.`);
  }
  if (status.lagOperations === undefined || status.timeSinceLastReadMs === undefined)
    return verdict(false, `${name} is active but reports no shard follow stats yet.`);
  const last = status.readExceptions[status.readExceptions.length - 1];
  if (last) {
    return verdict(
      false,
      `${name} cannot read from ${leader}: ${status.readExceptions.length} read exception(s), the last ` +
        `${last.type}: ${last.reason} (${last.retries} retries); ${frozen}.`,
    );
  }
  if (status.timeSinceLastReadMs > limits.maxTimeSinceLastReadMs) {
    return verdict(
      false,
      `${name} has not read from ${leader} for ${seconds(status.timeSinceLastReadMs)} ` +
        `(limit ${seconds(limits.maxTimeSinceLastReadMs)}); ${frozen}.`,
    );
  }
  if (lag > limits.maxLagOperations)
    return verdict(
      false,
      `${name} is ${lag} operations behind ${leader} (limit ${limits.maxLagOperations}).`,
    );
  return verdict(
    true,
    `${name} follows ${leader}, ${lag} operation(s) behind (limit ${limits.maxLagOperations}), ` +
      `last read ${seconds(Math.max(0, status.timeSinceLastReadMs))} ago (limit ${seconds(limits.maxTimeSinceLastReadMs)}).`,
  );
}
