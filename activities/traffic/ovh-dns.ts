import { trafficFailure } from './errors';
import { guardOvh, type OvhClient } from './ovh-client';
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
import { NO_CONTEXT, verifyResult } from './provider';

export interface OvhDnsSettings {
  zone: string;
  subDomain: string;
  fieldType: 'A' | 'AAAA' | 'CNAME';
  /** Record target of each site. */
  targets: Record<string, string>;
  /** TTL written with a switch, in seconds. */
  ttl: number;
  /** How long to wait for the zone to be deployed after its refresh. */
  refreshTimeoutMs: number;
  poll?: PollSettings;
}

/** `domain.zone.Record`. */
interface DnsRecord {
  id: number;
  zone: string;
  subDomain: string | null;
  fieldType: string;
  target: string;
  ttl: number | null;
}

/** `GET /domain/zone/{zone}/status`. */
interface ZoneStatus {
  isDeployed: boolean;
  errors?: string[] | null;
  warnings?: string[] | null;
}

interface DnsRead {
  record: DnsRecord;
  status: ZoneStatus;
  state: TrafficState;
}

const enc = encodeURIComponent;

/** Targets compare without case and without a final dot (CNAME targets may carry one). */
function sameTarget(a: string, b: string): boolean {
  const norm = (t: string) => t.trim().toLowerCase().replace(/\.$/, '');
  return norm(a) === norm(b);
}

/**
 * Traffic through one OVH DNS record (API v1): the record named by the runbook (`fieldType` + `subDomain`) points at
 * the target of the site that receives traffic. A switch PUTs the record's `target` and `ttl`, POSTs the zone
 * refresh, and waits (heartbeating, bounded by `refreshTimeout`) until the zone status says it is deployed.
 *
 * `propagationSeconds` is the TTL: resolvers may serve the previous answer that long, so it is part of the RTO.
 * After a change it is the larger of the old and the new TTL, since the old answer was cached under the old one.
 * A switch to the target already in the record and deployed is a no-op; one whose record was changed but whose zone
 * is not deployed (an earlier attempt failed after its PUT) only refreshes the zone.
 */
export class OvhDnsTrafficProvider implements TrafficProvider {
  readonly kind = 'ovh-dns' as const;
  readonly sites: string[];
  private readonly base: string;
  private readonly poll: PollSettings;

  constructor(
    private readonly settings: OvhDnsSettings,
    private readonly api: OvhClient,
  ) {
    this.sites = Object.keys(settings.targets);
    this.base = `/domain/zone/${enc(settings.zone)}`;
    this.poll = settings.poll ?? DEFAULT_POLL;
  }

  private get name(): string {
    const { subDomain, zone } = this.settings;
    return subDomain ? `${subDomain}.${zone}` : zone;
  }

  private get label(): string {
    return `OVH DNS record ${this.name} ${this.settings.fieldType}`;
  }

  async currentTarget(ctx: ProviderContext = NO_CONTEXT): Promise<TrafficState> {
    return this.guard(async () => (await this.read(ctx.signal)).state);
  }

