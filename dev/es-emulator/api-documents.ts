import { writeShardsHeader } from './api-indices';
import type { EmulatedCluster } from './cluster';
import {
  documentMissing,
  EsError,
  followerWriteRejected,
  indexClosed,
  indexNotFound,
  indexWriteBlocked,
  validationFailed,
  versionConflict,
  xContentParseException,
} from './errors';
import { ok, type EsRequest, type EsResponse, type Route } from './http-types';
import { newUuid, type EmulatedIndex, type Source, type WriteResult } from './index-state';

type WriteAction = 'index' | 'create' | 'delete' | 'update';

interface WriteItem {
  action: WriteAction;
  index: string;
  id: string | undefined;
  /** Custom routing (`routing` parameter or bulk metadata); the shard is chosen by `_id` without it. */
  routing: string | undefined;
  source: unknown;
}

export const documentRoutes: Route[] = [
  ...['PUT', 'POST'].map((method) => ({
    method,
    path: '/{index}/_doc/{id}',
    handler: (cluster: EmulatedCluster, req: EsRequest) =>
      singleWrite(cluster, req, req.query.op_type === 'create' ? 'create' : 'index'),
  })),
  { method: 'POST', path: '/{index}/_doc', handler: (cluster, req) => singleWrite(cluster, req, 'index') },
  ...['PUT', 'POST'].map((method) => ({
    method,
    path: '/{index}/_create/{id}',
    handler: (cluster: EmulatedCluster, req: EsRequest) => singleWrite(cluster, req, 'create'),
  })),
  {
    method: 'POST',
    path: '/{index}/_update/{id}',
    handler: (cluster, req) => singleWrite(cluster, req, 'update'),
  },
  {
    method: 'DELETE',
    path: '/{index}/_doc/{id}',
    handler: (cluster, req) => singleWrite(cluster, req, 'delete'),
  },
  { method: 'GET', path: '/{index}/_doc/{id}', handler: (cluster, req) => getDocument(cluster, req, true) },
  { method: 'HEAD', path: '/{index}/_doc/{id}', handler: (cluster, req) => getDocument(cluster, req, false) },
  ...['POST', 'PUT'].flatMap((method) => [
    {
      method,
      path: '/_bulk',
      handler: (cluster: EmulatedCluster, req: EsRequest) => bulk(cluster, req, undefined),
    },
    {
      method,
      path: '/{index}/_bulk',
      handler: (cluster: EmulatedCluster, req: EsRequest) => bulk(cluster, req, req.params.index),
    },
  ]),
];

function singleWrite(cluster: EmulatedCluster, req: EsRequest, action: WriteAction): EsResponse {
  const item: WriteItem = {
    action,
    index: req.params.index as string,
    id: req.params.id,
    routing: req.query.routing,
    source: req.body,
  };
  if (action !== 'delete' && (req.body === undefined || typeof req.body !== 'object' || req.body === null)) {
    throw validationFailed(['source is missing']);
  }
  const { index, result } = write(cluster, item);
  const refreshed = applyRefreshParam(req.query.refresh, [index]);
  const body = writeResponse(cluster, index, result);
  if (refreshed) body.forced_refresh = true;
  return ok(body, statusOf(result));
}

function getDocument(cluster: EmulatedCluster, req: EsRequest, withBody: boolean): EsResponse {
  const index = cluster.index(req.params.index as string);
  if (!index.isOpen) throw indexClosed(index.name, index.uuid);
  const id = req.params.id as string;
  const doc = index.document(id, req.query.routing);
  if (!withBody) return { status: doc ? 200 : 404 };
  if (!doc) return ok({ _index: index.name, _id: id, found: false }, 404);
  return ok({
    _index: index.name,
    _id: id,
    _version: doc.version,
    _seq_no: doc.seqNo,
    _primary_term: doc.primaryTerm,
    found: true,
    _source: doc.source,
  });
}

function bulk(cluster: EmulatedCluster, req: EsRequest, defaultIndex: string | undefined): EsResponse {
  const started = Date.now();
  const items = parseBulk(req.rawBody, defaultIndex);
  const touched = new Set<EmulatedIndex>();
  const results = items.map((item) => {
    try {
      const { index, result } = write(cluster, item);
      touched.add(index);
      return { [item.action]: { ...writeResponse(cluster, index, result), status: statusOf(result) } };
    } catch (error) {
      if (!(error instanceof EsError)) throw error;
      return {
        [item.action]: {
          _index: item.index,
          _id: item.id ?? null,
          status: error.status,
          error: error.toCause(),
        },
      };
    }
  });
  applyRefreshParam(req.query.refresh, [...touched]);
  const errors = results.some((r) => Object.values(r).some((v) => 'error' in v));
  return ok({ errors, took: Date.now() - started, items: results });
}

