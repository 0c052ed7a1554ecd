import type { EmulatedCluster } from './cluster';
import { illegalArgument } from './errors';
import { ok, type EsRequest, type Route } from './http-types';
import type { EmulatedIndex } from './index-state';
import { simpleMatch, splitIndexExpression } from './params';

/**
 * GET /_cat/indices[/<index>] (RestIndicesAction), answered as with `format=json`: one object per index with
 * string values, `null` for the document counts of a closed index. Exact names must exist (404); wildcards
 * follow `expand_wildcards` (default `all`, so closed indices are listed with status `close`); `h` selects
 * columns; rows are sorted by index name.
 */
export const catRoutes: Route[] = [
  { method: 'GET', path: '/_cat/indices', handler: (cluster, req) => catIndices(cluster, '_all', req) },
  {
    method: 'GET',
    path: '/_cat/indices/{index}',
    handler: (cluster, req) => catIndices(cluster, req.params.index as string, req),
  },
];

const COLUMNS = [
  'health',
  'status',
  'index',
  'uuid',
  'pri',
  'rep',
  'docs.count',
  'docs.deleted',
  'store.size',
  'pri.store.size',
  'dataset.size',
] as const;
type Column = (typeof COLUMNS)[number];

function catIndices(cluster: EmulatedCluster, expression: string, req: EsRequest) {
  const states = expandWildcards(req.query.expand_wildcards);
  const selected = new Map<string, EmulatedIndex>();
  for (const part of splitIndexExpression(expression)) {
    if (part === '_all' || part.includes('*')) {
      for (const index of cluster.indices.values()) {
        if (states.has(index.state) && simpleMatch(part === '_all' ? '*' : part, index.name))
          selected.set(index.name, index);
      }
    } else {
      selected.set(part, cluster.index(part));
    }
  }
  const columns = selectColumns(req.query.h);
  const rows = [...selected.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((index) => {
      const values = row(cluster, index);
      return Object.fromEntries(columns.map((c) => [c, values[c]]));
    });
  return ok(rows);
}

function row(cluster: EmulatedCluster, index: EmulatedIndex): Record<Column, string | null> {
  const assignedReplicas = Math.min(index.numberOfReplicas, cluster.options.nodes - 1);
  const health = !index.primaryActive
    ? 'red'
    : assignedReplicas < index.numberOfReplicas
      ? 'yellow'
      : 'green';
  const open = index.isOpen;
  const size = `${Math.max(225, JSON.stringify(index.allDocs().map((d) => d.source)).length)}b`;
  return {
    health,
    status: open ? 'open' : 'close',
    index: index.name,
    uuid: index.uuid,
    pri: String(index.numberOfShards),
    rep: String(index.numberOfReplicas),
    'docs.count': open ? String(index.docCount) : null,
    'docs.deleted': open ? '0' : null,
    'store.size': open ? size : null,
    'pri.store.size': open ? size : null,
    'dataset.size': open ? size : null,
  };
}

function selectColumns(h: string | undefined): Column[] {
  if (h === undefined || h === '') return [...COLUMNS];
  return h.split(',').map((name) => {
    const column = name.trim();
    if (!(COLUMNS as readonly string[]).includes(column)) {
      throw illegalArgument(`header name [${column}] does not exist in the emulator's _cat/indices`);
    }
    return column as Column;
  });
}

function expandWildcards(raw: string | undefined): Set<'open' | 'close'> {
  const states = new Set<'open' | 'close'>();
  for (const value of (raw ?? 'all').split(',')) {
    if (value === 'all') {
      states.add('open');
      states.add('close');
    } else if (value === 'open') states.add('open');
    else if (value === 'closed') states.add('close');
    else if (value !== 'none' && value !== 'hidden') {
      throw illegalArgument(
        `No enum constant org.elasticsearch.action.support.IndicesOptions.WildcardStates.${value.toUpperCase()}`,
      );
    }
  }
  return states;
}
