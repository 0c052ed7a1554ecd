import type { EmulatedCluster } from './cluster';
import { flattenSettings, settingsToObject, type FlatSettings, type SettingValue } from './cluster-settings';
import { clusterHealth } from './health';
import { ok, objectBody, type Route } from './http-types';
import { parseBooleanParam } from './params';
import { remoteClusterConfigs, remoteInfoEntry, validateRemoteSettings } from './remote';

/** `version` of `GET /` on an emulated 9.x cluster. */
export const ES_VERSION = {
  number: '9.0.0',
  build_flavor: 'default',
  build_type: 'docker',
  build_hash: '0000000000000000000000000000000000000000',
  build_date: '2025-04-08T00:00:00.000000000Z',
  build_snapshot: false,
  lucene_version: '10.1.0',
  minimum_wire_compatibility_version: '8.18.0',
  minimum_index_compatibility_version: '8.0.0',
};

/** `version` of `GET /` on an emulated 8.x cluster: the example of the 8.x Root API reference. */
export const ES8_VERSION = {
  number: '8.12.1',
  build_flavor: 'default',
  build_type: 'docker',
  build_hash: '6185ba65d27469afabc9bc951cded6c17c21e3f3',
  build_date: '2024-02-01T13:07:13.727175297Z',
  build_snapshot: false,
  lucene_version: '9.9.2',
  minimum_wire_compatibility_version: '7.17.0',
  minimum_index_compatibility_version: '7.0.0',
};

export const clusterRoutes: Route[] = [
  { method: 'GET', path: '/', handler: (cluster) => ok(rootInfo(cluster)) },
  { method: 'HEAD', path: '/', handler: () => ok(undefined) },
  {
    method: 'GET',
    path: '/_cluster/health',
    handler: (cluster, req) => clusterHealth(cluster, undefined, req.query),
  },
  {
    method: 'GET',
    path: '/_cluster/health/{index}',
    handler: (cluster, req) => clusterHealth(cluster, req.params.index, req.query),
  },
  {
    method: 'GET',
    path: '/_cluster/settings',
    handler: (cluster, req) => {
      const flat = parseBooleanParam(req.query.flat_settings, false);
      const body: Record<string, unknown> = {
        persistent: settingsToObject(cluster.settings.persistent, flat),
        transient: settingsToObject(cluster.settings.transient, flat),
      };
      if (parseBooleanParam(req.query.include_defaults, false)) body.defaults = {};
      return ok(body);
    },
  },
  {
    method: 'PUT',
    path: '/_cluster/settings',
    handler: (cluster, req) => {
      const body = objectBody(req);
      const persistent = flattenSettings(body.persistent);
      const transient = flattenSettings(body.transient);
      validateRemoteSettings(merged(merged(cluster.settings.effective(), persistent), transient));
      const flat = parseBooleanParam(req.query.flat_settings, false);
      return ok({
        acknowledged: true,
        persistent: settingsToObject(apply(cluster.settings.persistent, persistent), flat),
        transient: settingsToObject(apply(cluster.settings.transient, transient), flat),
      });
    },
  },
  {
    // Only the `indices.search.open_contexts` count of the nodes stats (the open points in time and scrolls).
    method: 'GET',
    path: '/_nodes/stats/indices/search',
    handler: (cluster) =>
      ok({
        _nodes: { total: 1, successful: 1, failed: 0 },
        cluster_name: cluster.name,
        nodes: {
          [cluster.nodeId]: {
            name: cluster.nodeName,
            indices: { search: { open_contexts: cluster.pits.openContexts } },
          },
        },
      }),
  },
  {
    method: 'GET',
    path: '/_remote/info',
    handler: (cluster) => {
      const info: Record<string, unknown> = {};
      for (const [alias, config] of remoteClusterConfigs(cluster.settings.effective())) {
        const connection = cluster.connectToRemote(alias);
        info[alias] = remoteInfoEntry(config, connection.ok ? connection.cluster.nodeCount : 0);
      }
      return ok(info);
    },
  },
];

function rootInfo(cluster: EmulatedCluster): Record<string, unknown> {
  return {
    name: cluster.nodeName,
    cluster_name: cluster.name,
    cluster_uuid: cluster.uuid,
    version: cluster.majorVersion === 8 ? ES8_VERSION : ES_VERSION,
    tagline: 'You Know, for Search',
  };
}

/** Applies an update (null removes a key) and returns the values that were set, as the response echoes them. */
function apply(target: FlatSettings, update: Map<string, SettingValue | null>): [string, SettingValue][] {
  const set: [string, SettingValue][] = [];
  for (const [key, value] of update) {
    if (value === null) {
      for (const existing of [...target.keys()])
        if (existing === key || matchesWildcard(key, existing)) target.delete(existing);
    } else {
      target.set(key, value);
      set.push([key, value]);
    }
  }
  return set;
}

function merged(base: FlatSettings, update: Map<string, SettingValue | null>): FlatSettings {
  const copy: FlatSettings = new Map(base);
  apply(copy, update);
  return copy;
}

/** Setting a key like `cluster.remote.a.*` to null resets every setting under it. */
function matchesWildcard(pattern: string, key: string): boolean {
  return pattern.endsWith('*') && key.startsWith(pattern.slice(0, -1));
}
