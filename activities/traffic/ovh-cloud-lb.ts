import { trafficFailure } from './errors';
import { guardOvh, OvhApiError, type OvhClient } from './ovh-client';
import { DEFAULT_POLL, formatMs, sleep, type PollSettings } from './poll';
import type {
  ProviderContext,
  TrafficCheck,
  TrafficDrainResult,
  TrafficMember,
  TrafficProvider,
  TrafficState,
  TrafficSwitchResult,
  TrafficVerifyResult,
} from './provider';
import { NO_CONTEXT, summariseMembers, verifyResult } from './provider';

export interface OvhCloudLbSettings {
  /** The Public Cloud project ID. */
  serviceName: string;
  regionName: string;
  loadBalancerId: string;
  listenerId: string;
  /** The pool of each site. */
  pools: Record<string, string>;
  /** The weight given back to a member drained to 0. */
  restoreWeight: number;
  /** Bound of all the waiting for the load balancer to be `active` in one switch or drain. */
  pendingTimeoutMs: number;
  poll?: PollSettings;
}

type ProvisioningStatus = 'active' | 'creating' | 'deleted' | 'deleting' | 'error' | 'updating';

/** `cloud.loadbalancing.LoadBalancer`, the fields used here. */
interface LoadBalancer {
  id: string;
  name: string;
  provisioningStatus: ProvisioningStatus;
}

/** `cloud.loadbalancing.Listener`, the fields used here. */
interface Listener {
  id: string;
  name: string;
  defaultPoolId: string | null;
  loadBalancerIds: string[];
  provisioningStatus: ProvisioningStatus;
}

/** `cloud.loadbalancing.Pool`, the fields used here. */
interface Pool {
  id: string;
  name: string;
  loadbalancerId: string;
}

/** `cloud.loadbalancing.pool.Member`, the fields used here. */
interface Member {
  id: string;
  name: string;
  address: string;
  protocolPort: number;
  weight: number | null;
  operatingStatus: string;
  provisioningStatus: ProvisioningStatus;
}

/** `cloud.loadbalancing.HealthMonitor`, the fields used here. */
interface HealthMonitor {
  id: string;
  name: string;
  monitorType: string;
  httpConfiguration: { httpMethod: string; urlPath: string } | null;
}

interface SitePool {
  site: string;
  pool: Pool;
  members: Member[];
  monitors: HealthMonitor[];
}

/** What one read of the API shows. */
interface CloudLbRead {
  lb: LoadBalancer;
  listener: Listener;
  pools: SitePool[];
  state: TrafficState;
}

const enc = encodeURIComponent;

/** Octavia's default weight, for a member the API shows without one. */
const DEFAULT_WEIGHT = 1;

const weightOf = (m: Member) => m.weight ?? DEFAULT_WEIGHT;

/**
 * The switches and drains in progress in this worker, per load balancer: one at a time, since Octavia refuses any
 * write while the load balancer is busy with the previous one.
 */
const busyLoadBalancers = new Map<string, Promise<unknown>>();

/**
 * Traffic through an OVH Public Cloud Load Balancer (OpenStack Octavia, through OVH's API v1): one listener sends all
 * its traffic to its default pool, and each site has a pool. A switch sets the listener's `defaultPoolId` to the
 * site's pool; a drain sets the weight of the site's members to 0 (OVH's maintenance procedure: no new connection,
 * established ones go on), and a switch gives drained members their weight back.
 *
 * Octavia applies a write asynchronously: the load balancer is `updating` until it is done, and refuses any other
 * write meanwhile (409). So every write waits first for the load balancer to be `active` (polling, heartbeating,
 * within `pendingTimeout`), and a 409 anyway (a write of someone else in between) means wait and write again. The
 * state is `live` when the load balancer, the listener and the members are all `active`.
 *
 * A member's health is what the health monitor of its pool reports (`operatingStatus`); a pool without one reports
 * `noMonitor`, so its health is unknown: readiness and verification fail on it, saying so.
 */
