import { ApplicationFailure } from '@temporalio/common';
import { trafficFailure } from './errors';
import {
  HaproxyRuntimeError,
  setServerState,
  showServersState,
  type HaproxyRuntime,
  type HaproxyServerState,
} from './haproxy-runtime';
import type {
  ProviderContext,
  TrafficCheck,
  TrafficMember,
  TrafficProvider,
  TrafficState,
  TrafficSwitchResult,
  TrafficVerifyResult,
} from './provider';
import { summariseMembers, verifyResult } from './provider';

export interface HaproxyProviderSettings {
  backend: string;
  /** HAProxy servers of each site, in `backend`. */
  servers: Record<string, string[]>;
  /** Given to the servers of the sites that get no traffic; drain keeps them health-checked. */
  inactiveState: 'drain' | 'maint';
  /** For messages: where the runtime API is. */
  socket: string;
}

/**
 * Traffic through one HAProxy backend holding every site's servers. A site receives traffic when its
 * servers are in admin state `ready`; the others are kept in `drain` (or `maint`). The switch is
 * make-before-break: the target's servers are set `ready` first, then the others are taken out, so there is
 * no moment without a server. A failure between the two leaves both sites with traffic; running the switch
 * again completes it.
 */
export class HaproxyTrafficProvider implements TrafficProvider {
  readonly kind = 'haproxy' as const;
  readonly sites: string[];

  constructor(
    private readonly settings: HaproxyProviderSettings,
    private readonly runtime: HaproxyRuntime,
  ) {
    this.sites = Object.keys(settings.servers);
  }

  async currentTarget(_ctx?: ProviderContext): Promise<TrafficState> {
    const { backend, servers } = this.settings;
    const states = await this.readStates();
    const members: TrafficMember[] = [];
    for (const [site, names] of Object.entries(servers)) {
      for (const name of names) {
        const s = states.get(name)!;
        members.push({
          site,
          name,
          receivesTraffic: s.admin === 'ready',
          state: s.admin,
          // In maintenance HAProxy stops checking the server: its health is unknown.
          healthy: s.admin === 'maint' ? undefined : s.op === 'up' || s.op === 'starting',
          description: `${name} ${s.admin}, ${s.admin === 'maint' ? 'not checked' : s.op.toUpperCase()}`,
        });
      }
    }
    const { sites, sentence } = summariseMembers(this.sites, members);
    return {
      provider: 'haproxy',
      site: sites.length === 1 ? sites[0] : undefined,
      sites,
      members,
      description: `HAProxy backend ${backend} ${sentence}.`,
    };
  }

  async switchTo(site: string, _ctx?: ProviderContext): Promise<TrafficSwitchResult> {
    const { backend, inactiveState } = this.settings;
    const targets = this.serversOf(site);
    const before = await this.currentTarget();
    const memberOf = (name: string) => before.members.find((m) => m.name === name)!;
    const others = before.members.filter((m) => m.site !== site);

    if (targets.every((t) => memberOf(t).receivesTraffic) && others.every((m) => !m.receivesTraffic)) {
      return {
        provider: 'haproxy',
        site,
        changed: false,
        before: before.sites,
        actions: [],
        propagationSeconds: 0,
        description: `HAProxy backend ${backend} already sends all traffic to ${site}; nothing changed.`,
        state: before,
      };
    }
    // Drained servers are still health-checked: do not send traffic to a site HAProxy sees as down.
    const known = targets.map(memberOf).filter((m) => m.healthy !== undefined);
    if (known.length === targets.length && known.every((m) => m.healthy === false)) {
      throw trafficFailure(
        'TrafficTargetUnhealthy',
        `not switching HAProxy backend ${backend} to ${site}: its servers fail HAProxy's health check (${known
          .map((m) => m.description)
          .join(', ')}).`,
        before,
      );
    }

    const actions: string[] = [];
    const set = async (server: string, state: 'ready' | 'drain' | 'maint') => {
      await this.call(() => setServerState(this.runtime, backend, server, state));
      actions.push(`set server ${backend}/${server} state ${state}`);
    };
    for (const t of targets) if (!memberOf(t).receivesTraffic) await set(t, 'ready');
    for (const m of others) if (m.receivesTraffic) await set(m.name, inactiveState);

    const after = await this.currentTarget();
    if (after.sites.length !== 1 || after.site !== site) {
      throw trafficFailure(
        'TrafficSwitchIncomplete',
        `after switching HAProxy backend ${backend} to ${site}: ${after.description}`,
        after,
      );
    }
    const from = before.sites.length > 0 ? before.sites.join(' and ') : 'no site';
    return {
      provider: 'haproxy',
      site,
      changed: true,
      before: before.sites,
      actions,
      propagationSeconds: 0,
      description: `HAProxy backend ${backend} now sends all traffic to ${site} (before: ${from}); ${actions.join(', then ')}.`,
      state: after,
    };
  }

