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

export interface OvhIplbSettings {
  serviceName: string;
  protocol: 'http' | 'tcp';
  frontendId: number;
  /** `frontend-farm`: the frontend's default farm is the site's farm. `server-status`: the site's servers are `active`, the others `inactive`. */
  mode: 'frontend-farm' | 'server-status';
  farms?: Record<string, number>;
  servers?: Record<string, { farmId: number; serverId: number }>;
  /** Bound of the whole refresh protocol (waiting for running refreshes, then ours). */
  refreshTimeoutMs: number;
  poll?: PollSettings;
}

/** `ipLoadbalancing.frontendHttp.FrontendHttp` / `frontendTcp.FrontendTcp`, the fields used here. */
interface Frontend {
  frontendId: number;
  defaultFarmId: number | null;
  disabled: boolean;
  zone: string;
}

/** `backendHttpCustomerServer.BackendHTTPServer` / `backendTcpCustomerServer.BackendTCPServer`, the fields used here. */
interface Server {
  serverId: number;
  backendId: number;
  status: 'active' | 'inactive';
  /** What the farm's probe reports, one entry per Load Balancer instance (`ipLoadbalancing.ServerState`). */
  serverState?: { instanceId: number; status: string | null; checkStatus: string | null }[];
}

interface PendingChange {
  number: number;
  zone: string;
}

/** `ipLoadbalancing.Task.Task`. */
interface Task {
  id: number;
  action: string;
  status: 'blocked' | 'cancelled' | 'doing' | 'done' | 'error' | 'todo';
  progress: number;
  zones: string[];
}

/** What one read of the API shows: the configuration (as the API edits it) and whether it is the applied one. */
interface IplbRead {
  state: TrafficState;
  frontend?: Frontend;
  servers: Map<string, Server>;
  pending: PendingChange[];
  running: number[];
}

const enc = encodeURIComponent;

/**
 * Traffic through an OVH IP Load Balancer (API v1), in one of two modes: `frontend-farm` sets the frontend's
 * `defaultFarmId` to the site's farm; `server-status` sets the site's server `active` and the others `inactive`
 * (make-before-break). Either is followed by the refresh protocol of terraform-provider-ovh: wait until no
 * `refreshIplb` task is `todo`/`doing`, read `pendingChanges`, `POST /refresh` if there are any, and poll the task
 * until `done` (heartbeating; bounded by the runbook's `refreshTimeout`; a task in `error` is `IplbRefreshFailed`).
 *
 * The API shows the configuration as edited, not as running: while changes are pending (or a refresh runs) the
 * state is reported `live: false`. A switch whose target is configured and live is a no-op; one whose target is
 * configured but not live (a previous attempt failed after its PUT) only runs the refresh.
 */
export class OvhIplbTrafficProvider implements TrafficProvider {
  readonly kind = 'ovh-iplb' as const;
  readonly sites: string[];
  private readonly base: string;
  private readonly poll: PollSettings;

  constructor(
    private readonly settings: OvhIplbSettings,
    private readonly api: OvhClient,
  ) {
    const table = settings.mode === 'frontend-farm' ? settings.farms : settings.servers;
    this.sites = Object.keys(table ?? {});
    this.base = `/ipLoadbalancing/${enc(settings.serviceName)}`;
    this.poll = settings.poll ?? DEFAULT_POLL;
  }

  private get label(): string {
    const { serviceName, protocol, frontendId, mode } = this.settings;
    return mode === 'frontend-farm'
      ? `OVH IPLB ${serviceName} ${protocol} frontend ${frontendId}`
      : `OVH IPLB ${serviceName}`;
  }

  async currentTarget(ctx: ProviderContext = NO_CONTEXT): Promise<TrafficState> {
    return this.guard(async () => (await this.read(ctx.signal)).state);
  }