/**
 * One write through the primary of the document's shard: auto-creates the index, refuses closed, write-blocked and
 * follower indices.
 */
function write(cluster: EmulatedCluster, item: WriteItem): { index: EmulatedIndex; result: WriteResult } {
  let index = cluster.indices.get(item.index);
  if (!index) {
    // Delete requests do not auto-create the index; index, create and update requests do.
    if (item.action === 'delete') throw indexNotFound(item.index);
    index = cluster.createIndex(item.index, new Map());
  }
  if (!index.isOpen) throw indexClosed(index.name, index.uuid);
  // The shard bulk action checks the index's WRITE-level blocks before the engine sees the operation.
  if (index.writeBlocked) throw indexWriteBlocked(index.name);
  if (index.isFollower) throw followerWriteRejected();
  const id = item.id ?? newUuid(20);
  const { routing } = item;
  const shard = String(index.shardFor(id, routing).id);
  switch (item.action) {
    case 'delete':
      return { index, result: index.deleteOnPrimary(id, routing) };
    case 'create': {
      const existing = index.document(id, routing);
      if (existing) throw versionConflict(index.name, index.uuid, shard, id, existing.version);
      return { index, result: index.indexOnPrimary(id, item.source as Source, routing) };
    }
    case 'update': {
      const existing = index.document(id, routing);
      const spec = (item.source ?? {}) as { doc?: Source; doc_as_upsert?: boolean; upsert?: Source };
      if (!existing) {
        const upsert = spec.doc_as_upsert ? spec.doc : spec.upsert;
        if (!upsert) throw documentMissing(index.name, index.uuid, shard, id);
        return { index, result: index.indexOnPrimary(id, upsert, routing) };
      }
      return {
        index,
        result: index.indexOnPrimary(id, { ...existing.source, ...(spec.doc ?? {}) }, routing),
      };
    }
    default:
      return { index, result: index.indexOnPrimary(id, item.source as Source, routing) };
  }
}

function writeResponse(
  cluster: EmulatedCluster,
  index: EmulatedIndex,
  result: WriteResult,
): Record<string, unknown> {
  return {
    _index: index.name,
    _id: result.id,
    _version: result.version,
    result: result.result,
    _shards: writeShardsHeader(cluster, index),
    _seq_no: result.seqNo,
    _primary_term: result.primaryTerm,
  };
}

function statusOf(result: WriteResult): number {
  if (result.result === 'created') return 201;
  if (result.result === 'not_found') return 404;
  return 200;
}

/** `refresh=true` refreshes now (and the response says forced_refresh); `wait_for` waits for a refresh. */
function applyRefreshParam(refresh: string | undefined, indices: EmulatedIndex[]): boolean {
  if (refresh === undefined || refresh === 'false') return false;
  for (const index of indices) index.refresh();
  return refresh === '' || refresh === 'true';
}

function parseBulk(raw: string, defaultIndex: string | undefined): WriteItem[] {
  const lines = raw.split('\n').filter((line) => line.trim() !== '');
  const items: WriteItem[] = [];
  const missingIndex: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const actionLine = parseLine(lines[i] as string, i);
    const [action, meta] = Object.entries(actionLine)[0] ?? [];
    if (action !== 'index' && action !== 'create' && action !== 'delete' && action !== 'update') {
      throw new EsError(
        400,
        'illegal_argument_exception',
        `Malformed action/metadata line [${i + 1}], expected one of [create, delete, index, update] but found [${action}]`,
      );
    }
    const metadata = (meta ?? {}) as { _index?: string; _id?: string; routing?: string };
    const index = metadata._index ?? defaultIndex;
    if (index === undefined) missingIndex.push('index is missing');
    let source: unknown;
    if (action !== 'delete') {
      i++;
      if (i >= lines.length)
        throw new EsError(
          400,
          'illegal_argument_exception',
          'The bulk request must be terminated by a newline [\\n]',
        );
      source = parseLine(lines[i] as string, i);
    }
    items.push({ action, index: index ?? '', id: metadata._id, routing: metadata.routing, source });
  }
  if (missingIndex.length > 0) throw validationFailed(missingIndex);
  if (items.length === 0) throw validationFailed(['no requests added']);
  return items;
}

function parseLine(line: string, lineNumber: number): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw xContentParseException(`[${lineNumber + 1}:1] Unexpected character in bulk line`);
  }
}
