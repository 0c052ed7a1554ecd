/**
 * The traffic switch of a DR pair, whatever carries it: HAProxy (runtime API), an OVH IP Load Balancer
 * frontend or farm, an OVH DNS record, or an OVH Public Cloud Load Balancer listener. One provider object per pair, built from its runbook's
 * `traffic` section and the clients of the worker; the activities in ./index.ts call it.
 *
 * Every method reports in plain sentences (`description`) fit for the log, the Temporal UI and the
 * report. Providers throw `ApplicationFailure`s with a type name (see ./errors.ts), never raw errors.
 */
export type TrafficProviderKind = 'haproxy' | 'ovh-iplb' | 'ovh-dns' | 'ovh-cloud-lb';

/** One thing that can carry traffic for a site: an HAProxy server, an IPLB farm or server, a DNS target. */
export interface TrafficMember {
  site: string;
  /** Provider's name for it: HAProxy server name, "farm 201", "A 203.0.113.10"… */
  name: string;
  /** Whether the provider sends it traffic now. */
  receivesTraffic: boolean;
  /** Provider-specific state word, e.g. "ready", "drain", "maint", "active", "inactive". */
  state: string;
  /** What the provider's own health check says, when it has one and it is running. */
  healthy?: boolean;
  /** Connections the provider holds to it now, when the provider can tell (HAProxy's current sessions). */
  connections?: number;
  /** One sentence about this member. */
  description: string;
}

export interface TrafficState {
  provider: TrafficProviderKind;
  /** The one site receiving traffic; absent when none or several do. */
  site?: string;
  /** Every site receiving traffic now (none, one, or several during a broken switch). */
  sites: string[];
  members: TrafficMember[];
  /**
   * Whether the configuration read is the one serving clients. False while a change waits to be applied (OVH IP
   * Load Balancer pending changes or a running refresh task; an OVH DNS zone not deployed yet): `site`/`sites` then
   * describe the configuration about to apply, not necessarily where clients go. Absent for providers whose
   * changes apply at once (HAProxy).
   */
  live?: boolean;
  /** One sentence, e.g. "HAProxy backend app sends traffic to gra (app-gra ready, UP); rbx gets none (app-rbx drain, UP)." */
  description: string;
  /**
   * What readiness must also judge about the switch itself, apart from where traffic goes: for HAProxy, whether
   * each node would keep its server states over a reload (`state-saved`).
   */
  checks?: TrafficCheck[];
}

/** What a switch or drain did on one node of a provider with several (each HAProxy of the pair). */
export interface TrafficNodeResult {
  /** The node, e.g. its HAProxy runtime API socket. */
  node: string;
  changed: boolean;
  /** Whether its state is saved for a reload; absent when the runbook names no file for it. */
  stateSaved?: boolean;
  description: string;
}

export interface TrafficSwitchResult {
  provider: TrafficProviderKind;
  site: string;
  /** False when the site already received all the traffic: nothing was changed. */
  changed: boolean;
  /** Sites that received traffic before the switch. */
  before: string[];
  /** The provider operations performed, in order (runtime API commands, API calls). */
  actions: string[];
  /**
   * Seconds after the switch before every client follows it: 0 for a load balancer, the record's TTL for
   * DNS (resolvers may serve the old answer that long). Part of the expected RTO.
   */
  propagationSeconds: number;
  description: string;
  state: TrafficState;
  /** Each node's part, for providers with several (HAProxy). */
  nodes?: TrafficNodeResult[];
}

/** What a drain did: the site no longer gets new traffic, and no other site was given any. */
export interface TrafficDrainResult {
  provider: TrafficProviderKind;
  site: string;
  /** False when nothing was changed: the site already got no traffic, or the provider cannot drain a site alone. */
  changed: boolean;
  /** The provider operations performed, in order. */
  actions: string[];
  description: string;
  state: TrafficState;
  /** Each node's part, for providers with several (HAProxy). */
  nodes?: TrafficNodeResult[];
}

export interface TrafficCheck {
  name: string;
  ok: boolean;
  sentence: string;
}

export interface TrafficVerifyResult {
  provider: TrafficProviderKind;
  site: string;
  ok: boolean;
  checks: TrafficCheck[];
  propagationSeconds: number;
  description: string;
  state: TrafficState;
}

/** What a provider may use while it works: a heartbeat for long waits (IPLB refresh tasks) and cancellation. */
export interface ProviderContext {
  heartbeat(details?: unknown): void;
  signal?: AbortSignal;
}

export const NO_CONTEXT: ProviderContext = { heartbeat: () => undefined };

export interface TrafficProvider {
  readonly kind: TrafficProviderKind;
  /** The sites of the pair this provider can send traffic to. */
  readonly sites: string[];
  /** Reads which site receives traffic. Never changes anything. */
  currentTarget(ctx?: ProviderContext): Promise<TrafficState>;
  /**
   * Sends all traffic to `site` and away from the others. Idempotent: when `site` already receives all the
   * traffic it changes nothing and says so (`changed: false`); after a partial failure, calling it again
   * finishes the job.
   */
  switchTo(site: string, ctx?: ProviderContext): Promise<TrafficSwitchResult>;
  /**
   * Stops sending new traffic to `site` without sending it to another site, so that clients get errors from the
   * entry point rather than reach a site being fenced. Idempotent. A provider that cannot leave every site without
   * traffic (a DNS record always points somewhere) changes nothing and says so.
   */
  drain(site: string, ctx?: ProviderContext): Promise<TrafficDrainResult>;
  /** Checks, without changing anything, that `site` receives all the traffic and is healthy by the provider's view. */
  verify(site: string, ctx?: ProviderContext): Promise<TrafficVerifyResult>;
  close?(): Promise<void>;
}

/**
 * The sites whose members receive traffic, and the sentence part that says so for every site, e.g.
 * "sends traffic to gra (server a ready, UP); rbx gets none (server b drain, UP)".
 */
export function summariseMembers(
  allSites: readonly string[],
  members: readonly TrafficMember[],
  noSiteNote = '',
  /** What a site without traffic gets, e.g. "gets none" (the default). */
  idleWords: (site: string) => string = () => 'gets none',
): { sites: string[]; sentence: string } {
  const sites = allSites.filter((site) => members.some((m) => m.site === site && m.receivesTraffic));
  const list = (site: string) =>
    members
      .filter((m) => m.site === site)
      .map((m) => m.description)
      .join(', ');
  const idle = allSites.filter((s) => !sites.includes(s));
  const sending =
    sites.length === 0
      ? `sends traffic to no site${noSiteNote}`
      : `sends traffic to ${sites.map((s) => `${s} (${list(s)})`).join(' and ')}`;
  const rest =
    idle.length === 0 ? '' : `; ${idle.map((s) => `${s} ${idleWords(s)} (${list(s)})`).join('; ')}`;
  return { sites, sentence: `${sending}${rest}` };
}

/**
 * A verify result from its checks: verified when every check passes (then `verified` is the description),
 * otherwise the description names the site and repeats the failing checks' sentences.
 */
export function verifyResult(
  fields: Pick<TrafficVerifyResult, 'provider' | 'site' | 'propagationSeconds' | 'state'>,
  checks: TrafficCheck[],
  label: string,
  verified: string,
): TrafficVerifyResult {
  const ok = checks.every((c) => c.ok);
  const failing = checks.filter((c) => !c.ok).map((c) => c.sentence);
  return {
    ...fields,
    ok,
    checks,
    description: ok ? verified : `${label} is not verified for ${fields.site}: ${failing.join(' ')}`,
  };
}
