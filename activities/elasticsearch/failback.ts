import { heartbeat, log } from '@temporalio/activity';
import type { EsClients, EsCluster } from './clients';
import { esDecision } from './errors';

export interface EsDivergenceInput {
  pair: string;
  /** The cluster whose indices a failback would replace by followers (the old primary's). */
  site: string;
  /** Default: the runbook's `followerIndices`. */
  indices?: string[];
  /** Documents read per request (default 500). */
  pageSize?: number;
}

export interface IndexDivergence {
  index: string;
  /** False when the index is not on `site`: nothing to lose there. */
  exists: boolean;
  /** Already a follower of the leader's index: it holds nothing of its own. */
  following: boolean;
  documents: number;
  /** Documents the leader lacks, or holds with another content: replacing the index discards them. */
  divergent: number;
  /** Up to 20 of their ids. */
  sampleIds: string[];
}

export interface EsDivergenceReport {
  site: string;
  leaderSite: string;
  indices: IndexDivergence[];
  total: number;
  description: string;
}

/** Same JSON whatever the order of the keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

async function indexDivergence(
  old: EsCluster,
  leader: EsCluster,
  remoteAlias: string,
  index: string,
  pageSize: number,
): Promise<IndexDivergence> {
  const base = { index, documents: 0, divergent: 0, sampleIds: [] as string[] };
  const state = await old.call(`divergence ${index}: read state`, () => old.indexState(index));
  if (!state.exists) return { ...base, exists: false, following: false };
  const f = state.follower;
  if (f && f.remoteCluster === remoteAlias && f.leaderIndex === index)
    return { ...base, exists: true, following: true };
  if (!state.open)
    throw esDecision(
      'IndexClosed',
      `${old.site}: ${index} is closed, so what it holds cannot be compared with ${leader.site}; open it to count what replacing it discards`,
    );
  await old.call(`divergence ${index}: refresh`, () => old.client.indices.refresh({ index }));
  let after: number | undefined;
  const result = { ...base, exists: true, following: false };
  for (;;) {
    const page = await old.call(`divergence ${index}: read`, () =>
      old.documentsAfter(index, after, pageSize),
    );
    if (page.length === 0) return result;
    const theirs = await leader.call(`divergence ${index}: read the leader`, () =>
      leader.documentsById(
        index,
        page.map((d) => d.id),
      ),
    );
    for (const doc of page) {
      const other = theirs.get(doc.id);
      if (other === undefined || canonical(other) !== canonical(doc.source)) {
        result.divergent++;
        if (result.sampleIds.length < 20) result.sampleIds.push(doc.id);
      }
    }
    result.documents += page.length;
    after = page[page.length - 1]!.seqNo;
    heartbeat({ index, documents: result.documents, divergent: result.divergent });
  }
}

/**
 * Read-only: for each index of `site` that a failback would replace by a follower of the other site's index,
 * how many of its documents the leader lacks or holds with another content (writes the old primary took after
 * the failover): replacing the index discards them. Pages through the index in the order of its sequence numbers
 * (search_after on `_seq_no`) and looks each page up on the leader by id. A deletion the old index took after the
 * failover is not counted (its document is gone from it).
 */
export async function divergence(es: EsClients, input: EsDivergenceInput): Promise<EsDivergenceReport> {
  const old = es.cluster(input.pair, input.site);
  const leaderSite = es.otherSite(input.pair, old.site);
  const leader = es.cluster(input.pair, leaderSite);
  const alias = es.clusterConfig(input.pair, old.site).remoteAlias;
  const indices = input.indices ?? es.settings(input.pair).followerIndices;
  const results: IndexDivergence[] = [];
  for (const index of indices)
    results.push(await indexDivergence(old, leader, alias, index, input.pageSize ?? 500));
  const total = results.reduce((sum, r) => sum + r.divergent, 0);
  const diverging = results.filter((r) => r.divergent > 0);
  const description =
    total === 0
      ? `${old.site} holds no document that ${leaderSite} lacks in ${indices.join(', ') || 'no index'}: replacing them by followers loses nothing.`
      : `${diverging
          .map(
            (r) =>
              `${old.site}/${r.index} holds ${r.divergent} document(s) that ${leaderSite} lacks or holds otherwise (e.g. ${r.sampleIds.slice(0, 5).join(', ')})`,
          )
          .join('; ')}: replacing ${diverging.length > 1 ? 'them' : 'it'} by a follower discards them.`;
  log.info(description, { site: old.site });
  return { site: old.site, leaderSite, indices: results, total, description };
}

