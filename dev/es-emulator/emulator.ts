import { EmulatedCluster, noFaults, type EsMajorVersion } from './cluster';
import { EsError } from './errors';
import {
  applyFaultRequest,
  FaultRequestError,
  type FaultController,
  type FaultRequest,
  type FaultState,
  type HealthFault,
} from './faults';
import type { EsResponse } from './http-types';
import type { Network } from './remote';
import {
  adminRequestHandler,
  clusterRequestHandler,
  Listener,
  type AdminHandler,
  type EsEmulatorTls,
} from './server';

export interface EsEmulatorClusterOptions {
  name: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Number of data nodes the cluster reports; replicas need more than one (default 1, like a single-node ES). */
  nodes?: number;
  /** The Elasticsearch major version emulated (default 9): `GET /` and the `compatible-with` values accepted. */
  version?: EsMajorVersion;
}

export interface EsEmulatorOptions {
  clusters: EsEmulatorClusterOptions[];
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** Time between a follower reading leader operations and writing them to its shard (default 0). */
  replicationDelayMs?: number;
  /** Period of the background work: refreshes, shard follow tasks, auto-follow (default 10 ms). */
  tickIntervalMs?: number;
  /** Serve each cluster's REST API over HTTPS with this certificate and key (the admin-only port stays HTTP). */
  tls?: EsEmulatorTls;
  /** Also serve the admin API alone on this port (0 picks one); it keeps working while every cluster is down. */
  adminPort?: number;
}

export interface RunningCluster {
  name: string;
  /** Base URL of the REST API, e.g. http://127.0.0.1:19200 */
  url: string;
  /** `host:port`, the value to use as `cluster.remote.<alias>.seeds` or `proxy_address` on another cluster. */
  address: string;
  port: number;
}

