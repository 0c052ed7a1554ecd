import type { estypes } from '@elastic/elasticsearch';
import { heartbeat, log } from '@temporalio/activity';
import type { EsClients, EsCluster } from './clients';
import { describeEsError, esDecision } from './errors';

export interface EsDivergenceInput {
  pair: string;
  /** The cluster whose indices a failback would replace by followers (the old primary's). */
  site: string;
  /** Default: the runbook's `followerIndices`. */
  indices?: string[];
  /** Documents read per request (default 500). */
  pageSize?: number;
  /**
   * The recount of a fenced site: every index the failback would replace must carry `index.blocks.write` before
   * and after it is counted (else `IndexNotWriteBlocked`), so that no write can change the count meanwhile.
   */
  underWriteBlock?: boolean;
  /** The counts of an earlier call (typically the count before the fence), reported beside the new ones. */
  previous?: { total: number; indices: { index: string; divergent: number }[] };
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
  /** `index.blocks.write` was set while the index was counted (absent when it was not counted). */
  writeBlocked?: boolean;
  /** `divergent` in `previous`, when the caller gave it. */
  previousDivergent?: number;
}

export interface EsDivergenceReport {
  site: string;
  leaderSite: string;
  indices: IndexDivergence[];
  total: number;
  /** The count was asked to run under the write block (and did: every counted index had it throughout). */
  underWriteBlock?: boolean;
  /** `total` in `previous`, when the caller gave it. */
  previousTotal?: number;
  description: string;
}

/** How long a point in time lives between two pages (each page renews it); it is closed at the end anyway. */
const PIT_KEEP_ALIVE = '5m';

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

/** Fails unless the index carries the write block (a recount must not race writes). */
async function requireWriteBlock(old: EsCluster, index: string, when: string): Promise<void> {
  const blocked = await old.call(`divergence ${index}: read the write block`, () => old.writeBlocked(index));
  if (!blocked)
    throw esDecision(
      'IndexNotWriteBlocked',
      `${old.site}: ${index} has no write block ${when}, so its count could change under it; fence it first (index.blocks.write)`,
    );
}

/**
 * Counts the documents of `index` on `old` that `leader` lacks or holds otherwise, in a point in time paged by
 * `_shard_doc` (unique per document and stable within the PIT, so no document is missed or counted twice,
 * whatever the shards or the writes meanwhile). The PIT is closed at the end, also on failure.
 */
async function countDivergent(
  old: EsCluster,
  leader: EsCluster,
  index: string,
  pageSize: number,
): Promise<{ documents: number; divergent: number; sampleIds: string[] }> {
  const result = { documents: 0, divergent: 0, sampleIds: [] as string[] };
  let pitId = await old.call(`divergence ${index}: open a point in time`, () =>
    old.openPointInTime(index, PIT_KEEP_ALIVE),
  );
  try {
    let after: estypes.SortResults | undefined;
    for (;;) {
      const page = await old.call(`divergence ${index}: read`, () =>
        old.pointInTimePage(pitId, PIT_KEEP_ALIVE, after, pageSize),
      );
      pitId = page.pitId;
      if (page.docs.length === 0) return result;
      const theirs = await leader.call(`divergence ${index}: read the leader`, () =>
        leader.documentsById(
          index,
          page.docs.map((d) => d.id),
        ),
      );
      for (const doc of page.docs) {
        const other = theirs.get(doc.id);
        if (other === undefined || canonical(other) !== canonical(doc.source)) {
          result.divergent++;
          if (result.sampleIds.length < 20) result.sampleIds.push(doc.id);
        }
      }
      result.documents += page.docs.length;
      after = page.docs[page.docs.length - 1]!.sort;
      heartbeat({ index, documents: result.documents, divergent: result.divergent });
    }
  } finally {
    await closePointInTime(old, index, pitId);
  }
}

/** Closes the PIT; a failure is only logged (the PIT expires after its keep-alive) and never hides the count's. */
async function closePointInTime(old: EsCluster, index: string, pitId: string): Promise<void> {
  try {
    await old.closePointInTime(pitId);
  } catch (err) {
    log.warn(
      `${old.site}: divergence ${index}: could not close the point in time (it expires after ${PIT_KEEP_ALIVE}): ${describeEsError(err)}`,
      { site: old.site, index },
    );
  }
}

