import { resolveIndices } from './ccr';
import type { EmulatedCluster } from './cluster';
import { flattenSettings, settingsToObject } from './cluster-settings';
import { EsError, illegalArgument, indexClosed, indexNotFound } from './errors';
import { acknowledged, ok, objectBody, type EsRequest, type Route } from './http-types';
import { WRITE_BLOCK_SETTING, type EmulatedIndex } from './index-state';
import { parseBooleanParam, simpleMatch, splitIndexExpression } from './params';

export const indexRoutes: Route[] = [
  {
    method: 'PUT',
    path: '/{index}',
    handler: (cluster, req) => {
      const body = objectBody(req);
      const index = cluster.createIndex(
        req.params.index as string,
        indexSettings(body.settings),
        mappingsOf(body.mappings),
      );
      return ok({ acknowledged: true, shards_acknowledged: true, index: index.name });
    },
  },
  {
    method: 'DELETE',
    path: '/{index}',
    handler: (cluster, req) => {
      const names = splitIndexExpression(req.params.index as string);
      if (names.some((name) => name.includes('*') || name === '_all')) {
        // action.destructive_requires_name defaults to true since 8.0.
        throw illegalArgument('Wildcard expressions or all indices are not allowed');
      }
      for (const name of names) cluster.index(name);
      for (const name of names) cluster.deleteIndex(name);
      return acknowledged();
    },
  },
  {
    method: 'HEAD',
    path: '/{index}',
    handler: (cluster, req) => {
      const exists = splitIndexExpression(req.params.index as string).every((name) =>
        name.includes('*') || name === '_all'
          ? [...cluster.indices.keys()].some((existing) =>
              simpleMatch(name === '_all' ? '*' : name, existing),
            )
          : cluster.indices.has(name),
      );
      return { status: exists ? 200 : 404 };
    },
  },
  {
    method: 'GET',
    path: '/{index}',
    handler: (cluster, req) => {
      const flat = parseBooleanParam(req.query.flat_settings, false);
      const entries = resolveIndices(cluster, req.params.index as string).map((index) => [
        index.name,
        {
          aliases: {},
          mappings: index.mappings,
          settings: settingsToObject(Object.entries(index.settings), flat),
        },
      ]);
      return ok(Object.fromEntries(entries));
    },
  },
  { method: 'GET', path: '/_settings', handler: (cluster, req) => getSettings(cluster, '_all', req) },
  {
    method: 'GET',
    path: '/{index}/_settings',
    handler: (cluster, req) => getSettings(cluster, req.params.index as string, req),
  },
  {
    method: 'PUT',
    path: '/{index}/_settings',
    handler: (cluster, req) => {
      const updates = settingsUpdate(objectBody(req).settings ?? objectBody(req));
      const targets = resolveIndices(cluster, req.params.index as string);
      for (const index of targets) {
        if (index.isOpen && updates.has('index.number_of_shards')) {
          throw illegalArgument(
            `Can't update non dynamic settings [[index.number_of_shards]] for open indices [[${index.name}/${index.uuid}]]`,
          );
        }
        // The setting is final (IndexMetadata.INDEX_NUMBER_OF_SHARDS_SETTING): closed indices cannot change it either.
        if (updates.has('index.number_of_shards'))
          throw illegalArgument('final index setting [index.number_of_shards], not updateable');
      }
      for (const index of targets) {
        for (const [key, value] of updates) {
          // null resets a setting to its default: it is removed.
          if (value === null) delete index.settings[key];
          else index.settings[key] = value;
        }
      }
      cluster.metadataVersion++;
      return acknowledged();
    },
  },
  {
    method: 'PUT',
    path: '/{index}/_block/{block}',
    handler: (cluster, req) => addIndexBlock(cluster, req.params.index as string, req.params.block as string),
  },
  {
    method: 'POST',
    path: '/{index}/_close',
    handler: (cluster, req) => {
      const closed: Record<string, unknown> = {};
      for (const index of targetIndices(cluster, req.params.index as string, 'open')) {
        if (index.isOpen) {
          index.state = 'close';
          index.primaryTerm++;
          cluster.metadataVersion++;
        }
        closed[index.name] = { closed: true };
      }
      return ok({ acknowledged: true, shards_acknowledged: true, indices: closed });
    },
  },
  {
    method: 'POST',
    path: '/{index}/_open',
    handler: (cluster, req) => {
      for (const index of targetIndices(cluster, req.params.index as string, 'close')) {
        if (!index.isOpen) {
          index.state = 'open';
          index.primaryTerm++;
          index.refresh();
          cluster.metadataVersion++;
        }
      }
      return ok({ acknowledged: true, shards_acknowledged: true });
    },
  },
  { method: 'POST', path: '/_refresh', handler: (cluster) => refresh(cluster, openIndices(cluster)) },
  { method: 'GET', path: '/_refresh', handler: (cluster) => refresh(cluster, openIndices(cluster)) },
  {
    method: 'POST',
    path: '/{index}/_refresh',
    handler: (cluster, req) => refresh(cluster, readableIndices(cluster, req.params.index as string)),
  },
  {
    method: 'GET',
    path: '/{index}/_refresh',
    handler: (cluster, req) => refresh(cluster, readableIndices(cluster, req.params.index as string)),
  },
];

