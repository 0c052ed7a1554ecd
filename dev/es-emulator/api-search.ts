import { openIndices, readableIndices } from './api-indices';
import type { EmulatedCluster } from './cluster';
import { illegalArgument, parsingException, validationFailed } from './errors';
import { ok, objectBody, type EsRequest, type EsResponse, type Route } from './http-types';
import type { EmulatedIndex, StoredDoc } from './index-state';
import { parseIntParam, parseTimeValue } from './params';
import { AllShardsFailed, decodePitId, type ShardFailure } from './pit';
import { matches, matchesQueryString, type Query } from './query';

/** Search and count see the documents as of each index's last refresh, as Lucene searchers do. */
const TRACK_TOTAL_HITS_DEFAULT = 10_000;
const SHARD_DOC = '_shard_doc';

/** What one shard contributes to a search: its searchable documents in doc ID order, and its shard index. */
interface ShardView {
  index: string;
  shard: number;
  /** The shard's position among the searched shards (ES: the shard request index). */
  shardIndex: number;
  docs: StoredDoc[];
}

interface Hit {
  view: ShardView;
  doc: StoredDoc;
}

type SortSpec = { field: string; descending: boolean };

export const searchRoutes: Route[] = [
  ...['GET', 'POST'].flatMap((method) => [
    {
      method,
      path: '/_search',
      handler: (cluster: EmulatedCluster, req: EsRequest) => search(cluster, undefined, req),
    },
    {
      method,
      path: '/{index}/_search',
      handler: (cluster: EmulatedCluster, req: EsRequest) => search(cluster, req.params.index, req),
    },
    {
      method,
      path: '/_count',
      handler: (cluster: EmulatedCluster, req: EsRequest) => count(cluster, undefined, req),
    },
    {
      method,
      path: '/{index}/_count',
      handler: (cluster: EmulatedCluster, req: EsRequest) => count(cluster, req.params.index, req),
    },
  ]),
  { method: 'POST', path: '/{index}/_pit', handler: openPointInTime },
  { method: 'DELETE', path: '/_pit', handler: closePointInTime },
];

/**
 * POST /<index>/_pit?keep_alive=…: a reader context on every shard of the (open) target indices. Answers the id
 * and the `_shards` it covers (OpenPointInTimeResponse).
 */
function openPointInTime(cluster: EmulatedCluster, req: EsRequest): EsResponse {
  if (req.query.keep_alive === undefined) throw validationFailed(['[keep_alive] is not specified']);
  const keepAliveMs = parseTimeValue(req.query.keep_alive, 0, 'keep_alive');
  const indices = readableIndices(cluster, req.params.index as string);
  const { id, shards } = cluster.pits.open(indices, keepAliveMs, Date.now());
  return ok({ id, _shards: { total: shards, successful: shards, skipped: 0, failed: 0 } });
}

/**
 * DELETE /_pit {id}: frees the contexts still open; 404 with `succeeded: false` when not all of them were
 * (ClosePointInTimeResponse.status).
 */
function closePointInTime(cluster: EmulatedCluster, req: EsRequest): EsResponse {
  const id = objectBody(req).id;
  if (typeof id !== 'string' || id === '') throw illegalArgument('reader id must be specified');
  const { succeeded, numFreed } = cluster.pits.close(decodePitId(id), Date.now());
  return ok({ succeeded, num_freed: numFreed }, succeeded || numFreed > 0 ? 200 : 404);
}

function search(cluster: EmulatedCluster, expression: string | undefined, req: EsRequest): EsResponse {
  const started = Date.now();
  const body = objectBody(req);
  if (body.pit !== undefined) return searchPointInTime(cluster, expression, req, body, started);
  if (sortSpecs(body.sort).some((spec) => spec.field === SHARD_DOC))
    throw validationFailed([`[${SHARD_DOC}] sort field cannot be used without [point in time]`]);
  const views = liveViews(targets(cluster, expression));
  return ok(searchResult(views, body, req, sortSpecs(body.sort), started, views.length, []));
}

/**
 * A search in a point in time: no index in the path (RestSearchAction.preparePointInTime), the PIT's shards as
 * they were when it was opened, `pit_id` in the answer, and `_shard_doc` added as the last sort when the request
 * sorts on something else and its `search_after` (if any) has a value for it (SearchRequest.rewrite).
 */
