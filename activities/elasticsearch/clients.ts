import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { Client, type estypes } from '@elastic/elasticsearch';
import { Context } from '@temporalio/activity';
import { durationMs } from '../../config/duration';
import { resolvePublicReference, resolveSecret } from '../../config/secrets';
import type { Runbook } from '../../config/schema';
import type { RunbookRegistry } from '../runbooks';
import { esDecision, esFailure, esStatus, hasEsType } from './errors';
import { versionedTransport } from './transport';

export type ElasticsearchConfig = NonNullable<Runbook['elasticsearch']>;
export type EsClusterConfig = ElasticsearchConfig['clusters'][number];

/** What an index looks like on one cluster, read before each step that changes it. */
export interface IndexState {
  index: string;
  exists: boolean;
  open: boolean;
  /** Present while the index is a CCR follower (paused or active). */
  follower?: { remoteCluster: string; leaderIndex: string; status: 'active' | 'paused' };
}

const widened = new WeakSet<AbortSignal>();
const CONNECTION_TIMEOUT_MS = 60 * 60_000;

/**
 * The cancellation signal of the running activity, when there is one (not in plain scripts). Every request
 * of a batch listens to it, so its listener limit is raised (Node warns above 10 by default).
 */
function activitySignal(): AbortSignal | undefined {
  let signal: AbortSignal;
  try {
    signal = Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
  if (!widened.has(signal)) {
    setMaxListeners(1000, signal);
    widened.add(signal);
  }
  return signal;
}

/**
 * The Elasticsearch operations the activities use on one cluster, over one `@elastic/elasticsearch` client.
 * Methods throw the client's own errors (the activities inspect them, then turn them into typed failures with
 * `call`). Tests subclass it to inject faults between a step taking effect and its answer.
 */
export class EsCluster {
  constructor(
    readonly pair: string,
    readonly site: string,
    readonly client: Client,
    /** Secret values to scrub from error messages (the API key). */
    readonly secrets: readonly string[],
    readonly requestTimeoutMs: number,
  ) {}

  /** Per-request options: no client-side retry (Temporal retries), the activity's cancellation signal. */
  protected options(requestTimeoutMs = this.requestTimeoutMs) {
    return { maxRetries: 0, requestTimeout: requestTimeoutMs, signal: activitySignal() };
  }

  /** Runs `fn` and turns any error into a typed Temporal failure naming the site and the operation. */
  async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw esFailure(this.site, operation, err, this.secrets);
    }
  }

  /** GET /_cluster/health; a wait that times out answers 408 with `timed_out: true`, returned as is. */
  async health(
    params: { waitForStatus?: 'green' | 'yellow' | 'red'; timeout?: string; index?: string },
    requestTimeoutMs?: number,
  ): Promise<estypes.ClusterHealthResponse> {
    return this.client.cluster.health(
      {
        index: params.index,
        wait_for_status: params.waitForStatus,
        timeout: params.timeout,
      },
      { ...this.options(requestTimeoutMs), ignore: [408] },
    );
  }

  /** Follow info of one index: 404 when it does not exist, no entry when it is not a follower. */
  async followInfo(index: string): Promise<estypes.CcrFollowInfoFollowerIndex | undefined> {
    const info = await this.client.ccr.followInfo({ index }, this.options());
    return info.follower_indices.find((f) => f.follower_index === index);
  }

  /** Follow info of every follower index of the cluster. */
  async followInfoAll(): Promise<estypes.CcrFollowInfoFollowerIndex[]> {
    const info = await this.client.ccr.followInfo({ index: '_all' }, this.options());
    return info.follower_indices;
  }

  /** Shard follow stats of every active follower (paused followers have no follow task, hence no stats). */
  async followStats(): Promise<estypes.CcrFollowIndexStats[]> {
    const stats = await this.client.ccr.stats({}, this.options());
    return stats.follow_stats.indices;
  }

  /** open/close status of indices (all of them when `indices` is omitted), from `_cat/indices`. */
  async indexStatuses(indices?: string[]): Promise<Map<string, 'open' | 'close'>> {
    const rows = (await this.client.cat.indices(
      { index: indices, h: 'index,status', format: 'json', expand_wildcards: 'all' },
      this.options(),
    )) as unknown as { index: string; status: string }[];
    return new Map(rows.map((r) => [r.index, r.status === 'close' ? 'close' : 'open']));
  }

  /** The state of one index: existence, open/closed, follower status. */
  async indexState(index: string): Promise<IndexState> {
    let follower: estypes.CcrFollowInfoFollowerIndex | undefined;
    try {
      follower = await this.followInfo(index);
    } catch (err) {
      if (esStatus(err) === 404 && hasEsType(err, 'index_not_found_exception'))
        return { index, exists: false, open: false };
      throw err;
    }
    const status = (await this.indexStatuses([index])).get(index);
    return {
      index,
      exists: true,
      open: status !== 'close',
      follower: follower && {
        remoteCluster: follower.remote_cluster,
        leaderIndex: follower.leader_index,
        status: follower.status === 'active' ? 'active' : 'paused',
      },
    };
  }

  async pauseFollow(index: string): Promise<void> {
    await this.client.ccr.pauseFollow({ index }, this.options());
  }

  async resumeFollow(index: string): Promise<void> {
    await this.client.ccr.resumeFollow({ index }, this.options());
  }

  async closeIndex(index: string): Promise<void> {
    await this.client.indices.close({ index }, this.options());
  }

  async unfollow(index: string): Promise<void> {
    await this.client.ccr.unfollow({ index }, this.options());
  }

  async openIndex(index: string): Promise<void> {
    await this.client.indices.open({ index }, this.options());
  }

  async putFollow(params: {
    index: string;
    remoteCluster: string;
    leaderIndex: string;
    waitForActiveShards: number | 'all';
  }): Promise<estypes.CcrFollowResponse> {
    return this.client.ccr.follow(
      {
        index: params.index,
        remote_cluster: params.remoteCluster,
        leader_index: params.leaderIndex,
        wait_for_active_shards: params.waitForActiveShards,
      },
      this.options(),
    );
  }

  /** Documents in an open index, after a refresh so that recent writes count. */
  async countDocs(index: string): Promise<number> {
    await this.client.indices.refresh({ index }, this.options());
    return (await this.client.count({ index }, this.options())).count;
  }

  /** The pattern's `active` flag, or undefined when no pattern has that name. */
  async autoFollowActive(name: string): Promise<boolean | undefined> {
    try {
      const found = await this.client.ccr.getAutoFollowPattern({ name }, this.options());
      return found.patterns.find((p) => p.name === name)?.pattern.active;
    } catch (err) {
      if (esStatus(err) === 404) return undefined;
      throw err;
    }
  }

  /** The pattern's definition, or undefined when no pattern has that name. */
  async autoFollowPattern(
    name: string,
  ): Promise<estypes.CcrGetAutoFollowPatternAutoFollowPatternSummary | undefined> {
    try {
      const found = await this.client.ccr.getAutoFollowPattern({ name }, this.options());
      return found.patterns.find((p) => p.name === name)?.pattern;
    } catch (err) {
      if (esStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async putAutoFollowPattern(
    name: string,
    pattern: {
      remoteCluster: string;
      leaderIndexPatterns: string[];
      exclusions: string[];
      followIndexPattern?: string;
    },
  ): Promise<void> {
    await this.client.ccr.putAutoFollowPattern(
      {
        name,
        remote_cluster: pattern.remoteCluster,
        leader_index_patterns: pattern.leaderIndexPatterns,
        ...(pattern.exclusions.length > 0 ? { leader_index_exclusion_patterns: pattern.exclusions } : {}),
        ...(pattern.followIndexPattern ? { follow_index_pattern: pattern.followIndexPattern } : {}),
      },
      this.options(),
    );
  }

  async deleteAutoFollowPattern(name: string): Promise<void> {
    await this.client.ccr.deleteAutoFollowPattern({ name }, this.options());
  }

  /** Opens a point in time on `index`: a reader per shard, as of its last refresh. Returns its id. */
  async openPointInTime(index: string, keepAlive: string): Promise<string> {
    return (await this.client.openPointInTime({ index, keep_alive: keepAlive }, this.options())).id;
  }

  /**
   * One page of a point in time in `_shard_doc` order (shard, then doc ID: unique and stable within the PIT), after
   * the sort values of the previous page's last hit. Answers the PIT id to use next (it may change).
   */
  async pointInTimePage(
    pitId: string,
    keepAlive: string,
    after: estypes.SortResults | undefined,
    size: number,
  ): Promise<{ pitId: string; docs: { id: string; source: unknown; sort: estypes.SortResults }[] }> {
    const found = await this.client.search(
      {
        pit: { id: pitId, keep_alive: keepAlive },
        size,
        sort: [{ _shard_doc: 'asc' }],
        track_total_hits: false,
        query: { match_all: {} },
        ...(after === undefined ? {} : { search_after: after }),
      },
      this.options(),
    );
    return {
      pitId: found.pit_id ?? pitId,
      docs: found.hits.hits.map((h) => ({ id: h._id!, source: h._source, sort: h.sort! })),
    };
  }

  /** Closes a point in time; false when it was gone already (expired or closed). */
  async closePointInTime(pitId: string): Promise<boolean> {
    const closed = await this.client.closePointInTime({ id: pitId }, { ...this.options(), ignore: [404] });
    return closed.num_freed > 0;
  }

  /** Whether `index.blocks.write` is true on the index (404 when it does not exist). */
  async writeBlocked(index: string): Promise<boolean> {
    const settings = await this.client.indices.getSettings({ index, flat_settings: true }, this.options());
    return (
      (settings[index]?.settings as Record<string, unknown> | undefined)?.['index.blocks.write'] === 'true'
    );
  }

  /**
   * PUT /<index>/_block/write: sets `index.blocks.write` and answers once every shard accounts for the block (no
   * write is in flight any more). `added` is false when the block was already there.
   */
  async addWriteBlock(index: string): Promise<{ added: boolean; confirmed: boolean }> {
    const answer = await this.client.indices.addBlock({ index, block: 'write' }, this.options());
    const entry = answer.indices.find((i) => i.name === index);
    if (!entry) return { added: false, confirmed: answer.acknowledged };
    return {
      added: true,
      confirmed: answer.acknowledged && answer.shards_acknowledged && entry.blocked === true,
    };
  }

  /** Resets `index.blocks.write` to its default (no block). */
  async removeWriteBlock(index: string): Promise<void> {
    await this.client.indices.putSettings(
      { index, settings: { 'index.blocks.write': null } },
      this.options(),
    );
  }

  /** The documents of `ids` that `index` holds, by id. */
  async documentsById(index: string, ids: string[]): Promise<Map<string, unknown>> {
    const found = await this.client.search(
      { index, size: ids.length, query: { ids: { values: ids } } },
      this.options(),
    );
    return new Map(found.hits.hits.map((h) => [h._id!, h._source]));
  }

  async pauseAutoFollow(name: string): Promise<void> {
    await this.client.ccr.pauseAutoFollowPattern({ name }, this.options());
  }

  async resumeAutoFollow(name: string): Promise<void> {
    await this.client.ccr.resumeAutoFollowPattern({ name }, this.options());
  }

  /** Persistent and transient cluster settings in flat form (`cluster.remote.<alias>.seeds`). */
  async clusterSettings(): Promise<{
    persistent: Record<string, unknown>;
    transient: Record<string, unknown>;
  }> {
    const settings = await this.client.cluster.getSettings({ flat_settings: true }, this.options());
    return {
      persistent: (settings.persistent ?? {}) as Record<string, unknown>,
      transient: (settings.transient ?? {}) as Record<string, unknown>,
    };
  }

  async putPersistentSettings(settings: Record<string, unknown>): Promise<void> {
    await this.client.cluster.putSettings({ persistent: settings, flat_settings: true }, this.options());
  }

  async remoteInfo(): Promise<Record<string, { connected?: boolean }>> {
    return (await this.client.cluster.remoteInfo({}, this.options())) as unknown as Record<
      string,
      { connected?: boolean }
    >;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export interface EsClientsOptions {
  /** Builds the operations object of one cluster; tests return a subclass that injects faults. */
  clusterFactory?: (args: ConstructorParameters<typeof EsCluster>) => EsCluster;
}

/**
 * One `@elastic/elasticsearch` client per cluster of each DR pair, created on first use (the API key, an
 * `env:`/`file:` reference, is resolved here, inside the activity layer) and shared by every activity of the
 * worker; `close()` at worker shutdown.
 */
export class EsClients {
  private readonly clusters = new Map<string, EsCluster>();

  constructor(
    private readonly runbooks: RunbookRegistry,
    private readonly options: EsClientsOptions = {},
  ) {}

  settings(pair: string): ElasticsearchConfig {
    const es = this.runbooks.get(pair).runbook.elasticsearch;
    if (!es)
      throw esDecision(
        'ElasticsearchNotConfigured',
        `pair "${pair}" has no elasticsearch section in its runbook`,
      );
    return es;
  }

  /** The runbook's cluster of `site`; the standby site when omitted (the follower in the forward direction). */
  clusterConfig(pair: string, site?: string): EsClusterConfig {
    const wanted = site ?? this.runbooks.get(pair).runbook.sites.standby.name;
    const config = this.settings(pair).clusters.find((c) => c.site === wanted);
    if (!config) {
      throw esDecision(
        'UnknownSite',
        `pair "${pair}" has no Elasticsearch cluster for site "${wanted}" (have: ${this.settings(pair)
          .clusters.map((c) => c.site)
          .join(', ')})`,
      );
    }
    return config;
  }

  /** The other site of the pair. */
  otherSite(pair: string, site: string): string {
    const { primary, standby } = this.runbooks.get(pair).runbook.sites;
    return site === primary.name ? standby.name : primary.name;
  }

  cluster(pair: string, site?: string): EsCluster {
    const config = this.clusterConfig(pair, site);
    const key = `${pair}/${config.site}`;
    let cluster = this.clusters.get(key);
    if (!cluster) {
      const loaded = this.runbooks.get(pair);
      const es = this.settings(pair);
      const dir = path.dirname(loaded.file);
      let apiKey: string | undefined;
      let ca: string | undefined;
      try {
        apiKey = config.apiKey ? resolveSecret(config.apiKey, dir) : undefined;
      } catch (err) {
        throw esFailure(config.site, 'API key', err);
      }
      try {
        ca = config.ca ? resolvePublicReference(config.ca, dir) : undefined;
      } catch (err) {
        throw esFailure(config.site, 'CA certificate', err);
      }
      const client = new Client({
        node: config.url,
        auth: apiKey ? { apiKey } : undefined,
        ...(ca ? { tls: { ca } } : {}),
        maxRetries: 0,
        // The connection pool's own header/body timeouts come from this value and would cut short a request
        // allowed longer (a health wait); every request sets its precise limit itself (EsCluster.options).
        requestTimeout: CONNECTION_TIMEOUT_MS,
        sniffOnStart: false,
        Transport: versionedTransport({
          site: config.site,
          field: `elasticsearch.clusters[${es.clusters.indexOf(config)}]`,
          version: config.version,
        }),
      });
      const args: ConstructorParameters<typeof EsCluster> = [
        pair,
        config.site,
        client,
        apiKey ? [apiKey] : [],
        durationMs(es.requestTimeout),
      ];
      cluster = this.options.clusterFactory ? this.options.clusterFactory(args) : new EsCluster(...args);
      this.clusters.set(key, cluster);
    }
    return cluster;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => c.close()));
    this.clusters.clear();
  }
}