/** `_shards` of a write or broadcast: every copy counts in total, assigned copies in successful. */
export function shardsHeader(cluster: EmulatedCluster, indices: EmulatedIndex[]): Record<string, number> {
  let total = 0;
  let successful = 0;
  for (const index of indices) {
    total += index.numberOfShards * (1 + index.numberOfReplicas);
    successful += index.numberOfShards * (1 + Math.min(index.numberOfReplicas, cluster.options.nodes - 1));
  }
  return { total, successful, failed: 0 };
}

/** `_shards` of a write: the copies of the one shard written to (primary and replicas), assigned ones in successful. */
export function writeShardsHeader(cluster: EmulatedCluster, index: EmulatedIndex): Record<string, number> {
  const total = 1 + index.numberOfReplicas;
  const successful = 1 + Math.min(index.numberOfReplicas, cluster.options.nodes - 1);
  return { total, successful, failed: 0 };
}

/**
 * Indices a read (search, count, refresh) targets: exact names must exist and be open; wildcards and `_all`
 * expand to open indices only (expand_wildcards=open).
 */
export function readableIndices(cluster: EmulatedCluster, expression: string): EmulatedIndex[] {
  const result = new Map<string, EmulatedIndex>();
  for (const part of splitIndexExpression(expression)) {
    if (part === '_all' || part.includes('*')) {
      for (const index of openIndices(cluster))
        if (simpleMatch(part === '_all' ? '*' : part, index.name)) result.set(index.name, index);
    } else {
      const index = cluster.indices.get(part);
      if (!index) throw indexNotFound(part);
      if (!index.isOpen) throw indexClosed(index.name, index.uuid);
      result.set(index.name, index);
    }
  }
  return [...result.values()];
}

export function openIndices(cluster: EmulatedCluster): EmulatedIndex[] {
  return [...cluster.indices.values()].filter((index) => index.isOpen);
}

/** Flat `index.*` settings from a create-index body (nested or dotted, with or without `index.`). */
export function indexSettings(raw: unknown): Map<string, string> {
  const settings = new Map<string, string>();
  for (const [key, value] of settingsUpdate(raw)) if (value !== null) settings.set(key, value);
  return settings;
}

/** Flat `index.*` settings of an update-settings body; `null` values (resets) are kept. */
function settingsUpdate(raw: unknown): Map<string, string | null> {
  const settings = new Map<string, string | null>();
  for (const [key, value] of flattenSettings(raw)) {
    const name = key.startsWith('index.') ? key : `index.${key}`;
    settings.set(name, value === null ? null : Array.isArray(value) ? value.join(',') : value);
  }
  const shards = settings.get('index.number_of_shards');
  if (shards !== undefined && shards !== null && !(Number(shards) >= 1)) {
    throw illegalArgument(
      `Failed to parse value [${shards}] for setting [index.number_of_shards] must be >= 1`,
    );
  }
  return settings;
}

/**
 * PUT /<index>/_block/write (MetadataIndexStateService.addIndexBlock): sets `index.blocks.write: true` and answers
 * once every shard accounts for the block (no write is in flight any more: the emulator's writes are synchronous).
 * An index that has the block already is left out: with none left, the answer is `shards_acknowledged: false` and
 * no `indices` (AddIndexBlockResponse.EMPTY). Exact names must exist; closed indices take the block too.
 */
function addIndexBlock(cluster: EmulatedCluster, expression: string, block: string) {
  if (block !== 'write') {
    throw illegalArgument(`the ES emulator emulates the write block only, not [${block}]`);
  }
  const names = splitIndexExpression(expression);
  if (names.some((name) => name.includes('*') || name === '_all')) {
    // action.destructive_requires_name defaults to true since 8.0.
    throw illegalArgument('Wildcard expressions or all indices are not allowed');
  }
  const targets = names.map((name) => cluster.index(name));
  const blocked = targets.filter((index) => !index.writeBlocked);
  for (const index of blocked) index.settings[WRITE_BLOCK_SETTING] = 'true';
  if (blocked.length === 0) return ok({ acknowledged: true, shards_acknowledged: false, indices: [] });
  cluster.metadataVersion++;
  return ok({
    acknowledged: true,
    shards_acknowledged: true,
    indices: blocked.map((index) => ({ name: index.name, blocked: true })),
  });
}

function getSettings(cluster: EmulatedCluster, expression: string, req: EsRequest) {
  const flat = parseBooleanParam(req.query.flat_settings, false);
  const entries = resolveIndices(cluster, expression).map((index) => [
    index.name,
    { settings: settingsToObject(Object.entries(index.settings), flat) },
  ]);
  return ok(Object.fromEntries(entries));
}

function targetIndices(
  cluster: EmulatedCluster,
  expression: string,
  wildcardState: 'open' | 'close',
): EmulatedIndex[] {
  const result = new Map<string, EmulatedIndex>();
  for (const part of splitIndexExpression(expression)) {
    if (part === '_all' || part.includes('*')) {
      for (const index of cluster.indices.values()) {
        if (index.state === wildcardState && simpleMatch(part === '_all' ? '*' : part, index.name))
          result.set(index.name, index);
      }
    } else {
      result.set(part, cluster.index(part));
    }
  }
  return [...result.values()];
}

function refresh(cluster: EmulatedCluster, indices: EmulatedIndex[]) {
  for (const index of indices) index.refresh();
  return ok({ _shards: shardsHeader(cluster, indices) });
}

function mappingsOf(raw: unknown): Record<string, unknown> {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw))
    return structuredClone(raw as Record<string, unknown>);
  if (raw !== undefined)
    throw new EsError(400, 'mapper_parsing_exception', 'Failed to parse mapping: mappings must be an object');
  return {};
}
