import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Client } from '@elastic/elasticsearch';

/**
 * What the stack keeps of the emulated Elasticsearch pair across a stop (the emulator holds its clusters in memory):
 * read and rebuilt through the Elasticsearch API only, as a real cluster's data and cluster state would survive
 * a full restart. Enough for the pair as moves leave it: indices, their documents and write blocks, followers
 * (active or paused), auto-follow patterns (active or paused), persistent cluster settings (remote clusters).
 */
export interface SavedEsCluster {
  site: string;
  persistentSettings: Record<string, unknown>;
  indices: SavedIndex[];
  autoFollowPatterns: {
    name: string;
    remoteCluster: string;
    leaderIndexPatterns: string[];
    leaderIndexExclusionPatterns?: string[];
    followIndexPattern?: string;
    active: boolean;
  }[];
}

interface SavedIndex {
  name: string;
  shards: number;
  writeBlock: boolean;
  /** A follower index is rebuilt by following its leader again (its documents come from there). */
  follower?: { remoteCluster: string; leaderIndex: string; paused: boolean };
  docs?: { id: string; source: unknown; routing?: string }[];
}

/** The search window of one request (index.max_result_window): the local pair's indices are far smaller. */
const MAX_DOCS = 10_000;

export async function readEsCluster(site: string, client: Client): Promise<SavedEsCluster> {
  const settings = await client.cluster.getSettings({ flat_settings: true });
  const indexSettings = (await client.indices.getSettings({ index: '_all', flat_settings: true })) as Record<
    string,
    { settings: Record<string, string> }
  >;
  const followers = new Map(
    (await client.ccr.followInfo({ index: '_all' })).follower_indices.map((f) => [f.follower_index, f]),
  );
  const indices: SavedIndex[] = [];
  for (const [name, { settings: s }] of Object.entries(indexSettings)) {
    const follower = followers.get(name);
    const saved: SavedIndex = {
      name,
      shards: Number(s['index.number_of_shards'] ?? 1),
      writeBlock: s['index.blocks.write'] === 'true',
    };
    if (follower) {
      saved.follower = {
        remoteCluster: follower.remote_cluster,
        leaderIndex: follower.leader_index,
        paused: follower.status === 'paused',
      };
    } else {
      saved.docs = await readDocs(client, name);
    }
    indices.push(saved);
  }
  const patterns = await client.ccr.getAutoFollowPattern();
  return {
    site,
    persistentSettings: settings.persistent ?? {},
    indices,
    autoFollowPatterns: patterns.patterns.map(({ name, pattern }) => ({
      name,
      remoteCluster: pattern.remote_cluster,
      leaderIndexPatterns: pattern.leader_index_patterns,
      ...(pattern.leader_index_exclusion_patterns?.length
        ? { leaderIndexExclusionPatterns: pattern.leader_index_exclusion_patterns }
        : {}),
      ...(pattern.follow_index_pattern ? { followIndexPattern: pattern.follow_index_pattern } : {}),
      active: pattern.active,
    })),
  };
}

async function readDocs(client: Client, index: string): Promise<SavedIndex['docs']> {
  const result = await client.search({
    index,
    size: MAX_DOCS,
    track_total_hits: true,
    query: { match_all: {} },
  });
  const total = typeof result.hits.total === 'number' ? result.hits.total : (result.hits.total?.value ?? 0);
  if (total > MAX_DOCS)
    throw new Error(`index ${index} holds ${total} documents, more than the ${MAX_DOCS} the stack keeps`);
  return result.hits.hits.map((hit) => ({
    id: hit._id!,
    source: hit._source,
    ...(hit._routing ? { routing: hit._routing } : {}),
  }));
}

/**
 * Rebuilds saved clusters on empty ones: settings, then every index that follows nobody with its documents (on
 * every cluster, so that each follower finds its leader), then the followers, then the auto-follow patterns (which
 * leave the indices that exist when they are made alone, as Elasticsearch's do).
 */
export async function restoreEsClusters(
  saved: SavedEsCluster[],
  clients: Map<string, Client>,
): Promise<void> {
  const client = (site: string) => {
    const found = clients.get(site);
    if (!found) throw new Error(`es-emulator: the saved state names cluster ${site}, which the stack lacks`);
    return found;
  };
  for (const cluster of saved)
    await client(cluster.site).cluster.putSettings({
      persistent: cluster.persistentSettings,
      flat_settings: true,
    });
  for (const cluster of saved)
    for (const index of cluster.indices.filter((i) => !i.follower))
      await restoreIndex(client(cluster.site), index);
  for (const cluster of saved)
    for (const index of cluster.indices) {
      if (!index.follower) continue;
      const es = client(cluster.site);
      await es.ccr.follow({
        index: index.name,
        remote_cluster: index.follower.remoteCluster,
        leader_index: index.follower.leaderIndex,
        wait_for_active_shards: 1,
      });
      if (index.follower.paused) await es.ccr.pauseFollow({ index: index.name });
    }
  for (const cluster of saved)
    for (const pattern of cluster.autoFollowPatterns) {
      const es = client(cluster.site);
      await es.ccr.putAutoFollowPattern({
        name: pattern.name,
        remote_cluster: pattern.remoteCluster,
        leader_index_patterns: pattern.leaderIndexPatterns,
        ...(pattern.leaderIndexExclusionPatterns
          ? { leader_index_exclusion_patterns: pattern.leaderIndexExclusionPatterns }
          : {}),
        ...(pattern.followIndexPattern ? { follow_index_pattern: pattern.followIndexPattern } : {}),
      });
      if (!pattern.active) await es.ccr.pauseAutoFollowPattern({ name: pattern.name });
    }
}

async function restoreIndex(es: Client, index: SavedIndex): Promise<void> {
  await es.indices.create({
    index: index.name,
    settings: { number_of_shards: index.shards, number_of_replicas: 0 },
  });
  const docs = index.docs ?? [];
  if (docs.length > 0) {
    const result = await es.bulk({
      operations: docs.flatMap((d) => [
        { index: { _index: index.name, _id: d.id, ...(d.routing ? { routing: d.routing } : {}) } },
        d.source,
      ]),
    });
    if (result.errors) throw new Error(`es-emulator: restoring the documents of ${index.name} failed`);
  }
  await es.indices.refresh({ index: index.name });
  if (index.writeBlock) await es.indices.addBlock({ index: index.name, block: 'write' });
}

export function loadSavedEsState(file: string): SavedEsCluster[] | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SavedEsCluster[];
  } catch (err) {
    throw new Error(
      `es-emulator: ${file} is not the state a stop saved (${(err as Error).message}); ${RESET}`,
      {
        cause: err,
      },
    );
  }
}

const RESET = '`drctl stack reset` starts the pair again from the seed';

export function saveEsState(file: string, clusters: SavedEsCluster[]): void {
  writeFileSync(file, JSON.stringify(clusters, null, 1) + '\n', { mode: 0o600 });
}
