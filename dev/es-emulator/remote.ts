import type { FlatSettings, SettingValue } from './cluster-settings';
import { connectTransport, EsError, illegalArgument, noSuchRemoteCluster } from './errors';

/**
 * Remote cluster connections, configured by `cluster.remote.<alias>.*` settings on the cluster that holds
 * the connection (the follower). Seeds and proxy addresses are resolved in-process against the emulated
 * clusters' addresses: one emulated cluster listens on one port, used for both HTTP and "transport".
 */
export interface RemoteClusterConfig {
  alias: string;
  mode: 'sniff' | 'proxy';
  seeds: string[];
  proxyAddress: string | undefined;
  serverName: string | undefined;
  skipUnavailable: boolean;
  proxySocketConnections: number;
}

/** What a cluster needs from the emulator to reach another one. */
export interface Network {
  clusterAt(address: string): RemoteEndpoint | undefined;
  isLinkCut(a: string, b: string): boolean;
}

export interface RemoteEndpoint {
  readonly name: string;
  readonly isDown: boolean;
  readonly nodeCount: number;
}

export type RemoteConnection<T extends RemoteEndpoint> =
  { ok: true; cluster: T; address: string } | { ok: false; error: EsError; address: string };

const REMOTE_KEY = /^cluster\.remote\.([^.]+)\.(.+)$/;

export function remoteClusterConfigs(settings: FlatSettings): Map<string, RemoteClusterConfig> {
  const byAlias = settingsByAlias(settings);
  const configs = new Map<string, RemoteClusterConfig>();
  for (const [alias, props] of byAlias) {
    const config = toConfig(alias, props);
    if (config.mode === 'sniff' ? config.seeds.length > 0 : config.proxyAddress !== undefined)
      configs.set(alias, config);
  }
  return configs;
}

/** RemoteConnectionStrategy validation: each mode's settings require that mode. */
export function validateRemoteSettings(settings: FlatSettings): void {
  const byAlias = settingsByAlias(settings);
  const sniffOnly = ['seeds', 'node_connections'];
  const proxyOnly = ['proxy_address', 'proxy_socket_connections', 'server_name'];
  for (const [alias, props] of byAlias) {
    const mode = String(props.get('mode') ?? 'sniff').toLowerCase();
    if (mode !== 'sniff' && mode !== 'proxy') {
      throw illegalArgument(
        `No enum constant org.elasticsearch.transport.RemoteConnectionStrategy.ConnectionStrategy.${mode.toUpperCase()}`,
      );
    }
    const misplaced = mode === 'sniff' ? proxyOnly : sniffOnly;
    for (const property of misplaced) {
      if (props.has(property)) {
        const required = mode === 'sniff' ? 'PROXY' : 'SNIFF';
        throw illegalArgument(
          `Setting "cluster.remote.${alias}.${property}" cannot be used with the configured "cluster.remote.${alias}.mode" [required=${required}, configured=${mode.toUpperCase()}]`,
        );
      }
    }
  }
}

/**
 * Opens a "connection" from `local` to the remote alias. Throws NoSuchRemoteClusterException when the alias
 * is not configured; returns a connect_transport_exception when no address answers.
 */
export function connectToRemote<T extends RemoteEndpoint>(
  local: RemoteEndpoint,
  settings: FlatSettings,
  alias: string,
  network: Network,
): RemoteConnection<T> {
  const config = remoteClusterConfigs(settings).get(alias);
  if (!config) throw noSuchRemoteCluster(alias);
  const addresses = config.mode === 'proxy' ? [config.proxyAddress as string] : config.seeds;
  for (const address of addresses) {
    const target = network.clusterAt(address);
    if (target && !target.isDown && !network.isLinkCut(local.name, target.name)) {
      return { ok: true, cluster: target as T, address };
    }
  }
  const address = addresses[0] ?? '';
  return { ok: false, error: connectTransport(address), address };
}

/** One entry of `GET /_remote/info`, following RemoteConnectionInfo and the mode infos' toXContent. */
export function remoteInfoEntry(
  config: RemoteClusterConfig,
  connectedNodes: number,
): Record<string, unknown> {
  const connected = connectedNodes > 0;
  const common = { connected, mode: config.mode };
  const tail = { initial_connect_timeout: '30s', skip_unavailable: config.skipUnavailable };
  if (config.mode === 'proxy') {
    return {
      ...common,
      proxy_address: config.proxyAddress,
      server_name: config.serverName ?? '',
      num_proxy_sockets_connected: connected ? config.proxySocketConnections : 0,
      max_proxy_socket_connections: config.proxySocketConnections,
      ...tail,
    };
  }
  return {
    ...common,
    seeds: config.seeds,
    // Sniff mode connects to at most max_connections_per_cluster gateway nodes.
    num_nodes_connected: Math.min(connectedNodes, 3),
    max_connections_per_cluster: 3,
    ...tail,
  };
}

function settingsByAlias(settings: FlatSettings): Map<string, Map<string, SettingValue>> {
  const byAlias = new Map<string, Map<string, SettingValue>>();
  for (const [key, value] of settings) {
    const match = REMOTE_KEY.exec(key);
    if (!match) continue;
    const [, alias, property] = match as unknown as [string, string, string];
    const props = byAlias.get(alias) ?? new Map<string, SettingValue>();
    props.set(property, value);
    byAlias.set(alias, props);
  }
  return byAlias;
}

function toConfig(alias: string, props: Map<string, SettingValue>): RemoteClusterConfig {
  const seeds = props.get('seeds');
  const proxyAddress = props.get('proxy_address');
  const serverName = props.get('server_name');
  return {
    alias,
    mode: String(props.get('mode') ?? 'sniff').toLowerCase() === 'proxy' ? 'proxy' : 'sniff',
    seeds: seeds === undefined ? [] : Array.isArray(seeds) ? seeds : [seeds],
    proxyAddress: proxyAddress === undefined ? undefined : String(proxyAddress),
    serverName: serverName === undefined ? undefined : String(serverName),
    // skip_unavailable defaults to true since 8.15 (elasticsearch PR #105792).
    skipUnavailable: String(props.get('skip_unavailable') ?? 'true') === 'true',
    proxySocketConnections: Number(props.get('proxy_socket_connections') ?? '18'),
  };
}
