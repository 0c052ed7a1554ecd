import { conflict, objectNotFound, OvhHttpError, serviceNotFound } from './errors';
import type { ApiRequest, Route } from './router';
import { clone, type EmulatorClock, type EmulatorTiming } from './state';

/**
 * OVH Public Cloud Load Balancer (OpenStack Octavia behind OVH's API v1): load balancers, listeners, pools, members
 * and health monitors of one project and region, as the `cloud.loadbalancing.*` models of the shipped `cloud.json`
 * show them.
 *
 * Writes are asynchronous as in Octavia: a PUT stores the new values at once and puts the object and its load
 * balancer in `updating` (Octavia's PENDING_UPDATE) for `cloudLbUpdateMs`, then `active`; a write while the load
 * balancer is not `active` is refused with 409, as Octavia refuses a change to an immutable load balancer.
 * A member's `operatingStatus` is what the health monitor of its pool says: `online`, or `draining` at weight 0,
 * while it passes; `error` while it fails; `noMonitor` when the pool has no health monitor.
 */
export type ProvisioningStatus = 'active' | 'creating' | 'deleted' | 'deleting' | 'error' | 'updating';
export type OperatingStatus = 'degraded' | 'draining' | 'error' | 'noMonitor' | 'offline' | 'online';

/** `cloud.loadbalancing.LoadBalancer`. */
export interface CloudLoadBalancer {
  createdAt: string;
  flavorId: string;
  floatingIp: { id: string; ip: string } | null;
  id: string;
  name: string;
  operatingStatus: OperatingStatus;
  provisioningStatus: ProvisioningStatus;
  region: string;
  updatedAt: string;
  vipAddress: string;
  vipNetworkId: string;
  vipSubnetId: string;
}

/** `cloud.loadbalancing.Listener`. */
export interface CloudListener {
  allowedCidrs: string[] | null;
  certificateId: string | null;
  defaultPoolId: string | null;
  description: string | null;
  id: string;
  loadBalancerIds: string[];
  name: string;
  operatingStatus: OperatingStatus;
  port: number;
  protocol: string;
  provisioningStatus: ProvisioningStatus;
  timeoutClientData: number | null;
  timeoutMemberData: number | null;
  tlsVersions: string[] | null;
}

/** `cloud.loadbalancing.Pool`. */
export interface CloudPool {
  algorithm: 'leastConnections' | 'roundRobin' | 'sourceIP';
  id: string;
  listenerId: string | null;
  loadbalancerId: string;
  name: string;
  operatingStatus: OperatingStatus;
  protocol: string;
  provisioningStatus: ProvisioningStatus;
  sessionPersistence: { cookieName: string; type: string } | null;
}

/** `cloud.loadbalancing.pool.Member`. */
export interface CloudMember {
  address: string;
  id: string;
  name: string;
  operatingStatus: OperatingStatus;
  protocolPort: number;
  provisioningStatus: ProvisioningStatus;
  weight: number | null;
}

/** `cloud.loadbalancing.HealthMonitor`. */
export interface CloudHealthMonitor {
  delay: number;
  httpConfiguration: {
    domainName: string;
    expectedCodes: string;
    httpMethod: string;
    httpVersion: string | null;
    urlPath: string;
  } | null;
  id: string;
  maxRetries: number;
  maxRetriesDown: number | null;
  monitorType: string;
  name: string;
  operatingStatus: OperatingStatus;
  poolId: string;
  provisioningStatus: ProvisioningStatus;
  timeout: number;
}

/** The load balancing objects of one project (`serviceName`) in one region. */
export interface CloudLbSeed {
  serviceName: string;
  regionName: string;
  loadBalancers: CloudLoadBalancer[];
  listeners: CloudListener[];
  pools: CloudPool[];
  /** The members of each pool, by pool ID. */
  members: Record<string, CloudMember[]>;
  healthMonitors: CloudHealthMonitor[];
}

interface RegionRecord {
  seed: CloudLbSeed;
  /** Until when (API clock, ms) each object (by ID) stays `updating` after a write. */
  updatingUntil: Map<string, number>;
  /** Members whose health monitor check fails (by member ID). */
  failing: Set<string>;
}