  async switchTo(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficSwitchResult> {
    return this.guard(async () => {
      this.checkSite(site);
      const started = Date.now();
      const before = await this.read(ctx.signal);
      const configured = this.configuredFor(before, site);
      if (configured && before.state.live) {
        return {
          provider: this.kind,
          site,
          changed: false,
          before: before.state.sites,
          actions: [],
          propagationSeconds: 0,
          description: `${this.label} already sends all traffic to ${site} (${this.targetWords(site)}), and it is live; nothing changed.`,
          state: before.state,
        };
      }
      if (this.settings.mode === 'frontend-farm' && before.frontend?.disabled) {
        throw trafficFailure(
          'TrafficMisconfigured',
          `${this.label} is disabled: not switching it to ${site}; enable the frontend or fix the runbook.`,
          before.state,
        );
      }

      if (!configured) await this.refuseUnhealthyTarget(site, ctx.signal);
      const actions: string[] = [];
      if (!configured) await this.configure(site, before, actions, ctx.signal);
      const refreshed = await this.refresh(actions, ctx);

      const after = await this.read(ctx.signal);
      if (!this.configuredFor(after, site) || !after.state.live || after.state.site !== site) {
        throw trafficFailure(
          'TrafficSwitchIncomplete',
          `after switching ${this.label} to ${site}: ${after.state.description}`,
          after.state,
        );
      }
      const from = before.state.sites.length > 0 ? before.state.sites.join(' and ') : 'no site';
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const how = configured
        ? `finished an earlier switch to ${site} whose change was not live yet: ${refreshed}`
        : `${this.configureWords(site)}, then ${refreshed}`;
      return {
        provider: this.kind,
        site,
        changed: true,
        before: before.state.sites,
        actions,
        propagationSeconds: 0,
        description: `${this.label} now sends all traffic to ${site} (before: ${from}): ${how} (${seconds} s).`,
        state: after.state,
      };
    });
  }

  /**
   * `server-status`: the site's server is set `inactive` and the change applied. `frontend-farm`: a frontend always
   * sends its traffic to its default farm, so the site keeps it until the switch; nothing is changed.
   */
  async drain(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficDrainResult> {
    return this.guard(async () => {
      this.checkSite(site);
      const before = await this.read(ctx.signal);
      const fields = { provider: this.kind, site };
      if (this.settings.mode === 'frontend-farm') {
        const description = `${this.label} cannot leave ${site} without traffic (a frontend always sends it to its default farm): ${site} keeps it until the switch; nothing changed.`;
        return { ...fields, changed: false, actions: [], description, state: before.state };
      }
      const server = before.servers.get(site);
      if (server?.status === 'inactive' && before.state.live) {
        const description = `${this.label} already sends ${site} no traffic (${this.targetWords(site)} inactive), and it is live; nothing changed.`;
        return { ...fields, changed: false, actions: [], description, state: before.state };
      }
      const actions: string[] = [];
      if (server?.status !== 'inactive') {
        const { farmId, serverId } = this.settings.servers![site]!;
        const path = `${this.base}/${this.settings.protocol}/farm/${farmId}/server/${serverId}`;
        await this.api.put(path, { status: 'inactive' }, ctx.signal);
        actions.push(`PUT ${path} status=inactive`);
      }
      const refreshed = await this.refresh(actions, ctx);
      const after = await this.read(ctx.signal);
      const description = `${this.label} no longer sends traffic to ${site} (${this.targetWords(site)} inactive), then ${refreshed}.`;
      return { ...fields, changed: true, actions, description, state: after.state };
    });
  }

  async verify(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficVerifyResult> {
    return this.guard(async () => {
      this.checkSite(site);
      const read = await this.read(ctx.signal);
      const checks: TrafficCheck[] = [];
      if (this.settings.mode === 'frontend-farm') {
        const farm = this.settings.farms![site]!;
        const frontend = read.frontend!;
        checks.push({
          name: 'target-configured',
          ok: frontend.defaultFarmId === farm,
          sentence:
            frontend.defaultFarmId === farm
              ? `the frontend's default farm is ${farm}, the farm of ${site}.`
              : `the frontend's default farm is ${frontend.defaultFarmId ?? 'none'}, not ${site}'s farm ${farm}.`,
        });
        checks.push({
          name: 'frontend-enabled',
          ok: !frontend.disabled,
          sentence: frontend.disabled ? 'the frontend is disabled.' : 'the frontend is enabled.',
        });
        const active = await this.api.get<number[]>(
          `${this.base}/${this.settings.protocol}/farm/${farm}/server`,
          { status: 'active' },
          ctx.signal,
        );
        checks.push({
          name: 'target-servers-active',
          ok: active.length > 0,
          sentence:
            active.length > 0
              ? `farm ${farm} has ${active.length} active server(s) (${active.join(', ')}).`
              : `farm ${farm} has no active server.`,
        });
      } else {
        const mine = read.state.members.filter((m) => m.site === site);
        const others = read.state.members.filter((m) => m.site !== site);
        const list = (ms: TrafficMember[]) => ms.map((m) => m.description).join(', ') || 'none';
        checks.push({
          name: 'target-configured',
          ok: mine.every((m) => m.receivesTraffic),
          sentence: mine.every((m) => m.receivesTraffic)
            ? `the server of ${site} is active (${list(mine)}).`
            : `the server of ${site} is not active (${list(mine)}).`,
        });
        checks.push({
          name: 'others-out',
          ok: others.every((m) => !m.receivesTraffic),
          sentence: others.every((m) => !m.receivesTraffic)
            ? `no other site's server is active (${list(others)}).`
            : `other sites' servers are still active (${list(others.filter((m) => m.receivesTraffic))}).`,
        });
      }
      checks.push({
        name: 'live',
        ok: read.state.live === true,
        sentence: read.state.live
          ? 'the configuration is live (no pending change, no refresh running).'
          : `the configuration is not live yet: ${this.pendingWords(read)}.`,
      });
      return verifyResult(
        { provider: this.kind, site, propagationSeconds: 0, state: read.state },
        checks,
        this.label,
        `${this.label} sends all traffic to ${site} (${this.targetWords(site)}), live.`,
      );
    });
  }

  /** Reads the frontend or the servers, the pending changes and the running refresh tasks. */
  private async read(signal?: AbortSignal): Promise<IplbRead> {
    const { protocol, frontendId, mode } = this.settings;
    let frontend: Frontend | undefined;
    const servers = new Map<string, Server>();
    if (mode === 'frontend-farm') {
      frontend = await this.api.get<Frontend>(`${this.base}/${protocol}/frontend/${frontendId}`, {}, signal);
    } else {
      for (const [site, s] of Object.entries(this.settings.servers!)) {
        servers.set(
          site,
          await this.api.get<Server>(
            `${this.base}/${protocol}/farm/${s.farmId}/server/${s.serverId}`,
            {},
            signal,
          ),
        );
      }
    }
    const pending = await this.api.get<PendingChange[]>(`${this.base}/pendingChanges`, {}, signal);
    const running = await this.runningTasks(signal);
    const live = pending.length === 0 && running.length === 0;

    const members: TrafficMember[] = [];
    let extra = '';
    if (frontend) {
      for (const [site, farm] of Object.entries(this.settings.farms!)) {
        const isDefault = frontend.defaultFarmId === farm;
        members.push({
          site,
          name: `farm ${farm}`,
          receivesTraffic: isDefault && !frontend.disabled,
          state: isDefault ? 'default' : 'idle',
          description: isDefault ? `farm ${farm}, the default farm` : `farm ${farm}, unused`,
        });
      }
      if (frontend.disabled) extra = ' (the frontend is disabled)';
      else if (frontend.defaultFarmId === null) extra = ' (the frontend has no default farm)';
      else if (!members.some((m) => m.state === 'default'))
        extra = ` (its default farm ${frontend.defaultFarmId} is no site's farm in the runbook)`;
    } else {
      for (const [site, s] of Object.entries(this.settings.servers!)) {
        const server = servers.get(site)!;
        members.push({
          site,
          name: `server ${s.serverId}`,
          receivesTraffic: server.status === 'active',
          state: server.status,
          description: `server ${s.serverId} of farm ${s.farmId} ${server.status}`,
        });
      }
    }
    const { sites, sentence } = summariseMembers(this.sites, members, extra);
    const read: IplbRead = {
      frontend,
      servers,
      pending,
      running,
      state: { provider: this.kind, sites, members, live, description: '' },
    };
    const liveness = live
      ? 'live: no pending change, no refresh running'
      : `NOT live yet (the running configuration may differ): ${this.pendingWords(read)}`;
    read.state.site = sites.length === 1 ? sites[0] : undefined;
    read.state.description = `${this.label} ${sentence}; ${liveness}.`;
    return read;
  }

  /**
   * Refuses, before any change, a target whose servers the probe all reports down: the farm of `site` in
   * `frontend-farm` mode (only its `active` servers take traffic), the site's server in `server-status` mode.
   * OVH's guide "Retrieve server health status": the health of each server, per Load Balancer instance, is its
   * `serverState`, and "as soon as a server is detected as "down", the Load Balancer stops sending it data". A server
   * is down when every instance's `status` says so; one without probe results (no probe on the farm, or none run
   * yet) is not judged.
   */
  private async refuseUnhealthyTarget(site: string, signal?: AbortSignal): Promise<void> {
    const { protocol, mode } = this.settings;
    const farmId =
      mode === 'frontend-farm' ? this.settings.farms![site]! : this.settings.servers![site]!.farmId;
    const ids =
      mode === 'frontend-farm'
        ? await this.api.get<number[]>(`${this.base}/${protocol}/farm/${farmId}/server`, {}, signal)
        : [this.settings.servers![site]!.serverId];
    const servers: Server[] = [];
    for (const id of ids)
      servers.push(
        await this.api.get<Server>(`${this.base}/${protocol}/farm/${farmId}/server/${id}`, {}, signal),
      );
    const down = (s: Server) => {
      const reported = (s.serverState ?? []).filter((e) => e.status !== null);
      return reported.length > 0 && reported.every((e) => /^down\b/i.test(e.status!));
    };
    // In frontend-farm mode an inactive server takes no traffic; in server-status mode the switch activates it.
    const usable = servers.filter((s) => !down(s) && (mode === 'server-status' || s.status === 'active'));
    if (usable.length > 0) return;
    const words = servers.map((s) => {
      const probe = (s.serverState ?? [])
        .map(
          (e) =>
            `${e.status ?? 'no status'}${e.checkStatus ? ` (${e.checkStatus})` : ''} on instance ${e.instanceId}`,
        )
        .join(', ');
      return `server ${s.serverId} ${s.status}, ${probe || 'no probe result'}`;
    });
    const where = mode === 'frontend-farm' ? `farm ${farmId}` : `server ${ids[0]} of farm ${farmId}`;
    throw trafficFailure(
      'TrafficTargetUnhealthy',
      `not switching ${this.label} to ${site}: ${where} has no healthy server (${words.join('; ') || 'no server'}); nothing was changed. Look at the application on ${site} and at the farm's probe (serverState of GET ${this.base}/${protocol}/farm/${farmId}/server/{serverId}), then switch again.`,
    );
  }

  /** Whether the configuration (as the API shows it) sends traffic to `site` only. */
  private configuredFor(read: IplbRead, site: string): boolean {
    if (this.settings.mode === 'frontend-farm')
      return read.frontend?.defaultFarmId === this.settings.farms![site];
    return [...read.servers.entries()].every(([s, server]) =>
      s === site ? server.status === 'active' : server.status === 'inactive',
    );
  }

  private async configure(site: string, before: IplbRead, actions: string[], signal?: AbortSignal) {
    const { protocol, frontendId } = this.settings;
    if (this.settings.mode === 'frontend-farm') {
      const farm = this.settings.farms![site]!;
      const path = `${this.base}/${protocol}/frontend/${frontendId}`;
      await this.api.put(path, { defaultFarmId: farm }, signal);
      actions.push(`PUT ${path} defaultFarmId=${farm}`);
      return;
    }
    const set = async (s: string, status: 'active' | 'inactive') => {
      const { farmId, serverId } = this.settings.servers![s]!;
      const path = `${this.base}/${protocol}/farm/${farmId}/server/${serverId}`;
      await this.api.put(path, { status }, signal);
      actions.push(`PUT ${path} status=${status}`);
    };
    // Make before break: the target first, then the others.
    if (before.servers.get(site)?.status !== 'active') await set(site, 'active');
    for (const [s, server] of before.servers)
      if (s !== site && server.status !== 'inactive') await set(s, 'inactive');
  }

  /**
   * The refresh protocol. Returns a sentence about what it did. A 409 on POST (another refresh started in
   * between) goes back to waiting.
   */
  private async refresh(actions: string[], ctx: ProviderContext): Promise<string> {
    const deadline = Date.now() + this.settings.refreshTimeoutMs;
    const waited = new Set<number>();
    for (;;) {
      let running = await this.runningTasks(ctx.signal);
      for (let delay = this.poll.initialMs; running.length > 0; delay = this.nextDelay(delay)) {
        for (const id of running) {
          if (!waited.has(id)) actions.push(`wait for running refresh task ${id}`);
          waited.add(id);
        }
        this.checkDeadline(deadline, `refresh task(s) ${running.join(', ')} still running`);
        ctx.heartbeat({ step: 'iplb-wait-running-refresh', tasks: running });
        await sleep(Math.min(delay, Math.max(1, deadline - Date.now())), ctx.signal);
        running = await this.runningTasks(ctx.signal);
      }
      const pending = await this.api.get<PendingChange[]>(`${this.base}/pendingChanges`, {}, ctx.signal);
      if (pending.length === 0) {
        actions.push('no pending change: no refresh needed');
        return waited.size > 0
          ? `a refresh already running (task ${[...waited].join(', ')}) applied it`
          : 'nothing was pending';
      }
      let task: Task;
      try {
        task = await this.api.post<Task>(`${this.base}/refresh`, undefined, ctx.signal);
      } catch (err) {
        if (err instanceof OvhApiError && err.status === 409) {
          this.checkDeadline(deadline, `the refresh was refused: ${err.ovhMessage}`);
          await sleep(this.poll.initialMs, ctx.signal);
          continue;
        }
        throw err;
      }
      actions.push(`POST ${this.base}/refresh → task ${task.id} (${describePending(pending)})`);
      const final = await this.waitForTask(task, deadline, ctx);
      if (final.status !== 'done') {
        throw trafficFailure(
          'IplbRefreshFailed',
          `${this.label}: refresh task ${task.id} ended in "${final.status}"; the change is still pending and a retry asks for a new refresh.`,
          { taskId: task.id, status: final.status },
        );
      }
      actions.push(`refresh task ${task.id} done`);
      return `refresh task ${task.id} applied ${describePending(pending)}`;
    }
  }

  private async waitForTask(task: Task, deadline: number, ctx: ProviderContext): Promise<Task> {
    let current = task;
    for (let delay = this.poll.initialMs; ; delay = this.nextDelay(delay)) {
      if (['done', 'error', 'cancelled'].includes(current.status)) return current;
      this.checkDeadline(deadline, `refresh task ${task.id} still ${current.status} (${current.progress}%)`);
      ctx.heartbeat({
        step: 'iplb-refresh',
        taskId: task.id,
        status: current.status,
        progress: current.progress,
      });
      await sleep(Math.min(delay, Math.max(1, deadline - Date.now())), ctx.signal);
      current = await this.api.get<Task>(`${this.base}/task/${task.id}`, {}, ctx.signal);
    }
  }

  private async runningTasks(signal?: AbortSignal): Promise<number[]> {
    const ids: number[] = [];
    for (const status of ['todo', 'doing']) {
      ids.push(
        ...(await this.api.get<number[]>(`${this.base}/task`, { action: 'refreshIplb', status }, signal)),
      );
    }
    return ids.sort((a, b) => a - b);
  }

  private checkDeadline(deadline: number, what: string): void {
    if (Date.now() < deadline) return;
    throw trafficFailure(
      'IplbRefreshTimeout',
      `${this.label}: ${what} after the refresh timeout (${formatMs(this.settings.refreshTimeoutMs)}); the change stays pending, a retry goes on with it.`,
    );
  }

  private nextDelay(delay: number): number {
    return Math.min(delay * 2, this.poll.maxMs);
  }

  private pendingWords(read: IplbRead): string {
    const parts: string[] = [];
    if (read.pending.length > 0) parts.push(`${describePending(read.pending)} await a refresh`);
    if (read.running.length > 0) parts.push(`refresh task ${read.running.join(', ')} running`);
    return parts.join(', ');
  }

  private targetWords(site: string): string {
    if (this.settings.mode === 'frontend-farm') return `default farm ${this.settings.farms![site]}`;
    const { farmId, serverId } = this.settings.servers![site]!;
    return `server ${serverId} of farm ${farmId} active, the others inactive`;
  }

  private configureWords(site: string): string {
    if (this.settings.mode === 'frontend-farm')
      return `set the default farm to ${this.settings.farms![site]}`;
    return `set server ${this.settings.servers![site]!.serverId} active and the others inactive`;
  }

  private checkSite(site: string): void {
    if (!this.sites.includes(site)) {
      throw trafficFailure(
        'UnknownSite',
        `site "${site}" has no ${this.settings.mode === 'frontend-farm' ? 'farm' : 'server'} in the runbook for ${this.label} (sites: ${this.sites.join(', ')})`,
      );
    }
  }

  private guard<T>(fn: () => Promise<T>): Promise<T> {
    return guardOvh(
      this.label,
      "check the runbook's serviceName, protocol, frontendId, farms and servers.",
      fn,
    );
  }
}

function describePending(pending: PendingChange[]): string {
  const total = pending.reduce((sum, p) => sum + p.number, 0);
  return `${total} pending change${total === 1 ? '' : 's'} (zone${pending.length === 1 ? '' : 's'} ${pending
    .map((p) => p.zone)
    .join(', ')})`;
}
