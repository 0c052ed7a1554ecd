import { ApplicationFailure } from '@temporalio/common';
import { trafficFailure } from './errors';
import {
  HaproxyRuntimeError,
  serverSessions,
  setServerState,
  showServersState,
  shutdownServerSessions,
  type HaproxyRuntime,
  type HaproxyServerState,
} from './haproxy-runtime';
import { formatMs, sleep } from './poll';
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

export interface HaproxyProviderSettings {
  backend: string;
  /** HAProxy servers of each site, in `backend`. */
  servers: Record<string, string[]>;
  /**
   * Given to the servers of the sites that get no traffic. `maint`: no traffic at all (persistent clients
   * included), and the switch also ends their open connections; HAProxy stops health-checking them. `drain`: no new
   * load-balanced traffic, but clients that persist to them (cookie, stick table) still reach them.
   */
  inactiveState: 'drain' | 'maint';
  /** How long a switch waits for HAProxy's health check to pass on the target before refusing it. */
  healthWaitMs: number;
  /** Pause between two reads while waiting for the health check. */
  healthPollMs?: number;
  /** For messages: where the runtime API is. */
  socket: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Traffic through one HAProxy's backend holding every site's servers (one node; ./haproxy-nodes.ts drives every
 * HAProxy of a pair with one of these each). A site receives traffic when its
 * servers are in admin state `ready`; the others are kept in `inactiveState`. The switch is make-before-break:
 * the target's servers are set `ready` first, then the others are taken out (with `maint`, their open connections
 * are then shut down, since HAProxy keeps established connections of a server put in maintenance), so there is no
 * moment without a server. A failure in between leaves both sites with traffic; running the switch again
 * completes it.
 *
 * HAProxy 2.6 management guide, "set server … state": "maint" disables any traffic to the server as well as any
 * health checks; "drain" only removes it from load balancing but still lets it be checked and accept new persistent
 * connections. "shutdown sessions server" terminates the sessions still attached to a server in maintenance.
 */