function searchPointInTime(
  cluster: EmulatedCluster,
  expression: string | undefined,
  req: EsRequest,
  body: Record<string, unknown>,
  started: number,
): EsResponse {
  if (expression !== undefined)
    throw validationFailed([
      '[indices] cannot be used with point in time. Do not specify any index with point in time.',
    ]);
  const pit = (body.pit ?? {}) as { id?: unknown; keep_alive?: unknown };
  if (typeof pit.id !== 'string') throw illegalArgument('point in time id is not provided');
  const keepAliveMs =
    typeof pit.keep_alive === 'string' ? parseTimeValue(pit.keep_alive, 0, 'keep_alive') : undefined;
  const reference = decodePitId(pit.id);
  const { contexts, failures } = cluster.pits.use(reference, keepAliveMs, Date.now());
  if (contexts.length === 0) throw new AllShardsFailed('query', failures);
  const views = contexts.map(({ context, shardIndex }) => ({
    index: context.index,
    shard: context.shard,
    shardIndex,
    docs: context.docs,
  }));
  const sorts = withTiebreaker(sortSpecs(body.sort), body.search_after);
  const result = searchResult(views, body, req, sorts, started, reference.shards.length, failures);
  return ok({ pit_id: pit.id, ...result });
}

function withTiebreaker(sorts: SortSpec[], searchAfter: unknown): SortSpec[] {
  const afterLength = Array.isArray(searchAfter) ? searchAfter.length : searchAfter === undefined ? 0 : 1;
  const last = sorts[sorts.length - 1];
  if (sorts.length === 0 || last?.field === SHARD_DOC) return sorts;
  if (searchAfter !== undefined && afterLength !== sorts.length + 1) return sorts;
  return [...sorts, { field: SHARD_DOC, descending: false }];
}

function searchResult(
  views: ShardView[],
  body: Record<string, unknown>,
  req: EsRequest,
  sorts: SortSpec[],
  started: number,
  totalShards: number,
  failures: ShardFailure[],
): Record<string, unknown> {
  const sorted = sortHits(matching(views, body.query as Query | undefined, req.query.q), sorts);
  const hits = body.search_after === undefined ? sorted : after(sorted, sorts, body.search_after);
  const withSeqNo = body.seq_no_primary_term === true || req.query.seq_no_primary_term === 'true';
  const from = typeof body.from === 'number' ? body.from : parseIntParam(req.query.from, 0, 'from');
  const size = typeof body.size === 'number' ? body.size : parseIntParam(req.query.size, 10, 'size');
  const page = hits.slice(Math.max(0, from), Math.max(0, from) + size);
  const isSorted = sorts.length > 0;
  return {
    took: Date.now() - started,
    timed_out: false,
    _shards: {
      total: totalShards,
      successful: totalShards - failures.length,
      skipped: 0,
      failed: failures.length,
      ...(failures.length > 0
        ? { failures: failures.map(({ shard, index, node, reason }) => ({ shard, index, node, reason })) }
        : {}),
    },
    hits: {
      total: totalHits(hits.length, body.track_total_hits),
      max_score: isSorted || page.length === 0 ? null : 1.0,
      hits: page.map((hit) => ({
        _index: hit.view.index,
        _id: hit.doc.id,
        _score: isSorted ? null : 1.0,
        ...(hit.doc.routing === undefined ? {} : { _routing: hit.doc.routing }),
        _source: hit.doc.source,
        ...(withSeqNo ? { _seq_no: hit.doc.seqNo, _primary_term: hit.doc.primaryTerm } : {}),
        ...(isSorted ? { sort: sorts.map((spec) => fieldValue(hit, spec.field) ?? null) } : {}),
      })),
    },
  };
}

function count(cluster: EmulatedCluster, expression: string | undefined, req: EsRequest): EsResponse {
  const indices = targets(cluster, expression);
  const hits = matching(liveViews(indices), objectBody(req).query as Query | undefined, req.query.q);
  const total = indices.reduce((sum, index) => sum + index.numberOfShards, 0);
  return ok({ count: hits.length, _shards: { total, successful: total, skipped: 0, failed: 0 } });
}