/** What tests and the admin endpoint see of one project's region. */
export type CloudLbRegionView = CloudLbSeed;

const BASE = '/cloud/project/{serviceName}/region/{regionName}/loadbalancing';

export class CloudLbEmulator {
  private readonly regions = new Map<string, RegionRecord>();

  constructor(
    seed: readonly CloudLbSeed[],
    private readonly clock: EmulatorClock,
    private readonly timing: () => EmulatorTiming,
  ) {
    for (const region of seed) {
      this.regions.set(key(region.serviceName, region.regionName), {
        seed: clone(region),
        updatingUntil: new Map(),
        failing: new Set(),
      });
    }
  }

  regionKeys(): { serviceName: string; regionName: string }[] {
    return [...this.regions.values()].map((r) => ({
      serviceName: r.seed.serviceName,
      regionName: r.seed.regionName,
    }));
  }

  /** Every object as the API shows it now (statuses computed), or undefined for an unknown project or region. */
  view(serviceName: string, regionName: string): CloudLbRegionView | undefined {
    const region = this.regions.get(key(serviceName, regionName));
    if (!region) return undefined;
    const { seed } = region;
    return {
      serviceName,
      regionName,
      loadBalancers: seed.loadBalancers.map((lb) => this.lbView(region, lb)),
      listeners: seed.listeners.map((l) => this.listenerView(region, l)),
      pools: seed.pools.map((p) => this.poolView(region, p)),
      members: Object.fromEntries(
        Object.entries(seed.members).map(([poolId, ms]) => [
          poolId,
          ms.map((m) => this.memberView(region, poolId, m)),
        ]),
      ),
      healthMonitors: seed.healthMonitors.map((hm) => this.monitorView(region, hm)),
    };
  }

  /**
   * Makes the health monitor of its pool see a member pass or fail (not configuration: no write, no `updating`).
   * False when there is no such member.
   */
  setMemberHealth(serviceName: string, regionName: string, memberId: string, healthy: boolean): boolean {
    const region = this.regions.get(key(serviceName, regionName));
    if (!region || !Object.values(region.seed.members).some((ms) => ms.some((m) => m.id === memberId)))
      return false;
    if (healthy) region.failing.delete(memberId);
    else region.failing.add(memberId);
    return true;
  }

  routes(): Route[] {
    return [
      {
        method: 'GET',
        path: `${BASE}/loadbalancer`,
        handle: (r) => {
          const region = this.region(r);
          return region.seed.loadBalancers.map((lb) => this.lbView(region, lb));
        },
      },
      {
        method: 'GET',
        path: `${BASE}/loadbalancer/{loadBalancerId}`,
        handle: (r) => {
          const region = this.region(r);
          return this.lbView(region, this.loadBalancer(region, r.params.loadBalancerId ?? ''));
        },
      },
      {
        method: 'GET',
        path: `${BASE}/listener`,
        handle: (r) => {
          const region = this.region(r);
          const lbId = r.query.get('loadbalancerId');
          return region.seed.listeners
            .filter((l) => lbId === null || l.loadBalancerIds.includes(lbId))
            .map((l) => this.listenerView(region, l));
        },
      },
      {
        method: 'GET',
        path: `${BASE}/listener/{listenerId}`,
        handle: (r) => {
          const region = this.region(r);
          return this.listenerView(region, this.listener(region, r.params.listenerId ?? ''));
        },
      },
      { method: 'PUT', path: `${BASE}/listener/{listenerId}`, handle: (r) => this.editListener(r) },
      {
        method: 'GET',
        path: `${BASE}/pool`,
        handle: (r) => {
          const region = this.region(r);
          const lbId = r.query.get('loadbalancerId');
          return region.seed.pools
            .filter((p) => lbId === null || p.loadbalancerId === lbId)
            .map((p) => this.poolView(region, p));
        },
      },
      {
        method: 'GET',
        path: `${BASE}/pool/{poolId}`,
        handle: (r) => {
          const region = this.region(r);
          return this.poolView(region, this.pool(region, r.params.poolId ?? ''));
        },
      },
      {
        method: 'GET',
        path: `${BASE}/pool/{poolId}/member`,
        handle: (r) => {
          const region = this.region(r);
          const pool = this.pool(region, r.params.poolId ?? '');
          return (region.seed.members[pool.id] ?? []).map((m) => this.memberView(region, pool.id, m));
        },
      },
      {
        method: 'GET',
        path: `${BASE}/pool/{poolId}/member/{memberId}`,
        handle: (r) => {
          const region = this.region(r);
          const pool = this.pool(region, r.params.poolId ?? '');
          return this.memberView(region, pool.id, this.member(region, pool, r.params.memberId ?? ''));
        },
      },
      { method: 'PUT', path: `${BASE}/pool/{poolId}/member/{memberId}`, handle: (r) => this.editMember(r) },
      {
        method: 'GET',
        path: `${BASE}/healthMonitor`,
        handle: (r) => {
          const region = this.region(r);
          const poolId = r.query.get('poolId');
          return region.seed.healthMonitors
            .filter((hm) => poolId === null || hm.poolId === poolId)
            .map((hm) => this.monitorView(region, hm));
        },
      },
    ];
  }