export class HaproxyBackend implements TrafficProvider {
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
    const sessions = await this.call(() => serverSessions(this.runtime, backend));
    const members: TrafficMember[] = [];
    for (const [site, names] of Object.entries(servers)) {
      for (const name of names) {
        const s = states.get(name)!;
        const connections = sessions.get(name) ?? 0;
        const health = s.admin === 'maint' ? 'not checked' : s.op.toUpperCase();
        members.push({
          site,
          name,
          receivesTraffic: s.admin === 'ready',
          state: s.admin,
          // In maintenance HAProxy stops checking the server: its health is unknown.
          healthy: s.admin === 'maint' ? undefined : s.op === 'up' || s.op === 'starting',
          connections,
          description: `${name} ${s.admin}, ${health}${connections > 0 ? `, ${plural(connections, 'open connection')}` : ''}`,
        });
      }
    }
    const idleWords = (site: string) => {
      const mine = members.filter((m) => m.site === site);
      const open = mine.reduce((sum, m) => sum + (m.connections ?? 0), 0);
      if (mine.some((m) => m.state === 'drain'))
        return 'gets no new load-balanced traffic but still admits clients that persist to it';
      return open > 0 ? `gets no new traffic but still has ${plural(open, 'open connection')}` : 'gets none';
    };
    const { sites, sentence } = summariseMembers(this.sites, members, '', idleWords);
    return {
      provider: 'haproxy',
      site: sites.length === 1 ? sites[0] : undefined,
      sites,
      members,
      description: `HAProxy backend ${backend} ${sentence}.`,
    };
  }

  async switchTo(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficSwitchResult> {
    const { backend } = this.settings;
    const targets = this.serversOf(site);
    let before = await this.currentTarget();
    const others = () => before.members.filter((m) => m.site !== site);
    const isTarget = (m: TrafficMember) => m.site === site;

    if (
      before.members.filter(isTarget).every((m) => m.receivesTraffic) &&
      others().every((m) => this.out(m))
    ) {
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
    before = await this.waitForTargetHealth(site, before, ctx);

    const actions: string[] = [];
    const run = this.recorder(actions);
    for (const t of targets) {
      if (before.members.find((m) => m.name === t)?.receivesTraffic) continue;
      await run(`set server ${backend}/${t} state ready`, () =>
        setServerState(this.runtime, backend, t, 'ready'),
      );
    }
    for (const m of others().filter((o) => !this.out(o))) await this.takeOut(m, run);

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
      description: `HAProxy backend ${backend} now sends all ${this.trafficWord} to ${site} (before: ${from}); ${actions.join(', then ')}.`,
      state: after,
    };
  }

  async drain(site: string, _ctx?: ProviderContext): Promise<TrafficDrainResult> {
    const { backend } = this.settings;
    this.serversOf(site);
    const before = await this.currentTarget();
    const mine = before.members.filter((m) => m.site === site && !this.out(m));
    const fields = { provider: 'haproxy' as const, site };
    if (mine.length === 0) {
      const description = `HAProxy backend ${backend} already sends ${site} no traffic; nothing changed.`;
      return { ...fields, changed: false, actions: [], description, state: before };
    }
    const actions: string[] = [];
    const run = this.recorder(actions);
    for (const m of mine) await this.takeOut(m, run);
    const after = await this.currentTarget();
    const description = `HAProxy backend ${backend} no longer sends traffic to ${site}: ${actions.join(', then ')}. Now it ${after.description.replace(`HAProxy backend ${backend} `, '')}`;
    return { ...fields, changed: true, actions, description, state: after };
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
      this.othersOutCheck(others),
    ];
    const drained = [...new Set(others.filter((m) => m.state === 'drain').map((m) => m.site))];
    const drainNote =
      drained.length === 0
        ? ''
        : `; ${drained.join(' and ')} ${drained.length === 1 ? 'is' : 'are'} drained: clients that persist to ${drained.length === 1 ? 'it' : 'them'} still reach ${drained.length === 1 ? 'it' : 'them'}`;
    return verifyResult(
      { provider: 'haproxy', site, propagationSeconds: 0, state },
      checks,
      `HAProxy backend ${backend}`,
      `HAProxy backend ${backend} sends all ${drained.length > 0 ? 'load-balanced traffic' : 'traffic'} to ${site}, whose servers pass the health check${drainNote}.`,
    );
  }

  /** "traffic" when the other sites go to maintenance; only "load-balanced traffic" when they are drained. */
  private get trafficWord(): string {
    return this.settings.inactiveState === 'maint' ? 'traffic' : 'load-balanced traffic';
  }

  /** Whether a server of another site is out as the runbook wants it: in maintenance without connections, or drained. */
  private out(m: TrafficMember): boolean {
    return this.settings.inactiveState === 'maint'
      ? m.state === 'maint' && (m.connections ?? 0) === 0
      : !m.receivesTraffic;
  }

  /** Runs runtime API commands, each recorded in `actions` once it succeeded. */
  private recorder(actions: string[]) {
    return async (command: string, fn: () => Promise<void>) => {
      await this.call(fn);
      actions.push(command);
    };
  }

  private async takeOut(m: TrafficMember, run: (command: string, fn: () => Promise<void>) => Promise<void>) {
    const { backend, inactiveState } = this.settings;
    if (m.state !== inactiveState && (inactiveState === 'maint' || m.receivesTraffic)) {
      await run(`set server ${backend}/${m.name} state ${inactiveState}`, () =>
        setServerState(this.runtime, backend, m.name, inactiveState),
      );
    }
    if (inactiveState === 'maint') {
      await run(`shutdown sessions server ${backend}/${m.name}`, () =>
        shutdownServerSessions(this.runtime, backend, m.name),
      );
    }
  }

  private othersOutCheck(others: TrafficMember[]): TrafficCheck {
    const names = (ms: TrafficMember[]) => ms.map((m) => m.description).join(', ');
    const sitesOf = (ms: TrafficMember[]) => [...new Set(ms.map((m) => m.site))].join(' and ');
    const ready = others.filter((m) => m.receivesTraffic);
    if (ready.length > 0) {
      return { name: 'others-out', ok: false, sentence: `other sites still get traffic (${names(ready)}).` };
    }
    if (this.settings.inactiveState === 'drain') {
      return {
        name: 'others-out',
        ok: true,
        sentence: `no other site takes new load-balanced traffic; drained servers still admit clients that persist to them (${names(others) || 'none'}).`,
      };
    }
    const drained = others.filter((m) => m.state === 'drain');
    if (drained.length > 0) {
      return {
        name: 'others-out',
        ok: false,
        sentence: `${sitesOf(drained)} is drained, not in maintenance: HAProxy still sends it the clients that persist to it (${names(drained)}).`,
      };
    }
    const open = others.filter((m) => (m.connections ?? 0) > 0);
    if (open.length > 0) {
      return {
        name: 'others-out',
        ok: false,
        sentence: `${sitesOf(open)} is in maintenance but HAProxy still holds connections to it (${names(open)}).`,
      };
    }
    const idle = sitesOf(others);
    return {
      name: 'others-out',
      ok: true,
      sentence:
        others.length === 0
          ? 'no other site gets traffic (none).'
          : `no other site gets traffic: ${idle} ${idle.includes(' and ') ? 'are' : 'is'} in maintenance with no open connection (${names(others)}).`,
    };
  }

  /**
   * HAProxy takes a few checks to see a freshly started server up: while every target server is known to fail its
   * health check, wait (heartbeating) up to `healthWaitMs`, then refuse without changing anything.
   */
  private async waitForTargetHealth(
    site: string,
    state: TrafficState,
    ctx: ProviderContext,
  ): Promise<TrafficState> {
    const { backend, healthWaitMs, healthPollMs = 500 } = this.settings;
    const failing = (s: TrafficState) => {
      const known = s.members.filter((m) => m.site === site && m.healthy !== undefined);
      return known.length === this.serversOf(site).length && known.every((m) => m.healthy === false);
    };
    const deadline = Date.now() + healthWaitMs;
    let current = state;
    while (failing(current)) {
      if (Date.now() >= deadline) {
        const members = current.members.filter((m) => m.site === site).map((m) => m.description);
        throw trafficFailure(
          'TrafficTargetUnhealthy',
          `not switching HAProxy backend ${backend} to ${site}: its servers fail HAProxy's health check (${members.join(', ')}) after waiting ${formatMs(healthWaitMs)}; nothing was changed. Look at the application on ${site} (its health URL answers HAProxy's check) and at HAProxy's log for the check's reason, then switch again.`,
          current,
        );
      }
      ctx.heartbeat({ step: 'haproxy-wait-target-health', site });
      await sleep(Math.min(healthPollMs, Math.max(1, deadline - Date.now())), ctx.signal);
      current = await this.currentTarget();
    }
    return current;
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

  /** Runs a runtime API call, turning its errors into typed failures that say what to look at. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      const socket = this.settings.socket;
      if (err instanceof HaproxyRuntimeError) {
        if (err.kind !== 'rejected') throw trafficFailure('TrafficProviderUnreachable', err.message);
        if (/no such (backend|server|proxy)|can't find backend|has no backend/i.test(err.message)) {
          throw trafficFailure(
            'TrafficMisconfigured',
            `${err.message}; check the runbook's traffic.backend and traffic.servers against HAProxy's configuration (was it reloaded with other names?).`,
          );
        }
        const hint = /permission denied/i.test(err.message)
          ? `the runtime API socket ${socket} must be declared with "level admin" (stats socket … level admin)`
          : `look at HAProxy's answer and its version (this provider is written for HAProxy 2.6's runtime API)`;
        throw trafficFailure('TrafficCommandRejected', `${err.message}; ${hint}.`);
      }
      throw trafficFailure('TrafficProviderUnreachable', `HAProxy runtime API at ${socket}: ${err}`);
    }
  }
}
