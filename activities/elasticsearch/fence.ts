import { heartbeat, log } from '@temporalio/activity';
import type { EsClients, EsCluster } from './clients';
import { runBatch } from './control';
import { esDecision, esFailure, esStatus, hasEsType } from './errors';
import { autoFollows } from './failback';

export interface EsFenceInput {
  pair: string;
  /** The site whose leader indices get (or lose) the write block: no default, fencing names its side. */
  site: string;
  /** Default: the site's leader indices (the runbook's `followerIndices` and what the auto-follow patterns match). */
  indices?: string[];
}

export type FenceOutcome = 'fenced' | 'already-fenced';
export type UnfenceOutcome = 'unfenced' | 'already-unfenced' | 'missing';

/** What a fence or unfence did: per index the outcome, the requests that changed something, and one sentence. */
export interface EsWriteFenceResult<O extends string> {
  site: string;
  indices: { index: string; outcome: O }[];
  /** Requests that changed something, in order (none when everything was already as wanted). */
  steps: string[];
  description: string;
}

export interface IndexWriteBlock {
  index: string;
  exists: boolean;
  /** `index.blocks.write` is true: data writes are refused. */
  writeBlocked: boolean;
}

export interface EsWriteBlockStatus {
  site: string;
  indices: IndexWriteBlock[];
  blocked: string[];
  unblocked: string[];
  missing: string[];
  /** Every index exists and carries the write block. */
  fenced: boolean;
  description: string;
}

/**
 * The indices of `site` that the other site follows: the runbook's `followerIndices` (each follows the same-named
 * index) and the indices of `site` that the runbook's auto-follow patterns match. A pattern is read on the other
 * site (the follower) or, once mirrored by a failback, on `site`; on neither it is `AutoFollowPatternNotFound`.
 */
export async function leaderIndicesOf(es: EsClients, pair: string, site: string): Promise<string[]> {
  const cluster = es.cluster(pair, site);
  const other = es.cluster(pair, es.otherSite(pair, cluster.site));
  const settings = es.settings(pair);
  const indices = new Set(settings.followerIndices);
  if (settings.autoFollowPatterns.length === 0) return [...indices];
  const existing = [...(await cluster.call('list indices', () => cluster.indexStatuses())).keys()];
  for (const name of settings.autoFollowPatterns) {
    const pattern =
      (await other.call(`read auto-follow pattern ${name}`, () => other.autoFollowPattern(name))) ??
      (await cluster.call(`read auto-follow pattern ${name}`, () => cluster.autoFollowPattern(name)));
    if (!pattern)
      throw esDecision(
        'AutoFollowPatternNotFound',
        `no auto-follow pattern "${name}" on ${other.site} or ${cluster.site}: cannot tell which indices of ${cluster.site} it follows`,
      );
    for (const index of existing) if (autoFollows(pattern, index)) indices.add(index);
  }
  return [...indices];
}

function isIndexMissing(err: unknown): boolean {
  return esStatus(err) === 404 && hasEsType(err, 'index_not_found_exception');
}

/** The write block of one index, or undefined when the index does not exist. */
async function readWriteBlock(
  cluster: EsCluster,
  index: string,
  operation: string,
): Promise<boolean | undefined> {
  try {
    return await cluster.writeBlocked(index);
  } catch (err) {
    if (isIndexMissing(err)) return undefined;
    throw esFailure(cluster.site, `${operation} ${index}: read the write block`, err, cluster.secrets);
  }
}

/**
 * Adds the write block with the add index block API, which answers only once every shard accounts for it (no write
 * in flight), even when the setting reads true already: an earlier attempt whose answer was lost may have set the
 * setting before the shards confirmed it, and asking again confirms it (a no-op when the block is complete).
 */
async function fenceIndex(cluster: EsCluster, index: string, steps: string[]): Promise<FenceOutcome> {
  const before = await readWriteBlock(cluster, index, 'fence writes');
  if (before === undefined)
    throw esDecision(
      'EsIndexNotFound',
      `${cluster.site}: fence writes ${index}: no such index, so it cannot carry a write block (a client write would create it unblocked)`,
    );
  const { added, confirmed } = await cluster.call(`fence writes ${index}`, () =>
    cluster.addWriteBlock(index),
  );
  if (added) steps.push(`${cluster.site}: PUT ${index}/_block/write`);
  if (!confirmed)
    throw esDecision(
      'WriteBlockNotConfirmed',
      `${cluster.site}: fence writes ${index}: the write block is set but not every shard confirmed it; writes may still be in flight`,
    );
  if (added)
    log.info(`${cluster.site}: ${index} refuses writes (index.blocks.write)`, { site: cluster.site, index });
  return added ? 'fenced' : 'already-fenced';
}

async function unfenceIndex(cluster: EsCluster, index: string, steps: string[]): Promise<UnfenceOutcome> {
  const before = await readWriteBlock(cluster, index, 'unfence writes');
  if (before === undefined) return 'missing';
  if (!before) return 'already-unfenced';
  await cluster.call(`unfence writes ${index}`, () => cluster.removeWriteBlock(index));
  steps.push(`${cluster.site}: PUT ${index}/_settings {"index.blocks.write": null}`);
  log.info(`${cluster.site}: ${index} takes writes again (index.blocks.write removed)`, {
    site: cluster.site,
    index,
  });
  return 'unfenced';
}