  /** `EditListener`: only `defaultPoolId` and `name`/`description` are applied; the pool must be on the same LB. */
  private editListener(r: ApiRequest): CloudListener {
    const region = this.region(r);
    const listener = this.listener(region, r.params.listenerId ?? '');
    const body = (r.body ?? {}) as { defaultPoolId?: string | null; name?: string; description?: string };
    const lbId = listener.loadBalancerIds[0] ?? '';
    if (typeof body.defaultPoolId === 'string') {
      const pool = region.seed.pools.find((p) => p.id === body.defaultPoolId && p.loadbalancerId === lbId);
      // Octavia's _validate_pool: a pool that is not on the listener's load balancer is "Pool <id> not found.".
      if (!pool) throw new OvhHttpError(404, `Pool ${body.defaultPoolId} not found.`);
    }
    this.lockForWrite(region, lbId);
    if (body.defaultPoolId !== undefined) listener.defaultPoolId = body.defaultPoolId;
    if (typeof body.name === 'string') listener.name = body.name;
    if (body.description !== undefined) listener.description = body.description;
    this.markUpdating(region, [lbId, listener.id]);
    return this.listenerView(region, listener);
  }

  /** `MemberUpdate`: `name` and `weight` (null puts back Octavia's default weight, 1). */
  private editMember(r: ApiRequest): CloudMember {
    const region = this.region(r);
    const pool = this.pool(region, r.params.poolId ?? '');
    const member = this.member(region, pool, r.params.memberId ?? '');
    const body = (r.body ?? {}) as { name?: string | null; weight?: number | null };
    if (typeof body.weight === 'number' && (body.weight < 0 || body.weight > 256)) {
      throw new OvhHttpError(400, `[weight] ${body.weight} is not between 0 and 256`);
    }
    this.lockForWrite(region, pool.loadbalancerId);
    if (body.weight !== undefined) member.weight = body.weight ?? 1;
    if (body.name !== undefined) member.name = body.name ?? '';
    this.markUpdating(region, [pool.loadbalancerId, pool.id, member.id]);
    return this.memberView(region, pool.id, member);
  }

  /** Octavia refuses a change while the load balancer is not ACTIVE: "Load Balancer <id> is immutable…" (409). */
  private lockForWrite(region: RegionRecord, lbId: string): void {
    const lb = this.loadBalancer(region, lbId);
    const status = this.provisioning(region, lb.id, lb.provisioningStatus);
    if (status !== 'active') throw conflict(`Load Balancer ${lb.id} is immutable and cannot be updated.`);
  }

  private markUpdating(region: RegionRecord, ids: string[]): void {
    const until = this.clock.now() + this.timing().cloudLbUpdateMs;
    for (const id of ids) region.updatingUntil.set(id, until);
  }

  /** The stored status, unless a write put the object in `updating` and that time is not over. */
  private provisioning(region: RegionRecord, id: string, stored: ProvisioningStatus): ProvisioningStatus {
    const until = region.updatingUntil.get(id);
    return until !== undefined && this.clock.now() < until ? 'updating' : stored;
  }

