import path from 'node:path';
import { durationMs } from '../../config/duration';
import type { LoadedRunbook } from '../../config/load';
import type { TrafficConfig } from '../../config/schema';
import type { RunbookRegistry } from '../runbooks';
import { trafficFailure } from './errors';
import { HaproxyTrafficProvider } from './haproxy-nodes';
import { HaproxySocketClient, type HaproxyRuntime } from './haproxy-runtime';
import { OvhClient, type OvhClientOptions } from './ovh-client';
import type { PollSettings } from './poll';
import { OvhDnsTrafficProvider } from './ovh-dns';
import { OvhCloudLbTrafficProvider } from './ovh-cloud-lb';
import { OvhIplbTrafficProvider } from './ovh-iplb';
import type { TrafficProvider, TrafficProviderKind } from './provider';

/** Builds the provider of one pair from its runbook's traffic section. */
export type TrafficProviderFactory<K extends TrafficProviderKind = TrafficProviderKind> = (
  config: Extract<TrafficConfig, { provider: K }>,
  loaded: LoadedRunbook,
) => TrafficProvider;

export type TrafficProviderFactories = { [K in TrafficProviderKind]?: TrafficProviderFactory<K> };

/** The runbook's HAProxy nodes: `socket` or `sockets`, with paths made absolute from the runbook's folder. */
export function haproxyNodes(
  config: Extract<TrafficConfig, { provider: 'haproxy' }>,
  loaded: LoadedRunbook,
): { socket: string; stateFile?: string }[] {
  const resolve = (p: string) => path.resolve(path.dirname(loaded.file), p);
  const entries = config.sockets ?? (config.socket === undefined ? [] : [config.socket]);
  return entries.map((e) =>
    typeof e === 'string'
      ? { socket: resolve(e) }
      : { socket: resolve(e.socket), ...(e.stateFile ? { stateFile: resolve(e.stateFile) } : {}) },
  );
}

/**
 * The HAProxy provider over every node's runtime API socket; `runtime` replaces the socket clients (tests inject
 * faults): one for every node, or one per socket.
 */
export function haproxyProvider(
  config: Extract<TrafficConfig, { provider: 'haproxy' }>,
  loaded: LoadedRunbook,
  runtime?: HaproxyRuntime | ((socket: string) => HaproxyRuntime),
): HaproxyTrafficProvider {
  const servers = Object.fromEntries(
    Object.entries(config.servers).map(([site, s]) => [site, typeof s === 'string' ? [s] : s]),
  );
  const runtimeOf = (socket: string) =>
    runtime === undefined
      ? new HaproxySocketClient(socket)
      : typeof runtime === 'function'
        ? runtime(socket)
        : runtime;
  return new HaproxyTrafficProvider(
    {
      backend: config.backend,
      servers,
      inactiveState: config.inactiveState,
      healthWaitMs: durationMs(config.healthWait),
    },
    haproxyNodes(config, loaded).map((node) => ({ ...node, runtime: runtimeOf(node.socket) })),
  );
}

/** Knobs of the OVH providers that are not in the runbook (tests shorten them). */
export interface OvhProviderOptions extends OvhClientOptions {
  poll?: PollSettings;
}

/**
 * The OVH IP Load Balancer provider, with its own node-ovh client (one per pair; credentials read from the runbook's
 * secret references at the first call).
 */
export function ovhIplbProvider(
  config: Extract<TrafficConfig, { provider: 'ovh-iplb' }>,
  loaded: LoadedRunbook,
  options: OvhProviderOptions = {},
): OvhIplbTrafficProvider {
  return new OvhIplbTrafficProvider(
    {
      serviceName: config.serviceName,
      protocol: config.protocol,
      frontendId: config.frontendId,
      mode: config.mode,
      farms: config.farms,
      servers: config.servers,
      refreshTimeoutMs: durationMs(config.refreshTimeout),
      poll: options.poll,
    },
    new OvhClient(config.ovh, path.dirname(loaded.file), options),
  );
}

/** The OVH DNS provider, with its own node-ovh client (one per pair). */
export function ovhDnsProvider(
  config: Extract<TrafficConfig, { provider: 'ovh-dns' }>,
  loaded: LoadedRunbook,
  options: OvhProviderOptions = {},
): OvhDnsTrafficProvider {
  return new OvhDnsTrafficProvider(
    {
      zone: config.zone,
      subDomain: config.subDomain,
      fieldType: config.fieldType,
      targets: config.targets,
      ttl: config.ttl,
      refreshTimeoutMs: durationMs(config.refreshTimeout),
      poll: options.poll,
    },
    new OvhClient(config.ovh, path.dirname(loaded.file), options),
  );
}

/** The OVH Public Cloud Load Balancer provider, with its own node-ovh client (one per pair). */
export function ovhCloudLbProvider(
  config: Extract<TrafficConfig, { provider: 'ovh-cloud-lb' }>,
  loaded: LoadedRunbook,
  options: OvhProviderOptions = {},
): OvhCloudLbTrafficProvider {
  return new OvhCloudLbTrafficProvider(
    {
      serviceName: config.serviceName,
      regionName: config.regionName,
      loadBalancerId: config.loadBalancerId,
      listenerId: config.listenerId,
      pools: config.pools,
      restoreWeight: config.restoreWeight,
      pendingTimeoutMs: durationMs(config.pendingTimeout),
      poll: options.poll,
    },
    new OvhClient(config.ovh, path.dirname(loaded.file), options),
  );
}

/** Providers available in this worker. */
export const DEFAULT_TRAFFIC_FACTORIES: TrafficProviderFactories = {
  haproxy: (config, loaded) => haproxyProvider(config, loaded),
  'ovh-iplb': (config, loaded) => ovhIplbProvider(config, loaded),
  'ovh-dns': (config, loaded) => ovhDnsProvider(config, loaded),
  'ovh-cloud-lb': (config, loaded) => ovhCloudLbProvider(config, loaded),
};

/** One traffic provider per DR pair, built on first use from the runbook and shared by the worker's activities. */
export class TrafficProviders {
  private readonly byPair = new Map<string, TrafficProvider>();

  constructor(
    private readonly runbooks: RunbookRegistry,
    private readonly factories: TrafficProviderFactories = DEFAULT_TRAFFIC_FACTORIES,
  ) {}

  get(pair: string): TrafficProvider {
    let provider = this.byPair.get(pair);
    if (provider) return provider;
    const loaded = this.runbooks.get(pair);
    const config = loaded.runbook.traffic;
    if (!config)
      throw trafficFailure('TrafficNotConfigured', `pair "${pair}" has no traffic section in its runbook`);
    const factory = this.factories[config.provider] as TrafficProviderFactory | undefined;
    if (!factory) {
      throw trafficFailure(
        'TrafficProviderNotImplemented',
        `pair "${pair}": traffic provider "${config.provider}" is not available in this worker (available: ${
          Object.keys(this.factories).join(', ') || 'none'
        })`,
      );
    }
    provider = factory(config, loaded);
    this.byPair.set(pair, provider);
    return provider;
  }

  async close(): Promise<void> {
    await Promise.all([...this.byPair.values()].map((p) => p.close?.()));
    this.byPair.clear();
  }
}