export interface RunningEsEmulator {
  clusters: RunningCluster[];
  cluster(name: string): RunningCluster;
  adminUrl: string | undefined;
  faults: FaultController;
  stop(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0']);

/** One process hosting several emulated clusters, each on its own port, reaching each other in-process. */
export class EsEmulator implements Network, FaultController {
  readonly clusters = new Map<string, EmulatedCluster>();
  private readonly listeners = new Map<string, Listener>();
  private readonly cutLinks = new Set<string>();
  private adminListener: Listener | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly host: string;

  constructor(private readonly options: EsEmulatorOptions) {
    this.host = options.host ?? '127.0.0.1';
    const admin: AdminHandler = (cluster, method, path, body, query) =>
      this.handleAdmin(cluster, method, path, body, query);
    for (const spec of options.clusters) {
      if (this.clusters.has(spec.name)) throw new Error(`duplicate cluster name ${spec.name}`);
      const cluster = new EmulatedCluster(
        {
          name: spec.name,
          nodes: spec.nodes ?? 1,
          replicationDelayMs: options.replicationDelayMs ?? 0,
          majorVersion: spec.version ?? 9,
        },
        this,
      );
      this.clusters.set(spec.name, cluster);
      this.listeners.set(
        spec.name,
        new Listener(this.host, spec.port ?? 0, clusterRequestHandler(cluster, admin), options.tls),
      );
    }
    if (options.adminPort !== undefined)
      this.adminListener = new Listener(this.host, options.adminPort, adminRequestHandler(admin));
  }

  async start(): Promise<void> {
    try {
      for (const [name, listener] of this.listeners) {
        const port = await listener.open();
        (this.clusters.get(name) as EmulatedCluster).address = `${this.host}:${port}`;
      }
      await this.adminListener?.open();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.timer = setInterval(() => this.tick(), this.options.tickIntervalMs ?? 10);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(
      [...this.listeners.values(), ...(this.adminListener ? [this.adminListener] : [])].map((l) => l.close()),
    );
  }

  running(): RunningEsEmulator {
    const clusters = [...this.clusters.values()].map((cluster) => {
      const port = (this.listeners.get(cluster.name) as Listener).port;
      return {
        name: cluster.name,
        url: `${this.options.tls ? 'https' : 'http'}://${urlHost(this.host)}:${port}`,
        address: cluster.address,
        port,
      };
    });
    return {
      clusters,
      cluster: (name) => {
        const found = clusters.find((c) => c.name === name);
        if (!found) throw new Error(`no emulated cluster named ${name}`);
        return found;
      },
      adminUrl: this.adminListener ? `http://${urlHost(this.host)}:${this.adminListener.port}` : undefined,
      faults: this,
      stop: () => this.stop(),
    };
  }

  clusterAt(address: string): EmulatedCluster | undefined {
    const separator = address.lastIndexOf(':');
    if (separator < 0) return undefined;
    const host = address.slice(0, separator);
    const port = Number(address.slice(separator + 1));
    if (!LOOPBACK_HOSTS.has(host) && host !== this.host) return undefined;
    for (const [name, listener] of this.listeners) {
      if (listener.port === port) return this.clusters.get(name);
    }
    return undefined;
  }

  isLinkCut(a: string, b: string): boolean {
    return this.cutLinks.has(linkKey(a, b));
  }

  async setClusterDown(name: string, down: boolean): Promise<void> {
    const cluster = this.require(name);
    cluster.faults.down = down;
    const listener = this.listeners.get(name) as Listener;
    if (down) await listener.close();
    else await listener.open();
  }

  setHealth(name: string, health: HealthFault | 'green' | null): void {
    this.require(name).faults.health = health === 'green' || health === null ? undefined : health;
  }

  setDelay(name: string, delayMs: number): void {
    this.require(name).faults.delayMs = delayMs;
  }

  cutLink(a: string, b: string): void {
    this.require(a);
    this.require(b);
    this.cutLinks.add(linkKey(a, b));
  }

  restoreLink(a: string, b: string): void {
    this.cutLinks.delete(linkKey(a, b));
  }

  deleteIndex(name: string, index: string): void {
    this.require(name).deleteIndex(index);
  }

  async reset(options: { data?: boolean } = {}): Promise<void> {
    this.cutLinks.clear();
    for (const cluster of this.clusters.values()) {
      if (cluster.faults.down) await this.setClusterDown(cluster.name, false);
      cluster.faults = noFaults();
      if (options.data) cluster.resetData();
    }
  }

  state(): FaultState {
    const clusters: FaultState['clusters'] = {};
    for (const cluster of this.clusters.values()) {
      clusters[cluster.name] = {
        down: cluster.faults.down,
        health: cluster.faults.health ?? null,
        delayMs: cluster.faults.delayMs,
      };
    }
    return { clusters, cutLinks: [...this.cutLinks].map((key) => key.split('\u0000') as [string, string]) };
  }

  private tick(): void {
    const now = Date.now();
    for (const cluster of this.clusters.values()) {
      try {
        cluster.tick(now);
      } catch (error) {
        console.error(`[es-emulator ${cluster.name}] background work failed:`, error);
      }
    }
  }

  private async handleAdmin(
    cluster: EmulatedCluster | undefined,
    method: string,
    path: string,
    body: unknown,
    query: Record<string, string>,
  ): Promise<{ response: EsResponse; afterResponse?: () => Promise<void> }> {
    const names = [...this.clusters.keys()];
    if (path === '/_emulator/faults' && method === 'GET')
      return { response: { status: 200, body: this.state() } };
    if (path === '/_emulator/reset' && method === 'POST') {
      await this.reset({ data: query.data === 'true' || query.data === '' });
      return { response: { status: 200, body: this.state() } };
    }
    if (path === '/_emulator/faults' && method === 'POST') {
      const request = (body ?? {}) as FaultRequest;
      const target = request.cluster ?? cluster?.name;
      // Taking down the cluster that carries this request: answer first, then close its listener.
      const selfDown = request.down === true && target !== undefined && target === cluster?.name;
      try {
        const state = await applyFaultRequest(
          this,
          selfDown ? { ...request, down: undefined } : request,
          cluster?.name,
          names,
        );
        if (!selfDown) return { response: { status: 200, body: state } };
        const expected = {
          ...state,
          clusters: { ...state.clusters, [target]: { ...state.clusters[target], down: true } },
        };
        return {
          response: { status: 200, body: expected },
          afterResponse: () => this.setClusterDown(target, true),
        };
      } catch (error) {
        if (error instanceof FaultRequestError)
          return { response: { status: 400, body: { error: error.message } } };
        if (error instanceof EsError) return { response: { status: error.status, body: error.toBody() } };
        throw error;
      }
    }
    if (path === '/_emulator/clusters' && method === 'GET') {
      return { response: { status: 200, body: this.running().clusters } };
    }
    return { response: { status: 404, body: { error: `no emulator endpoint ${method} ${path}` } } };
  }

  private require(name: string): EmulatedCluster {
    const cluster = this.clusters.get(name);
    if (!cluster)
      throw new FaultRequestError(
        `unknown cluster [${name}]; known: ${[...this.clusters.keys()].join(', ')}`,
      );
    return cluster;
  }
}

/** Starts the emulated clusters and returns their URLs, the fault controller and `stop()`. */
export async function startEsEmulator(options: EsEmulatorOptions): Promise<RunningEsEmulator> {
  const emulator = new EsEmulator(options);
  await emulator.start();
  return emulator.running();
}

function linkKey(a: string, b: string): string {
  return [a, b].sort().join('\u0000');
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
