import { heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { EsClients, EsCluster, EsClusterConfig, IndexState } from './clients';
import { durationMs } from '../../config/duration';
import { CLUSTER_LEVEL_FAILURES, esDecision, esFailure, hasEsType } from './errors';
import { forEachBounded } from './pool';
import { followerStatus } from './status';
import { followersCaughtUp } from '../../common/es-followers';

export interface EsIndicesInput {
  pair: string;
  /** The cluster holding the followers; default the standby site. */
  site?: string;
  /** Default: the runbook's `followerIndices`. */
  indices?: string[];
}

export interface EsIndexOutcome<O extends string> {
  index: string;
  outcome: O;
}

/** Reads one index's state; a missing index is a typed non-retryable failure. */
export async function requireIndex(
  cluster: EsCluster,
  index: string,
  operation: string,
): Promise<IndexState> {
  const state = await cluster.call(`${operation} ${index}: read state`, () => cluster.indexState(index));
  if (!state.exists)
    throw esDecision('EsIndexNotFound', `${cluster.site}: ${operation} ${index}: no such index`);
  return state;
}

/**
 * Runs `fn` for each index with bounded concurrency, heartbeating progress; per-index failures are collected
 * and raised together once the batch ends (a cluster-level failure stops the batch early).
 */
export async function runBatch<R>(
  site: string,
  what: string,
  indices: readonly string[],
  concurrency: number,
  fn: (index: string) => Promise<R>,
  onDone?: (index: string, result: R) => void,
): Promise<R[]> {
  const results = new Map<string, R>();
  const failures: { index: string; failure: ApplicationFailure }[] = [];
  let stop = false;
  await forEachBounded(
    indices,
    concurrency,
    async (index) => {
      try {
        const result = await fn(index);
        results.set(index, result);
        onDone?.(index, result);
      } catch (err) {
        const failure = err instanceof ApplicationFailure ? err : esFailure(site, `${what} ${index}`, err);
        failures.push({ index, failure });
        if (CLUSTER_LEVEL_FAILURES.has(failure.type ?? '')) stop = true;
      }
    },
    () => stop,
  );
  if (failures.length > 0) throw batchFailure(site, what, indices.length, results.size, failures);
  return indices.map((i) => results.get(i) as R);
}

/**
 * One failure for a batch: retryable if any index failed for a retryable reason (the retry redoes only what
 * is left, each index's own state check skipping finished steps); its type is the common type of the failures,
 * or `PromotionIncomplete` when they differ. The details list every failed index.
 */
export function batchFailure(
  site: string,
  what: string,
  total: number,
  done: number,
  failures: { index: string; failure: ApplicationFailure }[],
): ApplicationFailure {
  const types = [...new Set(failures.map((f) => f.failure.type ?? 'Error'))];
  const retryable = failures.some((f) => !f.failure.nonRetryable);
  const first = failures[0] as { index: string; failure: ApplicationFailure };
  const message =
    failures.length === 1
      ? first.failure.message
      : `${site}: ${what}: ${failures.length} of ${total} indices failed (${done} done); first: ${first.failure.message}`;
  return ApplicationFailure.create({
    message,
    type: types.length === 1 ? types[0] : 'PromotionIncomplete',
    nonRetryable: !retryable,
    details: [
      {
        site,
        total,
        done,
        failed: failures.map((f) => ({ index: f.index, type: f.failure.type, message: f.failure.message })),
      },
    ],
  });
}

/** Runs one action on each follower index of the input (default: the runbook's), heartbeating progress. */
async function forEachFollower<O extends string>(
  es: EsClients,
  input: EsIndicesInput,
  action: string,
  act: (cluster: ReturnType<EsClients['cluster']>, index: string) => Promise<EsIndexOutcome<O>>,
): Promise<{ site: string; indices: EsIndexOutcome<O>[] }> {
  const cluster = es.cluster(input.pair, input.site);
  const settings = es.settings(input.pair);
  const indices = input.indices ?? settings.followerIndices;
  let done = 0;
  const outcomes = await runBatch(
    cluster.site,
    action,
    indices,
    settings.promoteConcurrency,
    (index) => act(cluster, index),
    () => heartbeat({ done: ++done, total: indices.length }),
  );
  return { site: cluster.site, indices: outcomes };
}

export function pauseFollowers(
  es: EsClients,
  input: EsIndicesInput,
): Promise<{ site: string; indices: EsIndexOutcome<'paused' | 'already-paused'>[] }> {
  return forEachFollower(es, input, 'pause follow', async (cluster, index) => {
    const state = await requireIndex(cluster, index, 'pause follow');
    if (!state.follower) throw notFollower(cluster.site, index, 'pause follow');
    if (state.follower.status === 'paused') return { index, outcome: 'already-paused' as const };
    try {
      await cluster.pauseFollow(index);
    } catch (err) {
      // Paused concurrently between the read and the call: the goal holds.
      if (!/no shard follow tasks/.test(String(errorReason(err))))
        throw esFailure(cluster.site, `pause follow ${index}`, err, cluster.secrets);
      return { index, outcome: 'already-paused' as const };
    }
    log.info(`${cluster.site}: paused following of ${index}`, { site: cluster.site, index });
    return { index, outcome: 'paused' as const };
  });
}

export interface EsPauseInput extends EsIndicesInput {
  /**
   * Pause only when every follower has read all of its leader (active, healthy, lag 0), read once; otherwise change
   * nothing and say why (`notCaughtUp`), for the caller to wait and try again.
   */
  onlyIfCaughtUp?: boolean;
}

/** Pauses the followers, or, asked `onlyIfCaughtUp` while they have not read everything yet, leaves them be. */
export async function pauseFollowersIfCaughtUp(
  es: EsClients,
  input: EsPauseInput,
): Promise<{
  site: string;
  indices: EsIndexOutcome<'paused' | 'already-paused'>[];
  notCaughtUp?: string;
}> {
  const { onlyIfCaughtUp, ...which } = input;
  if (onlyIfCaughtUp) {
    const status = await followerStatus(es, which);
    const { summary } = status;
    if (!followersCaughtUp(summary))
      return {
        site: status.site,
        indices: [],
        notCaughtUp: `not paused: the followers on ${status.site} have not read everything yet (lag ${summary.maxLagOperations} operations, ${summary.active} of ${summary.total} active${summary.healthy ? '' : ', not all healthy'})`,
      };
  }
  return pauseFollowers(es, which);
}

export function resumeFollowers(
  es: EsClients,
  input: EsIndicesInput,
): Promise<{ site: string; indices: EsIndexOutcome<'resumed' | 'already-active'>[] }> {
  return forEachFollower(es, input, 'resume follow', async (cluster, index) => {
    const state = await requireIndex(cluster, index, 'resume follow');
    if (!state.follower) throw notFollower(cluster.site, index, 'resume follow');
    if (state.follower.status === 'active') return { index, outcome: 'already-active' as const };
    if (!state.open)
      throw esDecision(
        'IndexClosed',
        `${cluster.site}: resume follow ${index}: the follower index is closed`,
      );
    try {
      await cluster.resumeFollow(index);
    } catch (err) {
      if (hasEsType(err, 'resource_already_exists_exception'))
        return { index, outcome: 'already-active' as const };
      // The follower exists (read above), so a missing index here is the leader.
      if (hasEsType(err, 'index_not_found_exception')) {
        throw esDecision(
          'LeaderIndexMissing',
          `${cluster.site}: resume follow ${index}: leader index ${state.follower.remoteCluster}:${state.follower.leaderIndex} does not exist`,
        );
      }
      throw esFailure(cluster.site, `resume follow ${index}`, err, cluster.secrets);
    }
    log.info(`${cluster.site}: resumed following of ${index}`, { site: cluster.site, index });
    return { index, outcome: 'resumed' as const };
  });
}

export interface EsAutoFollowInput {
  pair: string;
  /** The cluster holding the patterns; default the standby site. */
  site?: string;
  /** Default: the runbook's `autoFollowPatterns`. */
  patterns?: string[];
}

export async function setAutoFollowActive(
  es: EsClients,
  input: EsAutoFollowInput,
  active: boolean,
): Promise<{
  site: string;
  patterns: { name: string; outcome: 'paused' | 'already-paused' | 'resumed' | 'already-active' }[];
}> {
  const cluster = es.cluster(input.pair, input.site);
  const names = input.patterns ?? es.settings(input.pair).autoFollowPatterns;
  const verb = active ? 'resume auto-follow' : 'pause auto-follow';
  const patterns = [];
  for (const name of names) {
    const current = await cluster.call(`${verb} ${name}: read pattern`, () => cluster.autoFollowActive(name));
    if (current === undefined)
      throw esDecision(
        'AutoFollowPatternNotFound',
        `${cluster.site}: ${verb}: no auto-follow pattern "${name}"`,
      );
    if (current === active) {
      patterns.push({ name, outcome: active ? ('already-active' as const) : ('already-paused' as const) });
      continue;
    }
    await cluster.call(`${verb} ${name}`, () =>
      active ? cluster.resumeAutoFollow(name) : cluster.pauseAutoFollow(name),
    );
    log.info(`${cluster.site}: ${active ? 'resumed' : 'paused'} auto-follow pattern ${name}`, {
      site: cluster.site,
      pattern: name,
    });
    patterns.push({ name, outcome: active ? ('resumed' as const) : ('paused' as const) });
  }
  return { site: cluster.site, patterns };
}

export interface EsRemoteClusterInput {
  pair: string;
  /** The cluster that will follow (it holds the connection to the other site's cluster). */
  site: string;
  /** How long to wait for the connection to come up (default "10s"); "0s" does not wait. */
  connectTimeout?: string;
}

export interface EsRemoteClusterResult {
  site: string;
  /** The alias under which `site` knows the other cluster (its runbook `remoteAlias`). */
  alias: string;
  remoteSite: string;
  mode: 'sniff' | 'proxy';
  addresses: string[];
  /** False when the settings already held this configuration. */
  changed: boolean;
  connected: boolean;
}

/** The `cluster.remote.<alias>.*` settings that make `site` reach `remote` (flat form). */
export function desiredRemoteSettings(alias: string, remote: EsClusterConfig): Record<string, unknown> {
  const mode = remote.transport?.mode ?? 'sniff';
  const address = remote.transport?.address ?? `${new URL(remote.url).hostname}:9300`;
  const prefix = `cluster.remote.${alias}`;
  return mode === 'proxy'
    ? {
        [`${prefix}.mode`]: 'proxy',
        [`${prefix}.proxy_address`]: address,
        ...(remote.transport?.serverName ? { [`${prefix}.server_name`]: remote.transport.serverName } : {}),
      }
    : { [`${prefix}.mode`]: 'sniff', [`${prefix}.seeds`]: [address] };
}

/** The remote-cluster settings each connection mode owns (Elasticsearch refuses them under the other mode). */
const SNIFF_ONLY = ['seeds', 'node_connections'];
const PROXY_ONLY = ['proxy_address', 'proxy_socket_connections', 'server_name'];

function modeOf(settings: Record<string, unknown>, alias: string): 'sniff' | 'proxy' {
  return settings[`cluster.remote.${alias}.mode`] === 'proxy' ? 'proxy' : 'sniff';
}

function sameSetting(actual: unknown, wanted: unknown): boolean {
  const norm = (v: unknown) =>
    Array.isArray(v) ? v.map(String).join(',') : v === undefined ? undefined : String(v);
  return norm(actual) === norm(wanted);
}

async function isConnected(cluster: EsCluster, alias: string): Promise<boolean> {
  const info = await cluster.call('remote cluster info', () => cluster.remoteInfo());
  return info[alias]?.connected === true;
}

export async function configureRemoteCluster(
  es: EsClients,
  input: EsRemoteClusterInput,
): Promise<EsRemoteClusterResult> {
  const cluster = es.cluster(input.pair, input.site);
  const local = es.clusterConfig(input.pair, input.site);
  const remoteSite = es.otherSite(input.pair, cluster.site);
  const remote = es.clusterConfig(input.pair, remoteSite);
  const alias = local.remoteAlias;
  const wanted = desiredRemoteSettings(alias, remote);
  const { persistent } = await cluster.call('read cluster settings', () => cluster.clusterSettings());
  const prefix = `cluster.remote.${alias}.`;
  const update: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(wanted)) {
    const current = key.endsWith('.mode') ? (persistent[key] ?? 'sniff') : persistent[key];
    if (!sameSetting(current, value)) update[key] = value;
  }
  // Only the keys of the other mode go (Elasticsearch refuses them beside this mode's); whatever else someone set
  // (server_name, proxy_socket_connections, node_connections) and the runbook does not name stays.
  const otherMode = modeOf(wanted, alias) === 'proxy' ? SNIFF_ONLY : PROXY_ONLY;
  for (const key of Object.keys(persistent)) {
    if (key.startsWith(prefix) && otherMode.includes(key.slice(prefix.length))) update[key] = null;
  }
  const changed = Object.keys(update).length > 0;
  if (changed) {
    await cluster.call(`configure remote cluster ${alias}`, () => cluster.putPersistentSettings(update));
    log.info(
      `${cluster.site}: remote cluster ${alias} now points at ${remoteSite} (${Object.keys(update).join(', ')})`,
      {
        site: cluster.site,
        alias,
      },
    );
  }
  const waitMs = input.connectTimeout === undefined ? 10_000 : durationMs(input.connectTimeout);
  const deadline = Date.now() + waitMs;
  let connected = await isConnected(cluster, alias);
  while (!connected && Date.now() < deadline) {
    heartbeat({ alias, waiting: 'connected' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    connected = await isConnected(cluster, alias);
  }
  const mode = modeOf(wanted, alias);
  const addresses =
    mode === 'proxy' ? [String(wanted[`${prefix}proxy_address`])] : (wanted[`${prefix}seeds`] as string[]);
  return { site: cluster.site, alias, remoteSite, mode, addresses, changed, connected };
}

/** Read-only: is the remote cluster configured on `site` as the runbook says, and connected? */
export async function remoteClusterStatus(
  es: EsClients,
  input: { pair: string; site: string },
): Promise<Omit<EsRemoteClusterResult, 'changed'> & { configured: boolean }> {
  const cluster = es.cluster(input.pair, input.site);
  const local = es.clusterConfig(input.pair, input.site);
  const remoteSite = es.otherSite(input.pair, cluster.site);
  const alias = local.remoteAlias;
  const wanted = desiredRemoteSettings(alias, es.clusterConfig(input.pair, remoteSite));
  const { persistent, transient } = await cluster.call('read cluster settings', () =>
    cluster.clusterSettings(),
  );
  const effective = { ...persistent, ...transient };
  const configured = Object.entries(wanted).every(([key, value]) =>
    key.endsWith('.mode')
      ? sameSetting(effective[key] ?? 'sniff', value)
      : sameSetting(effective[key], value),
  );
  const prefix = `cluster.remote.${alias}.`;
  const mode = modeOf(wanted, alias);
  return {
    site: cluster.site,
    alias,
    remoteSite,
    mode,
    addresses:
      mode === 'proxy' ? [String(wanted[`${prefix}proxy_address`])] : (wanted[`${prefix}seeds`] as string[]),
    configured,
    connected: await isConnected(cluster, alias),
  };
}

function errorReason(err: unknown): string | undefined {
  const body = (err as { body?: { error?: { reason?: string } } }).body;
  return body?.error?.reason;
}

export function notFollower(site: string, index: string, operation: string): ApplicationFailure {
  return esDecision(
    'IndexNotFollower',
    `${site}: ${operation} ${index}: index [${index}] is not a follower index`,
  );
}