  async verify(site: string, _ctx?: ProviderContext): Promise<TrafficVerifyResult> {
    const { backend } = this.settings;
    this.serversOf(site);
    const state = await this.currentTarget();
    const mine = state.members.filter((m) => m.site === site);
    const others = state.members.filter((m) => m.site !== site);
    const names = (ms: TrafficMember[]) => ms.map((m) => m.description).join(', ');
    const checks: TrafficCheck[] = [
      {
        name: 'target-ready',
        ok: mine.every((m) => m.receivesTraffic),
        sentence: mine.every((m) => m.receivesTraffic)
          ? `every server of ${site} is ready in backend ${backend} (${names(mine)}).`
          : `not every server of ${site} takes traffic in backend ${backend} (${names(mine)}).`,
      },
      {
        name: 'target-healthy',
        ok: mine.every((m) => m.healthy === true),
        sentence: mine.every((m) => m.healthy === true)
          ? `HAProxy's health check passes on ${site} (${names(mine)}).`
          : `HAProxy's health check does not pass on every server of ${site} (${names(mine)}).`,
      },
      {
        name: 'others-out',
        ok: others.every((m) => !m.receivesTraffic),
        sentence: others.every((m) => !m.receivesTraffic)
          ? `no other site gets traffic (${names(others) || 'none'}).`
          : `other sites still get traffic (${names(others.filter((m) => m.receivesTraffic))}).`,
      },
    ];
    return verifyResult(
      { provider: 'haproxy', site, propagationSeconds: 0, state },
      checks,
      `HAProxy backend ${backend}`,
      `HAProxy backend ${backend} sends all traffic to ${site}, whose servers pass the health check.`,
    );
  }

  private serversOf(site: string): string[] {
    const servers = this.settings.servers[site];
    if (!servers) {
      throw trafficFailure(
        'UnknownSite',
        `site "${site}" has no server in HAProxy backend ${this.settings.backend} (sites: ${this.sites.join(', ')})`,
      );
    }
    return servers;
  }

  private async readStates(): Promise<Map<string, HaproxyServerState>> {
    const { backend, servers } = this.settings;
    const states = await this.call(() => showServersState(this.runtime, backend));
    const byName = new Map(states.map((s) => [s.server, s]));
    const missing = Object.values(servers)
      .flat()
      .filter((name) => !byName.has(name));
    if (missing.length > 0) {
      throw trafficFailure(
        'TrafficMisconfigured',
        `HAProxy backend ${backend} has no server ${missing.join(', ')} (it has: ${[...byName.keys()].join(', ') || 'none'})`,
      );
    }
    return byName;
  }

  /** Runs a runtime API call, turning its errors into typed failures. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (err instanceof HaproxyRuntimeError) {
        if (err.kind === 'rejected') {
          throw trafficFailure(
            /no backend|no such server/i.test(err.message)
              ? 'TrafficMisconfigured'
              : 'TrafficCommandRejected',
            err.message,
          );
        }
        throw trafficFailure('TrafficProviderUnreachable', err.message);
      }
      throw trafficFailure(
        'TrafficProviderUnreachable',
        `HAProxy runtime API at ${this.settings.socket}: ${err}`,
      );
    }
  }
}