export class OvhCloudLbTrafficProvider implements TrafficProvider {
  readonly kind = 'ovh-cloud-lb' as const;
  readonly sites: string[];
  private readonly base: string;
  private readonly poll: PollSettings;

  constructor(
    private readonly settings: OvhCloudLbSettings,
    private readonly api: OvhClient,
  ) {
    this.sites = Object.keys(settings.pools);
    this.base = `/cloud/project/${enc(settings.serviceName)}/region/${enc(settings.regionName)}/loadbalancing`;
    this.poll = settings.poll ?? DEFAULT_POLL;
  }

  private get label(): string {
    const { regionName, loadBalancerId, listenerId } = this.settings;
    return `OVH Cloud LB ${loadBalancerId} (${regionName}) listener ${listenerId}`;
  }

  async currentTarget(ctx: ProviderContext = NO_CONTEXT): Promise<TrafficState> {
    return this.guard(async () => (await this.read(ctx.signal)).state);
  }

  async switchTo(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficSwitchResult> {
    return this.guard(() =>
      this.oneAtATime(async () => {
        const pool = this.poolOf(site);
        const started = Date.now();
        const before = await this.read(ctx.signal);
        if (this.switchedTo(before, site) && before.state.live) {
          return {
            provider: this.kind,
            site,
            changed: false,
            before: before.state.sites,
            actions: [],
            propagationSeconds: 0,
            description: `${this.label} already sends all traffic to ${site} (pool ${this.poolWords(before, site)}, no member drained), and it is live; nothing changed.`,
            state: before.state,
          };
        }
        if (before.listener.defaultPoolId !== pool) this.refuseUnhealthyTarget(before, site);

        const writer = this.writer(ctx);
        const target = before.pools.find((p) => p.site === site)!;
        const others = before.pools.filter((p) => p.site !== site);
        // Make before break: the target's drained members get their weight back before the listener moves.
        const restoredTarget = await this.restoreWeights(target, writer);
        const moved = before.listener.defaultPoolId !== pool;
        if (moved) {
          await writer.put(`${this.base}/listener/${enc(this.settings.listenerId)}`, { defaultPoolId: pool });
        }
        const restoredOthers = [];
        for (const other of others) restoredOthers.push(...(await this.restoreWeights(other, writer)));
        await writer.settled();

        const after = await this.read(ctx.signal);
        if (!this.switchedTo(after, site) || !after.state.live || after.state.site !== site) {
          throw trafficFailure(
            'TrafficSwitchIncomplete',
            `after switching ${this.label} to ${site}: ${after.state.description}`,
            after.state,
          );
        }
        const from = before.state.sites.length > 0 ? before.state.sites.join(' and ') : 'no site';
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const did = [
          restoredTarget.length > 0
            ? `gave ${site}'s drained member(s) ${restoredTarget.join(', ')} weight ${this.settings.restoreWeight}`
            : '',
          moved
            ? `set the listener's default pool to ${this.poolWords(after, site)}`
            : `the listener already had pool ${this.poolWords(after, site)}${
                restoredTarget.length + restoredOthers.length === 0
                  ? ' (waited for the change being applied)'
                  : ''
              }`,
          restoredOthers.length > 0
            ? `gave the drained member(s) ${restoredOthers.join(', ')} of the other site(s) weight ${this.settings.restoreWeight} back`
            : '',
        ].filter(Boolean);
        return {
          provider: this.kind,
          site,
          changed: true,
          before: before.state.sites,
          actions: writer.actions,
          propagationSeconds: 0,
          description: `${this.label} now sends all traffic to ${site} (before: ${from}): ${did.join('; ')}, one write at a time, each applied (${seconds} s).`,
          state: after.state,
        };
      }),
    );
  }

  /**
   * Sets the weight of every member of the site's pool to 0 (OVH's guide "Using weight to implement maintenance on a
   * Load Balancer member"): no new connection goes to them, established ones go on. While the listener still points at
   * that pool, clients get errors from the load balancer until the switch. A site whose pool the listener does not
   * point at gets no traffic already: nothing is changed.
   */
  async drain(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficDrainResult> {
    return this.guard(() =>
      this.oneAtATime(async () => {
        const pool = this.poolOf(site);
        const before = await this.read(ctx.signal);
        const fields = { provider: this.kind, site };
        const mine = before.pools.find((p) => p.site === site)!;
        if (before.listener.defaultPoolId !== pool) {
          const description = `${this.label} sends ${site} no traffic already (the listener's default pool is not ${this.poolWords(before, site)}); nothing changed.`;
          return { ...fields, changed: false, actions: [], description, state: before.state };
        }
        const serving = mine.members.filter((m) => weightOf(m) !== 0);
        if (serving.length === 0 && before.state.live) {
          const description = `${this.label} already sends ${site} no new connection (every member of pool ${this.poolWords(before, site)} has weight 0), and it is live; nothing changed.`;
          return { ...fields, changed: false, actions: [], description, state: before.state };
        }
        const writer = this.writer(ctx);
        for (const m of serving) await writer.put(this.memberPath(pool, m.id), { weight: 0 });
        await writer.settled();
        const after = await this.read(ctx.signal);
        const did =
          serving.length > 0
            ? `weight 0 for the member(s) ${serving.map((m) => m.name || m.id).join(', ')} of pool ${this.poolWords(after, site)}`
            : `every member of pool ${this.poolWords(after, site)} was at weight 0 already; waited for the change being applied`;
        const description = `${this.label} no longer sends new connections to ${site}: ${did} (established connections go on; the listener still points at that pool, so clients get errors from the load balancer until the switch).`;
        return { ...fields, changed: true, actions: writer.actions, description, state: after.state };
      }),
    );
  }

  async verify(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficVerifyResult> {
    return this.guard(async () => {
      const pool = this.poolOf(site);
      const read = await this.read(ctx.signal);
      const mine = read.pools.find((p) => p.site === site)!;
      const drained = mine.members.filter((m) => weightOf(m) === 0);
      const notOnline = mine.members.filter((m) => m.operatingStatus !== 'online');
      const checks: TrafficCheck[] = [
        {
          name: 'target-configured',
          ok: read.listener.defaultPoolId === pool,
          sentence:
            read.listener.defaultPoolId === pool
              ? `the listener's default pool is ${this.poolWords(read, site)}, the pool of ${site}.`
              : `the listener's default pool is ${read.listener.defaultPoolId ?? 'none'}, not ${site}'s pool ${this.poolWords(read, site)}.`,
        },
        {
          name: 'target-weights',
          ok: mine.members.length > 0 && drained.length === 0,
          sentence:
            mine.members.length === 0
              ? `pool ${this.poolWords(read, site)} has no member.`
              : drained.length === 0
                ? `no member of ${site}'s pool is drained (weight 0).`
                : `member(s) ${this.memberList(drained)} of ${site}'s pool are drained (weight 0).`,
        },
        this.monitorCheck(mine),
      ];
      if (mine.monitors.length > 0) {
        checks.push({
          name: 'target-members-online',
          ok: mine.members.length > 0 && notOnline.length === 0,
          sentence:
            notOnline.length === 0
              ? `the health monitor reports every member of ${site}'s pool online (${this.memberList(mine.members)}).`
              : `the health monitor does not report every member of ${site}'s pool online: ${this.memberList(notOnline)}.`,
        });
      }
      checks.push({
        name: 'live',
        ok: read.state.live === true,
        sentence: read.state.live
          ? 'the load balancer, the listener and the members are active (no change being applied).'
          : `a change is still being applied: ${this.busyWords(read)}.`,
      });
      return verifyResult(
        { provider: this.kind, site, propagationSeconds: 0, state: read.state },
        checks,
        this.label,
        `${this.label} sends all traffic to ${site} (pool ${this.poolWords(read, site)}, every member online by its health monitor), live.`,
      );
    });
  }

  /** The load balancer, the listener, and each site's pool, members and health monitors. */
  private async read(signal?: AbortSignal): Promise<CloudLbRead> {
    const { loadBalancerId, listenerId } = this.settings;
    const lb = await this.api.get<LoadBalancer>(
      `${this.base}/loadbalancer/${enc(loadBalancerId)}`,
      {},
      signal,
    );
    const listener = await this.api.get<Listener>(`${this.base}/listener/${enc(listenerId)}`, {}, signal);
    if (!listener.loadBalancerIds.includes(loadBalancerId)) {
      throw trafficFailure(
        'TrafficMisconfigured',
        `${this.label}: the listener belongs to load balancer(s) ${listener.loadBalancerIds.join(', ') || 'none'}, not ${loadBalancerId}; check the runbook's loadBalancerId and listenerId.`,
      );
    }
    const pools: SitePool[] = [];
    for (const [site, poolId] of Object.entries(this.settings.pools)) {
      const pool = await this.api.get<Pool>(`${this.base}/pool/${enc(poolId)}`, {}, signal);
      if (pool.loadbalancerId !== loadBalancerId) {
        throw trafficFailure(
          'TrafficMisconfigured',
          `${this.label}: pool ${poolId} of ${site} is on load balancer ${pool.loadbalancerId}, not ${loadBalancerId}; a listener only sends traffic to pools of its own load balancer. Check the runbook's pools.`,
        );
      }
      const members = await this.api.get<Member[]>(`${this.base}/pool/${enc(poolId)}/member`, {}, signal);
      const monitors = await this.api.get<HealthMonitor[]>(`${this.base}/healthMonitor`, { poolId }, signal);
      pools.push({ site, pool, members, monitors });
    }
    const read: CloudLbRead = {
      lb,
      listener,
      pools,
      state: { provider: this.kind, sites: [], members: [], description: '' },
    };
    read.state = this.stateOf(read);
    return read;
  }

  private stateOf(read: CloudLbRead): TrafficState {
    const { listener } = read;
    const members: TrafficMember[] = read.pools.flatMap(({ site, pool, members: ms }) =>
      ms.map((m) => {
        const receives = listener.defaultPoolId === pool.id && weightOf(m) !== 0;
        return {
          site,
          name: `member ${m.name || m.id}`,
          receivesTraffic: receives,
          state: m.operatingStatus,
          healthy: healthOf(m.operatingStatus),
          description: `${m.name || m.id} ${m.address}:${m.protocolPort} weight ${weightOf(m)} ${m.operatingStatus}`,
        };
      }),
    );
    let extra = '';
    if (listener.defaultPoolId === null) extra = ' (the listener has no default pool)';
    else if (!read.pools.some((p) => p.pool.id === listener.defaultPoolId))
      extra = ` (its default pool ${listener.defaultPoolId} is no site's pool in the runbook)`;
    const { sites, sentence } = summariseMembers(this.sites, members, extra);
    const live = this.busyWords(read) === '';
    const liveness = live
      ? 'live: load balancer, listener and members active'
      : `NOT live yet (a change is being applied): ${this.busyWords(read)}`;
    return {
      provider: this.kind,
      site: sites.length === 1 ? sites[0] : undefined,
      sites,
      members,
      live,
      description: `${this.label} sends traffic through pool ${this.defaultPoolWords(read)}: it ${sentence}; ${liveness}.`,
      checks: read.pools.map((p) => ({ ...this.monitorCheck(p), name: `health-monitor@${p.site}` })),
    };
  }

  /** A pool without a health monitor: its members' health is unknown (`noMonitor`), so nothing can verify the site. */
  private monitorCheck({ site, pool, monitors }: SitePool): TrafficCheck {
    const words = `pool ${pool.name || pool.id} (${pool.id}) of ${site}`;
    if (monitors.length === 0) {
      return {
        name: 'health-monitor',
        ok: false,
        sentence: `${words} has no health monitor: its members report noMonitor, so whether ${site} can serve is unknown and a switch to it cannot be verified; create one (POST ${this.base}/healthMonitor with poolId ${pool.id}).`,
      };
    }
    const list = monitors
      .map((hm) => {
        const http = hm.httpConfiguration
          ? ` ${hm.httpConfiguration.httpMethod} ${hm.httpConfiguration.urlPath}`
          : '';
        return `${hm.name || hm.id} (${hm.monitorType}${http})`;
      })
      .join(', ');
    return { name: 'health-monitor', ok: true, sentence: `${words} has its health monitor ${list}.` };
  }

  /**
   * Refuses, before any change, a target pool whose every member fails its health monitor (`error`, or `offline`):
   * sending traffic there would only give clients errors. Members without a monitor (`noMonitor`) are not judged.
   */
  private refuseUnhealthyTarget(read: CloudLbRead, site: string): void {
    const { members } = read.pools.find((p) => p.site === site)!;
    const failing = members.filter((m) => healthOf(m.operatingStatus) === false);
    if (members.length === 0 || failing.length < members.length) return;
    throw trafficFailure(
      'TrafficTargetUnhealthy',
      `not switching ${this.label} to ${site}: every member of pool ${this.poolWords(read, site)} fails its health monitor (${this.memberList(members)}); nothing was changed. Look at the application on ${site} and at the pool's health monitor, then switch again.`,
    );
  }

  /** Gives the site's members drained to 0 their weight back; returns their names. */
  private async restoreWeights(sitePool: SitePool, writer: LbWriter): Promise<string[]> {
    const drained = sitePool.members.filter((m) => weightOf(m) === 0);
    for (const m of drained)
      await writer.put(this.memberPath(sitePool.pool.id, m.id), { weight: this.settings.restoreWeight });
    return drained.map((m) => m.name || m.id);
  }

  /** Target pool set, and no member of any runbook pool drained. */
  private switchedTo(read: CloudLbRead, site: string): boolean {
    return (
      read.listener.defaultPoolId === this.settings.pools[site] &&
      read.pools.every((p) => p.members.every((m) => weightOf(m) !== 0))
    );
  }

  /** What is not `active`, in words; '' when everything is. */
  private busyWords(read: CloudLbRead): string {
    const busy: string[] = [];
    if (read.lb.provisioningStatus !== 'active')
      busy.push(`load balancer ${read.lb.name || read.lb.id} ${read.lb.provisioningStatus}`);
    if (read.listener.provisioningStatus !== 'active')
      busy.push(`listener ${read.listener.name || read.listener.id} ${read.listener.provisioningStatus}`);
    for (const p of read.pools)
      for (const m of p.members)
        if (m.provisioningStatus !== 'active') busy.push(`member ${m.name || m.id} ${m.provisioningStatus}`);
    return busy.join(', ');
  }

  private writer(ctx: ProviderContext): LbWriter {
    return new LbWriter(this.api, this.settings, this.base, this.label, this.poll, ctx);
  }

  /** Runs `fn` after every switch or drain of this worker on the same load balancer has ended. */
  private async oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
    const key = `${this.settings.serviceName}/${this.settings.regionName}/${this.settings.loadBalancerId}`;
    const previous = busyLoadBalancers.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const done = run.then(
      () => undefined,
      () => undefined,
    );
    busyLoadBalancers.set(key, done);
    try {
      return await run;
    } finally {
      if (busyLoadBalancers.get(key) === done) busyLoadBalancers.delete(key);
    }
  }

  private memberPath(poolId: string, memberId: string): string {
    return `${this.base}/pool/${enc(poolId)}/member/${enc(memberId)}`;
  }

  private poolWords(read: CloudLbRead, site: string): string {
    const p = read.pools.find((x) => x.site === site)!;
    return `${p.pool.name || p.pool.id} (${p.pool.id})`;
  }

  private defaultPoolWords(read: CloudLbRead): string {
    const id = read.listener.defaultPoolId;
    const p = read.pools.find((x) => x.pool.id === id);
    return p ? `${p.pool.name || p.pool.id} (${id})` : (id ?? 'none');
  }

  private memberList(members: Member[]): string {
    return members.map((m) => `${m.name || m.id} weight ${weightOf(m)} ${m.operatingStatus}`).join(', ');
  }

  private poolOf(site: string): string {
    const pool = this.settings.pools[site];
    if (pool === undefined) {
      throw trafficFailure(
        'UnknownSite',
        `site "${site}" has no pool in the runbook for ${this.label} (sites: ${this.sites.join(', ')})`,
      );
    }
    return pool;
  }

  private guard<T>(fn: () => Promise<T>): Promise<T> {
    return guardOvh(
      this.label,
      "check the runbook's serviceName, regionName, loadBalancerId, listenerId and pools.",
      fn,
    );
  }
}

/** What the health monitor says of a member: true passing, false failing, undefined unknown (no monitor). */
function healthOf(operatingStatus: string): boolean | undefined {
  if (operatingStatus === 'online' || operatingStatus === 'draining') return true;
  if (operatingStatus === 'error' || operatingStatus === 'offline') return false;
  return undefined;
}

/**
 * The writes of one switch or drain: each waits for the load balancer to be `active` before it is sent, and a 409
 * (someone else's write in between) sends it again after waiting; `settled()` waits for the last one to be applied.
 * All the waiting shares one deadline, `pendingTimeout` from the first write.
 */
class LbWriter {
  readonly actions: string[] = [];
  private deadline?: number;

  constructor(
    private readonly api: OvhClient,
    private readonly settings: OvhCloudLbSettings,
    private readonly base: string,
    private readonly label: string,
    private readonly poll: PollSettings,
    private readonly ctx: ProviderContext,
  ) {}

  async put(path: string, body: Record<string, unknown>): Promise<void> {
    const words = Object.entries(body)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    for (;;) {
      await this.settled();
      try {
        await this.api.put(path, body, this.ctx.signal);
        this.actions.push(`PUT ${path} ${words}`);
        return;
      } catch (err) {
        if (!(err instanceof OvhApiError) || err.status !== 409) throw err;
        // OVH's wrapper of Octavia: how it reports a busy load balancer is not documented; any 409 is taken as that.
        this.actions.push(
          `PUT ${path} ${words} answered 409 (${err.ovhMessage || 'no message'}): wait and write again`,
        );
        this.checkDeadline(`PUT ${path} still answers 409 (${err.ovhMessage || 'no message'})`);
        await sleep(this.poll.initialMs, this.ctx.signal);
      }
    }
  }

  /** Waits until the load balancer is `active`; `error` and deletion are failures no wait can fix. */
  async settled(): Promise<void> {
    this.deadline ??= Date.now() + this.settings.pendingTimeoutMs;
    const path = `${this.base}/loadbalancer/${enc(this.settings.loadBalancerId)}`;
    let waited = false;
    for (let delay = this.poll.initialMs; ; delay = Math.min(delay * 2, this.poll.maxMs)) {
      const lb = await this.api.get<LoadBalancer>(path, {}, this.ctx.signal);
      if (lb.provisioningStatus === 'active') {
        if (waited) this.actions.push(`load balancer active`);
        return;
      }
      if (lb.provisioningStatus === 'error' || lb.provisioningStatus.startsWith('delete')) {
        throw trafficFailure(
          'TrafficCommandRejected',
          `${this.label}: the load balancer is in provisioning status "${lb.provisioningStatus}", in which Octavia accepts no change; look at it in the OVH control panel (or recreate it), then switch again.`,
          { provisioningStatus: lb.provisioningStatus },
        );
      }
      if (!waited) this.actions.push(`wait for the load balancer (${lb.provisioningStatus}) to be active`);
      waited = true;
      this.checkDeadline(`the load balancer is still ${lb.provisioningStatus}`);
      this.ctx.heartbeat({ step: 'cloud-lb-wait-active', provisioningStatus: lb.provisioningStatus });
      await sleep(Math.min(delay, Math.max(1, this.deadline - Date.now())), this.ctx.signal);
    }
  }

  private checkDeadline(what: string): void {
    this.deadline ??= Date.now() + this.settings.pendingTimeoutMs;
    if (Date.now() < this.deadline) return;
    throw trafficFailure(
      'CloudLbPendingTimeout',
      `${this.label}: ${what} after the pending timeout (${formatMs(this.settings.pendingTimeoutMs)}); done so far: ${this.actions.join('; ') || 'nothing'}. A retry goes on from there.`,
    );
  }
}