  async switchTo(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficSwitchResult> {
    return this.guard(async () => {
      const target = this.targetOf(site);
      const started = Date.now();
      const before = await this.read(ctx.signal);
      const oldTtl = before.record.ttl ?? 0;
      const pointsThere = sameTarget(before.record.target, target);
      if (pointsThere && before.state.live) {
        return {
          provider: this.kind,
          site,
          changed: false,
          before: before.state.sites,
          actions: [],
          propagationSeconds: oldTtl,
          description: `${this.label} already points at ${site} (${before.record.target}) and the zone is deployed; nothing changed.${this.ttlNote(before.record)}`,
          state: before.state,
        };
      }

      const actions: string[] = [];
      if (!pointsThere) {
        const path = `${this.base}/record/${before.record.id}`;
        await this.api.put(path, { target, ttl: this.settings.ttl }, ctx.signal);
        actions.push(`PUT ${path} target=${target} ttl=${this.settings.ttl}`);
      }
      await this.api.post(`${this.base}/refresh`, undefined, ctx.signal);
      actions.push(`POST ${this.base}/refresh`);
      await this.waitDeployed(ctx);
      actions.push('zone deployed');

      const after = await this.read(ctx.signal);
      if (!sameTarget(after.record.target, target) || !after.state.live) {
        throw trafficFailure(
          'TrafficSwitchIncomplete',
          `after switching ${this.label} to ${site}: ${after.state.description}`,
          after.state,
        );
      }
      const newTtl = after.record.ttl ?? 0;
      const propagationSeconds = pointsThere ? newTtl : Math.max(oldTtl, newTtl);
      const from = before.state.sites.length > 0 ? before.state.sites.join(' and ') : 'no site';
      const how = pointsThere
        ? `the record already pointed there but the zone was not deployed: refreshed it`
        : `set the target to ${target} with TTL ${this.settings.ttl} s and refreshed the zone`;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      return {
        provider: this.kind,
        site,
        changed: true,
        before: before.state.sites,
        actions,
        propagationSeconds,
        description: `${this.label} now points at ${site} (before: ${from}): ${how}, deployed (${seconds} s); resolvers follow within ${propagationSeconds} s (the TTL).`,
        state: after.state,
      };
    });
  }

  /** A DNS record always points somewhere: the site keeps its traffic until the switch; nothing is changed. */
  async drain(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficDrainResult> {
    return this.guard(async () => {
      this.targetOf(site);
      const before = await this.read(ctx.signal);
      const description = `${this.label} cannot leave ${site} without traffic (a DNS record always points somewhere): ${site} keeps it until the switch; nothing changed.`;
      return { provider: this.kind, site, changed: false, actions: [], description, state: before.state };
    });
  }

  async verify(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficVerifyResult> {
    return this.guard(async () => {
      const target = this.targetOf(site);
      const read = await this.read(ctx.signal);
      const errors = read.status.errors ?? [];
      const checks: TrafficCheck[] = [
        {
          name: 'record-target',
          ok: sameTarget(read.record.target, target),
          sentence: sameTarget(read.record.target, target)
            ? `the record points at ${target}, the target of ${site}.`
            : `the record points at ${read.record.target}, not at ${site}'s target ${target}.`,
        },
        {
          name: 'zone-deployed',
          ok: read.status.isDeployed && errors.length === 0,
          sentence: !read.status.isDeployed
            ? `zone ${this.settings.zone} is not deployed yet.`
            : errors.length > 0
              ? `zone ${this.settings.zone} reports errors: ${errors.join('; ')}.`
              : `zone ${this.settings.zone} is deployed.`,
        },
      ];
      return verifyResult(
        { provider: this.kind, site, propagationSeconds: read.record.ttl ?? 0, state: read.state },
        checks,
        this.label,
        `${this.label} points at ${site} (${target}) and the zone is deployed; resolvers follow within ${read.record.ttl ?? 0} s.`,
      );
    });
  }

  /** Finds the one record (ids filtered by fieldType and subDomain, then each read) and the zone's status. */
  private async read(signal?: AbortSignal): Promise<DnsRead> {
    const { fieldType, subDomain, zone } = this.settings;
    const ids = await this.api.get<number[]>(`${this.base}/record`, { fieldType, subDomain }, signal);
    if (ids.length !== 1) {
      throw trafficFailure(
        'TrafficMisconfigured',
        ids.length === 0
          ? `zone ${zone} has no ${fieldType} record "${subDomain}"; create it (the provider only changes an existing record).`
          : `zone ${zone} has ${ids.length} ${fieldType} records "${subDomain}" (ids ${ids.join(', ')}); the provider switches exactly one.`,
      );
    }
    const record = await this.api.get<DnsRecord>(`${this.base}/record/${ids[0]}`, {}, signal);
    const status = await this.api.get<ZoneStatus>(`${this.base}/status`, {}, signal);
    const live = status.isDeployed && (status.errors ?? []).length === 0;

    const members: TrafficMember[] = this.sites.map((site) => {
      const target = this.settings.targets[site]!;
      const current = sameTarget(record.target, target);
      return {
        site,
        name: `${fieldType} ${target}`,
        receivesTraffic: current,
        state: current ? 'current' : 'idle',
        description: `${fieldType} ${target}`,
      };
    });
    const sites = this.sites.filter((s) => members.some((m) => m.site === s && m.receivesTraffic));
    const idle = members.filter((m) => !m.receivesTraffic);
    const ttl = record.ttl ? `TTL ${record.ttl} s` : 'the zone default TTL';
    const pointing =
      sites.length === 0
        ? `points at ${record.target}, no site's target in the runbook`
        : `points at ${sites.join(' and ')} (${record.target})`;
    const rest =
      idle.length === 0
        ? ''
        : `; ${idle.map((m) => `${m.site} (${this.settings.targets[m.site]}) gets none`).join('; ')}`;
    const liveness = live
      ? 'the zone is deployed'
      : !status.isDeployed
        ? 'the zone is NOT deployed yet: resolvers may still get the previous answer'
        : `the zone reports errors: ${(status.errors ?? []).join('; ')}`;
    return {
      record,
      status,
      state: {
        provider: this.kind,
        site: sites.length === 1 ? sites[0] : undefined,
        sites,
        members,
        live,
        description: `${this.label} (id ${record.id}, ${ttl}) ${pointing}${rest}; ${liveness}.`,
      },
    };
  }

  private async waitDeployed(ctx: ProviderContext): Promise<void> {
    const deadline = Date.now() + this.settings.refreshTimeoutMs;
    for (let delay = this.poll.initialMs; ; delay = Math.min(delay * 2, this.poll.maxMs)) {
      const status = await this.api.get<ZoneStatus>(`${this.base}/status`, {}, ctx.signal);
      if (status.isDeployed) return;
      if (Date.now() >= deadline) {
        throw trafficFailure(
          'TrafficSwitchIncomplete',
          `${this.label}: zone ${this.settings.zone} is still not deployed ${formatMs(this.settings.refreshTimeoutMs)} after its refresh; a retry refreshes it again.`,
        );
      }
      ctx.heartbeat({ step: 'dns-zone-deploy', zone: this.settings.zone });
      await sleep(Math.min(delay, Math.max(1, deadline - Date.now())), ctx.signal);
    }
  }

  private ttlNote(record: DnsRecord): string {
    return record.ttl !== null && record.ttl !== this.settings.ttl
      ? ` Its TTL is ${record.ttl} s; the runbook says ${this.settings.ttl} s (applied at the next switch).`
      : '';
  }

  private targetOf(site: string): string {
    const target = this.settings.targets[site];
    if (target === undefined) {
      throw trafficFailure(
        'UnknownSite',
        `site "${site}" has no target for ${this.label} (sites: ${this.sites.join(', ')})`,
      );
    }
    return target;
  }

  private guard<T>(fn: () => Promise<T>): Promise<T> {
    return guardOvh(this.label, "check the runbook's zone and record.", fn);
  }
}