export interface EsPatternsInput {
  pair: string;
  /** The cluster that gets (or loses) the patterns. */
  site: string;
  /** Default: the runbook's `autoFollowPatterns`. */
  patterns?: string[];
}

/**
 * Makes `site` auto-follow the other site's new indices as the other site's patterns of the same names follow
 * `site`'s (the failback's reverse direction): same leader index patterns, exclusions and follow index pattern,
 * with `site`'s own remote alias. A pattern already on `site` with that remote cluster and those patterns is left
 * as it is. A pattern found on neither site is `AutoFollowPatternNotFound`.
 */
export async function mirrorAutoFollowPatterns(
  es: EsClients,
  input: EsPatternsInput,
): Promise<{
  site: string;
  patterns: { name: string; outcome: 'created' | 'already-there' }[];
  /** Indices of the other site the patterns match that exist already: a new pattern does not follow them. */
  existingLeaderIndices: string[];
}> {
  const cluster = es.cluster(input.pair, input.site);
  const other = es.cluster(input.pair, es.otherSite(input.pair, cluster.site));
  const alias = es.clusterConfig(input.pair, cluster.site).remoteAlias;
  const patterns = [];
  const leaderIndices = [...(await other.call('list indices', () => other.indexStatuses())).keys()];
  const existing = new Set<string>();
  for (const name of input.patterns ?? es.settings(input.pair).autoFollowPatterns) {
    const mine = await cluster.call(`mirror ${name}: read`, () => cluster.autoFollowPattern(name));
    const source = await other.call(`mirror ${name}: read on ${other.site}`, () =>
      other.autoFollowPattern(name),
    );
    if (!source && !mine)
      throw esDecision(
        'AutoFollowPatternNotFound',
        `${other.site}: no auto-follow pattern "${name}" to mirror onto ${cluster.site}`,
      );
    const wanted = source ?? mine!;
    for (const index of leaderIndices)
      if (
        !index.startsWith('.') &&
        wanted.leader_index_patterns.some((p) => globMatch(p, index)) &&
        !(wanted.leader_index_exclusion_patterns ?? []).some((p) => globMatch(p, index))
      )
        existing.add(index);
    const same =
      mine &&
      mine.remote_cluster === alias &&
      canonical(mine.leader_index_patterns) === canonical(wanted.leader_index_patterns);
    if (same) {
      patterns.push({ name, outcome: 'already-there' as const });
      continue;
    }
    await cluster.call(`mirror ${name}`, () =>
      cluster.putAutoFollowPattern(name, {
        remoteCluster: alias,
        leaderIndexPatterns: wanted.leader_index_patterns,
        exclusions: wanted.leader_index_exclusion_patterns ?? [],
        followIndexPattern: wanted.follow_index_pattern ?? undefined,
      }),
    );
    log.info(
      `${cluster.site}: auto-follow pattern ${name} follows ${alias} (${wanted.leader_index_patterns.join(', ')})`,
    );
    patterns.push({ name, outcome: 'created' as const });
  }
  return { site: cluster.site, patterns, existingLeaderIndices: [...existing].sort() };
}

/** Index name patterns as auto-follow reads them: `*` matches any run of characters. */
function globMatch(pattern: string, name: string): boolean {
  const regex = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${regex}$`).test(name);
}

/** Deletes the named auto-follow patterns of `site` (the followers they created stay); absent is success. */
export async function deleteAutoFollowPatterns(
  es: EsClients,
  input: EsPatternsInput,
): Promise<{ site: string; patterns: { name: string; outcome: 'deleted' | 'already-absent' }[] }> {
  const cluster = es.cluster(input.pair, input.site);
  const patterns = [];
  for (const name of input.patterns ?? es.settings(input.pair).autoFollowPatterns) {
    const found = await cluster.call(`delete ${name}: read`, () => cluster.autoFollowPattern(name));
    if (!found) {
      patterns.push({ name, outcome: 'already-absent' as const });
      continue;
    }
    await cluster.call(`delete auto-follow pattern ${name}`, () => cluster.deleteAutoFollowPattern(name));
    log.info(`${cluster.site}: deleted auto-follow pattern ${name}`);
    patterns.push({ name, outcome: 'deleted' as const });
  }
  return { site: cluster.site, patterns };
}
