import { openIndices, readableIndices } from './api-indices';
import type { EmulatedCluster } from './cluster';
import { illegalArgument, parsingException } from './errors';
import { ok, objectBody, type EsRequest, type EsResponse, type Route } from './http-types';
import type { EmulatedIndex, StoredDoc } from './index-state';
import { parseIntParam } from './params';
import { matches, matchesQueryString, type Query } from './query';

/** Search and count see the documents as of each index's last refresh, as Lucene searchers do. */
const TRACK_TOTAL_HITS_DEFAULT = 10_000;

interface Hit {
  index: EmulatedIndex;
  shard: number;
  doc: StoredDoc;
}

export const searchRoutes: Route[] = ['GET', 'POST'].flatMap((method) => [
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
]);

function search(cluster: EmulatedCluster, expression: string | undefined, req: EsRequest): EsResponse {
  const started = Date.now();
  const body = objectBody(req);
  const indices = targets(cluster, expression);
  const sortedHits = sortHits(matching(indices, body.query as Query | undefined, req.query.q), body.sort);
  const hits = body.search_after === undefined ? sortedHits : after(sortedHits, body.sort, body.search_after);
  const withSeqNo = body.seq_no_primary_term === true || req.query.seq_no_primary_term === 'true';
  const from = typeof body.from === 'number' ? body.from : parseIntParam(req.query.from, 0, 'from');
  const size = typeof body.size === 'number' ? body.size : parseIntParam(req.query.size, 10, 'size');
  const page = hits.slice(from, from + size);
  const sorted = body.sort !== undefined;
  return ok({
    took: Date.now() - started,
    timed_out: false,
    _shards: broadcastShards(indices),
    hits: {
      total: totalHits(hits.length, body.track_total_hits),
      max_score: sorted || page.length === 0 ? null : 1.0,
      hits: page.map(({ index, doc }) => ({
        _index: index.name,
        _id: doc.id,
        _score: sorted ? null : 1.0,
        _source: doc.source,
        ...(withSeqNo ? { _seq_no: doc.seqNo, _primary_term: doc.primaryTerm } : {}),
        ...(sorted ? { sort: sortValues(doc, body.sort) } : {}),
      })),
    },
  });
}

function count(cluster: EmulatedCluster, expression: string | undefined, req: EsRequest): EsResponse {
  const indices = targets(cluster, expression);
  const hits = matching(indices, objectBody(req).query as Query | undefined, req.query.q);
  return ok({ count: hits.length, _shards: broadcastShards(indices) });
}

function targets(cluster: EmulatedCluster, expression: string | undefined): EmulatedIndex[] {
  return expression === undefined ? openIndices(cluster) : readableIndices(cluster, expression);
}

/**
 * The matching documents in the order the coordinating node merges equal-scoring hits: by shard (indices by
 * name, then shard number), then by doc ID within the shard.
 */
function matching(indices: EmulatedIndex[], query: Query | undefined, q: string | undefined): Hit[] {
  const hits: Hit[] = [];
  for (const index of [...indices].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const shard of index.shards) {
      for (const doc of shard.searchableInDocIdOrder()) {
        const hit =
          q !== undefined ? matchesQueryString(q, doc.id, doc.source) : matches(query, doc.id, doc.source);
        if (hit) hits.push({ index, shard: shard.id, doc });
      }
    }
  }
  return hits;
}

function totalHits(value: number, trackTotalHits: unknown): { value: number; relation: 'eq' | 'gte' } {
  if (trackTotalHits === true) return { value, relation: 'eq' };
  const limit = typeof trackTotalHits === 'number' ? trackTotalHits : TRACK_TOTAL_HITS_DEFAULT;
  return value > limit ? { value: limit, relation: 'gte' } : { value, relation: 'eq' };
}

function broadcastShards(indices: EmulatedIndex[]): Record<string, number> {
  const total = indices.reduce((sum, index) => sum + index.numberOfShards, 0);
  return { total, successful: total, skipped: 0, failed: 0 };
}

type SortSpec = { field: string; descending: boolean };

function sortSpecs(sort: unknown): SortSpec[] {
  const list = Array.isArray(sort) ? sort : [sort];
  return list.map((entry) => {
    if (typeof entry === 'string') return { field: entry, descending: false };
    const [field, spec] = Object.entries((entry ?? {}) as Record<string, unknown>)[0] ?? [];
    if (field === undefined) throw parsingException('malformed sort format');
    const order = typeof spec === 'string' ? spec : (spec as { order?: string } | undefined)?.order;
    return { field, descending: order === 'desc' };
  });
}

function sortHits(hits: Hit[], sort: unknown): Hit[] {
  if (sort === undefined) return hits;
  const specs = sortSpecs(sort);
  return [...hits].sort((a, b) => {
    for (const spec of specs) {
      const diff = compare(fieldValue(a.doc, spec.field), fieldValue(b.doc, spec.field));
      if (diff !== 0) return spec.descending ? -diff : diff;
    }
    return 0;
  });
}

/** `search_after`: the hits that sort strictly after the given sort values (the last hit of the previous page). */
function after(hits: Hit[], sort: unknown, searchAfter: unknown): Hit[] {
  if (sort === undefined) throw illegalArgument('Sort must contain at least one field.');
  const specs = sortSpecs(sort);
  const values = Array.isArray(searchAfter) ? searchAfter : [searchAfter];
  if (values.length !== specs.length)
    throw illegalArgument(`search_after has ${values.length} value(s) but sort has ${specs.length}.`);
  return hits.filter(({ doc }) => {
    for (const [i, spec] of specs.entries()) {
      const diff = compare(fieldValue(doc, spec.field), values[i]);
      if (diff !== 0) return spec.descending ? diff < 0 : diff > 0;
    }
    return false;
  });
}

function sortValues(doc: StoredDoc, sort: unknown): unknown[] {
  return sortSpecs(sort).map((spec) => fieldValue(doc, spec.field) ?? null);
}

function fieldValue(doc: StoredDoc, field: string): unknown {
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