  private hasMonitor(region: RegionRecord, poolId: string): boolean {
    return region.seed.healthMonitors.some((hm) => hm.poolId === poolId);
  }

  private memberStatus(region: RegionRecord, poolId: string, member: CloudMember): OperatingStatus {
    if (!this.hasMonitor(region, poolId)) return 'noMonitor';
    if (region.failing.has(member.id)) return 'error';
    return member.weight === 0 ? 'draining' : 'online';
  }

  /** Octavia's operating status of a pool: ERROR when all members are, DEGRADED when some are, else ONLINE. */
  private poolStatus(region: RegionRecord, poolId: string): OperatingStatus {
    const members = region.seed.members[poolId] ?? [];
    const failing = members.filter((m) => this.memberStatus(region, poolId, m) === 'error').length;
    if (members.length > 0 && failing === members.length) return 'error';
    return failing > 0 ? 'degraded' : 'online';
  }

  private lbView(region: RegionRecord, lb: CloudLoadBalancer): CloudLoadBalancer {
    const pools = region.seed.pools.filter((p) => p.loadbalancerId === lb.id);
    const degraded = pools.some((p) => this.poolStatus(region, p.id) !== 'online');
    return {
      ...clone(lb),
      operatingStatus: degraded ? 'degraded' : 'online',
      provisioningStatus: this.provisioning(region, lb.id, lb.provisioningStatus),
    };
  }

  private listenerView(region: RegionRecord, listener: CloudListener): CloudListener {
    return {
      ...clone(listener),
      provisioningStatus: this.provisioning(region, listener.id, listener.provisioningStatus),
    };
  }

  /** A pool's `listenerId` is the listener whose default pool it is (Octavia relates them through default_pool_id). */
  private poolView(region: RegionRecord, pool: CloudPool): CloudPool {
    const listener = region.seed.listeners.find((l) => l.defaultPoolId === pool.id);
    return {
      ...clone(pool),
      listenerId: listener?.id ?? null,
      operatingStatus: this.poolStatus(region, pool.id),
      provisioningStatus: this.provisioning(region, pool.id, pool.provisioningStatus),
    };
  }

  private memberView(region: RegionRecord, poolId: string, member: CloudMember): CloudMember {
    return {
      ...clone(member),
      operatingStatus: this.memberStatus(region, poolId, member),
      provisioningStatus: this.provisioning(region, member.id, member.provisioningStatus),
    };
  }

  private monitorView(region: RegionRecord, hm: CloudHealthMonitor): CloudHealthMonitor {
    return { ...clone(hm), operatingStatus: this.poolStatus(region, hm.poolId) };
  }

  private region(request: ApiRequest): RegionRecord {
    const serviceName = request.params.serviceName ?? '';
    const regionName = request.params.regionName ?? '';
    const region = this.regions.get(key(serviceName, regionName));
    if (region) return region;
    if (![...this.regions.values()].some((r) => r.seed.serviceName === serviceName)) throw serviceNotFound();
    throw objectNotFound('regionName', regionName);
  }

  private loadBalancer(region: RegionRecord, id: string): CloudLoadBalancer {
    const found = region.seed.loadBalancers.find((lb) => lb.id === id);
    if (!found) throw objectNotFound('loadBalancerId', id);
    return found;
  }

  private listener(region: RegionRecord, id: string): CloudListener {
    const found = region.seed.listeners.find((l) => l.id === id);
    if (!found) throw objectNotFound('listenerId', id);
    return found;
  }

  private pool(region: RegionRecord, id: string): CloudPool {
    const found = region.seed.pools.find((p) => p.id === id);
    if (!found) throw objectNotFound('poolId', id);
    return found;
  }

  private member(region: RegionRecord, pool: CloudPool, id: string): CloudMember {
    const found = (region.seed.members[pool.id] ?? []).find((m) => m.id === id);
    if (!found) throw objectNotFound('memberId', id);
    return found;
  }
}

function key(serviceName: string, regionName: string): string {
  return `${serviceName}/${regionName}`;
}