/** Runs `act` on each index (default: the site's leader indices) with bounded concurrency; steps in index order. */
async function forEachIndex<O extends string>(
  es: EsClients,
  input: EsFenceInput,
  what: string,
  act: (cluster: EsCluster, index: string, steps: string[]) => Promise<O>,
): Promise<{ site: string; indices: { index: string; outcome: O }[]; steps: string[] }> {
  const cluster = es.cluster(input.pair, input.site);
  const indices = input.indices ?? (await leaderIndicesOf(es, input.pair, cluster.site));
  let done = 0;
  const results = await runBatch(
    cluster.site,
    what,
    indices,
    es.settings(input.pair).promoteConcurrency,
    async (index) => {
      const steps: string[] = [];
      return { index, outcome: await act(cluster, index, steps), steps };
    },
    () => heartbeat({ done: ++done, total: indices.length }),
  );
  return {
    site: cluster.site,
    indices: results.map(({ index, outcome }) => ({ index, outcome })),
    steps: results.flatMap((r) => r.steps),
  };
}

function names(list: { index: string }[]): string {
  return list.map((i) => i.index).join(', ');
}

/** The verb for a list of indices: `refuses` for one, `refuse` for several. */
function verb(list: { index: string }[], singular: string, plural: string): string {
  return list.length === 1 ? singular : plural;
}

/**
 * Fences a site's leader indices: each gets `index.blocks.write`, through the add index block API so that no write
 * is in flight once it answers. Reads first and adds only the missing blocks; a missing index is `EsIndexNotFound`
 * (the others are fenced all the same, and a retry does only what is left).
 */
export async function fenceWrites(
  es: EsClients,
  input: EsFenceInput,
): Promise<EsWriteFenceResult<FenceOutcome>> {
  const result = await forEachIndex(es, input, 'fence writes', fenceIndex);
  const fenced = result.indices.filter((i) => i.outcome === 'fenced');
  const description =
    result.indices.length === 0
      ? `${result.site}: no leader index to fence.`
      : fenced.length === 0
        ? `${result.site}: ${names(result.indices)} already refused writes (index.blocks.write).`
        : `${result.site}: ${names(result.indices)} ${verb(result.indices, 'refuses', 'refuse')} writes now (index.blocks.write; added on ${names(fenced)}).`;
  log.info(description, { site: result.site });
  return { ...result, description };
}

/** Lifts the write block from a site's leader indices (the rollback of a fence); an index that is gone is reported. */
export async function unfenceWrites(
  es: EsClients,
  input: EsFenceInput,
): Promise<EsWriteFenceResult<UnfenceOutcome>> {
  const result = await forEachIndex(es, input, 'unfence writes', unfenceIndex);
  const lifted = result.indices.filter((i) => i.outcome === 'unfenced');
  const missing = result.indices.filter((i) => i.outcome === 'missing');
  const writable = result.indices.filter((i) => i.outcome !== 'missing');
  const parts = [
    writable.length === 0
      ? `${result.site}: no leader index to unfence`
      : lifted.length === 0
        ? `${result.site}: ${names(writable)} already took writes (no write block)`
        : `${result.site}: ${names(writable)} ${verb(writable, 'takes', 'take')} writes again (write block removed from ${names(lifted)})`,
    ...(missing.length > 0 ? [`${names(missing)} do${missing.length > 1 ? '' : 'es'} not exist`] : []),
  ];
  const description = `${parts.join('; ')}.`;
  log.info(description, { site: result.site });
  return { ...result, description };
}

/** Read-only: which of a site's leader indices carry the write block (is the site still fenced?). */
export async function writeBlockStatus(es: EsClients, input: EsFenceInput): Promise<EsWriteBlockStatus> {
  const cluster = es.cluster(input.pair, input.site);
  const indices = input.indices ?? (await leaderIndicesOf(es, input.pair, cluster.site));
  const states: IndexWriteBlock[] = [];
  for (const index of indices) {
    const blocked = await readWriteBlock(cluster, index, 'write block status');
    states.push({ index, exists: blocked !== undefined, writeBlocked: blocked === true });
  }
  const blocked = states.filter((s) => s.writeBlocked).map((s) => s.index);
  const unblocked = states.filter((s) => s.exists && !s.writeBlocked).map((s) => s.index);
  const missing = states.filter((s) => !s.exists).map((s) => s.index);
  const fenced = indices.length > 0 && unblocked.length === 0 && missing.length === 0;
  const parts = [
    ...(blocked.length > 0
      ? [`${blocked.join(', ')} refuse${blocked.length > 1 ? '' : 's'} writes (write block)`]
      : []),
    ...(unblocked.length > 0
      ? [`${unblocked.join(', ')} take${unblocked.length > 1 ? '' : 's'} writes`]
      : []),
    ...(missing.length > 0 ? [`${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist`] : []),
  ];
  const verdict = fenced
    ? 'the site is fenced'
    : blocked.length > 0
      ? 'the site is partly fenced'
      : 'the site is not fenced';
  const description = `${cluster.site}: ${parts.join('; ') || 'no leader index'}: ${verdict}.`;
  return { site: cluster.site, indices: states, blocked, unblocked, missing, fenced, description };
}