function targets(cluster: EmulatedCluster, expression: string | undefined): EmulatedIndex[] {
  return expression === undefined ? openIndices(cluster) : readableIndices(cluster, expression);
}

/** The current searchable view of every shard, shards ordered as ES orders shard requests: index name, shard. */
function liveViews(indices: EmulatedIndex[]): ShardView[] {
  return [...indices]
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((index) =>
      index.shards.map((shard) => ({
        index: index.name,
        shard: shard.id,
        docs: shard.searchableInDocIdOrder(),
      })),
    )
    .map((view, shardIndex) => ({ ...view, shardIndex }));
}

/**
 * The matching documents in the order the coordinating node merges hits of equal score or sort values: by shard
 * index, then by doc ID within the shard (Lucene's TopDocs.merge tie-break).
 */
function matching(views: ShardView[], query: Query | undefined, q: string | undefined): Hit[] {
  const hits: Hit[] = [];
  for (const view of views) {
    for (const doc of view.docs) {
      const hit =
        q !== undefined ? matchesQueryString(q, doc.id, doc.source) : matches(query, doc.id, doc.source);
      if (hit) hits.push({ view, doc });
    }
  }
  return hits;
}

function totalHits(value: number, trackTotalHits: unknown): { value: number; relation: 'eq' | 'gte' } {
  if (trackTotalHits === true) return { value, relation: 'eq' };
  const limit = typeof trackTotalHits === 'number' ? trackTotalHits : TRACK_TOTAL_HITS_DEFAULT;
  return value > limit ? { value: limit, relation: 'gte' } : { value, relation: 'eq' };
}

function sortSpecs(sort: unknown): SortSpec[] {
  if (sort === undefined) return [];
  const list = Array.isArray(sort) ? sort : [sort];
  return list.map((entry) => {
    if (typeof entry === 'string') return { field: entry, descending: false };
    const [field, spec] = Object.entries((entry ?? {}) as Record<string, unknown>)[0] ?? [];
    if (field === undefined) throw parsingException('malformed sort format');
    const order = typeof spec === 'string' ? spec : (spec as { order?: string } | undefined)?.order;
    return { field, descending: order === 'desc' };
  });
}

/** A stable sort: hits of equal sort values keep the merge order (shard index, then doc ID). */
function sortHits(hits: Hit[], specs: SortSpec[]): Hit[] {
  if (specs.length === 0) return hits;
  return [...hits].sort((a, b) => {
    for (const spec of specs) {
      const diff = compare(fieldValue(a, spec.field), fieldValue(b, spec.field));
      if (diff !== 0) return spec.descending ? -diff : diff;
    }
    return 0;
  });
}

/**
 * `search_after`: the hits that sort strictly after the given sort values. Hits whose sort values all equal them
 * are skipped too, on every shard (SearchAfterBuilder builds the FieldDoc with doc ID Integer.MAX_VALUE): without
 * a unique tiebreaker, paging skips the tied hits of the other shards.
 */
function after(hits: Hit[], specs: SortSpec[], searchAfter: unknown): Hit[] {
  if (specs.length === 0) throw illegalArgument('Sort must contain at least one field.');
  const values = Array.isArray(searchAfter) ? searchAfter : [searchAfter];
  if (values.length !== specs.length)
    throw illegalArgument(`search_after has ${values.length} value(s) but sort has ${specs.length}.`);
  return hits.filter((hit) => {
    for (const [i, spec] of specs.entries()) {
      const diff = compare(fieldValue(hit, spec.field), values[i]);
      if (diff !== 0) return spec.descending ? diff < 0 : diff > 0;
    }
    return false;
  });
}

function fieldValue(hit: Hit, field: string): unknown {
  const { doc } = hit;
  // The shard index in the high 32 bits, the doc ID in the low ones (ShardDocSortField).
  if (field === SHARD_DOC) return hit.view.shardIndex * 2 ** 32 + doc.docId;
  if (field === '_doc') return doc.docId;
  if (field === '_seq_no') return doc.seqNo;
  if (field === '_id') return doc.id;
  const path = field.endsWith('.keyword') ? field.slice(0, -'.keyword'.length) : field;
  let value: unknown = doc.source;
  for (const part of path.split('.')) {
    value =
      value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}