async function indexDivergence(
  old: EsCluster,
  leader: EsCluster,
  remoteAlias: string,
  index: string,
  options: { pageSize: number; underWriteBlock: boolean },
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
  if (options.underWriteBlock) await requireWriteBlock(old, index, 'before the count');
  const writeBlocked = await old.call(`divergence ${index}: read the write block`, () =>
    old.writeBlocked(index),
  );
  await old.call(`divergence ${index}: refresh`, () => old.client.indices.refresh({ index }));
  const counted = await countDivergent(old, leader, index, options.pageSize);
  if (options.underWriteBlock) await requireWriteBlock(old, index, 'after the count');
  return { ...base, ...counted, exists: true, following: false, writeBlocked };
}

/**
 * Read-only: for each index of `site` that a failback would replace by a follower of the other site's index,
 * how many of its documents the leader lacks or holds with another content (writes the old primary took after
 * the failover): replacing the index discards them. Pages through the index in a point in time sorted by
 * `_shard_doc` and looks each page up on the leader by id. A deletion the old index took after the failover is
 * not counted (its document is gone from it). With `underWriteBlock` it is the recount of a fenced site (each
 * index must keep its write block throughout); `previous` (an earlier count) is reported beside the new one.
 */
export async function divergence(es: EsClients, input: EsDivergenceInput): Promise<EsDivergenceReport> {
  const old = es.cluster(input.pair, input.site);
  const leaderSite = es.otherSite(input.pair, old.site);
  const leader = es.cluster(input.pair, leaderSite);
  const alias = es.clusterConfig(input.pair, old.site).remoteAlias;
  const indices = input.indices ?? es.settings(input.pair).followerIndices;
  const options = { pageSize: input.pageSize ?? 500, underWriteBlock: input.underWriteBlock === true };
  const previous = new Map(input.previous?.indices.map((i) => [i.index, i.divergent]));
  const results: IndexDivergence[] = [];
  for (const index of indices) {
    const counted = await indexDivergence(old, leader, alias, index, options);
    const before = previous.get(index);
    results.push(before === undefined ? counted : { ...counted, previousDivergent: before });
  }
  const total = results.reduce((sum, r) => sum + r.divergent, 0);
  const description = divergenceSentence(old.site, leaderSite, indices, results, {
    underWriteBlock: options.underWriteBlock,
    previousTotal: input.previous?.total,
  });
  log.info(description, { site: old.site });
  return {
    site: old.site,
    leaderSite,
    indices: results,
    total,
    ...(options.underWriteBlock ? { underWriteBlock: true } : {}),
    ...(input.previous ? { previousTotal: input.previous.total } : {}),
    description,
  };
}

function divergenceSentence(
  site: string,
  leaderSite: string,
  indices: string[],
  results: IndexDivergence[],
  context: { underWriteBlock: boolean; previousTotal: number | undefined },
): string {
  const when = context.underWriteBlock ? ' (counted under the write block)' : '';
  const before = (count: number | undefined) =>
    count === undefined ? '' : `; ${count} at the earlier count`;
  const diverging = results.filter((r) => r.divergent > 0);
  if (diverging.length === 0)
    return `${site} holds no document that ${leaderSite} lacks in ${indices.join(', ') || 'no index'}${when}${before(context.previousTotal)}: replacing them by followers loses nothing.`;
  const parts = diverging.map(
    (r) =>
      `${site}/${r.index} holds ${r.divergent} document(s) that ${leaderSite} lacks or holds otherwise (e.g. ${r.sampleIds.slice(0, 5).join(', ')}${before(r.previousDivergent)})`,
  );
  return `${parts.join('; ')}${when}: replacing ${diverging.length > 1 ? 'them' : 'it'} by a follower discards them.`;
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
    for (const index of leaderIndices) if (autoFollows(wanted, index)) existing.add(index);
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

/**
 * Whether an auto-follow pattern follows this leader index: it matches a leader index pattern and no exclusion
 * pattern, and is not a system or hidden index (auto-follow ignores names starting with `.`).
 */
export function autoFollows(
  pattern: Pick<
    estypes.CcrGetAutoFollowPatternAutoFollowPatternSummary,
    'leader_index_patterns' | 'leader_index_exclusion_patterns'
  >,
  index: string,
): boolean {
  return (
    !index.startsWith('.') &&
    pattern.leader_index_patterns.some((p) => globMatch(p, index)) &&
    !(pattern.leader_index_exclusion_patterns ?? []).some((p) => globMatch(p, index))
  );
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
