import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { MysqlServerStatus } from '../activities/mysql/status';
import type { PairSettings } from '../activities/pair-settings';
import { activityCaller, type ActivityCall } from './activity-options';
import {
  DrMode,
  DrPair,
  fenceWatchJoinSignal,
  fenceWatchStatusQuery,
  fenceWatchWorkflowId,
  type FencedSystem,
  type FenceWatchJoin,
  type FenceableSystem,
  type FenceWatchStatus,
  type UnfencedSystem,
} from './definitions';
import type { FailoverRun } from './failover/run';
import { Narrator } from './narrate';
import { errorText } from './steps';

/** How long the watcher watches when the runbook does not say (`fencing.watchFor`). */
export const DEFAULT_WATCH_FOR_MS = 24 * 3_600_000;
/** The longest wait between two rounds: the backoff doubles from the probe interval up to this. */
export const MAX_ROUND_DELAY_MS = 60_000;
/** Failovers that start the old-site watcher when they went on without fencing the old site. */
export const WATCH_OLD_SITE_PATCH = 'fence-old-site-watch';

const FENCEABLE: FenceableSystem[] = ['mysql', 'elasticsearch', 'traffic', 'redis', 'postgresql'];

/** What starts a watch of an old site. */
export interface FenceOldSiteInput {
  pair: string;
  /** The site the failover left without fencing it. */
  site: string;
  /** The old site's MySQL primary: made read-only, and read each round to see whether a failback rebuilds it. */
  mysqlServer: string;
  /** The server the failover promoted: the watcher fences only while it is the writable primary. */
  newPrimary: string;
  /** The old site's PostgreSQL primary, when the runbook has a postgresql section: stopped (pg_ctl stop). */
  pgServer?: string;
  /** The systems of the site the failover could not fence. */
  systems: FenceableSystem[];
  /** Who started the watch: the failover's workflow ID, or an operator's name. */
  startedBy: string;
  /** Where a watch continued as new goes on from (absent at the first start). */
  carried?: WatchState;
}

/** What a watch carries over to its next run (continue-as-new). */
export interface WatchState {
  since: string;
  until: string;
  round: number;
  /** The systems to fence: the input's, and those of the failovers that joined the watch. */
  systems: FenceableSystem[];
  fenced: FencedSystem[];
  lastErrors: Partial<Record<FenceableSystem, string>>;
  /** The promoted server was seen the writable primary: from then on, seeing it read-only means a move back. */
  promotedSeen: boolean;
}

export interface FenceOldSiteReport {
  pair: string;
  site: string;
  workflowId: string;
  startedBy: string;
  /**
   * `fenced`: every system it had to fence is; `timed-out`: the runbook's `fencing.watchFor` ended first;
   * `stopped`: the pair is being moved back (the old primary replicates again, or the promoted server is no longer
   * the writable primary), so the site is no longer the watcher's to fence.
   */
  outcome: 'fenced' | 'timed-out' | 'stopped';
  sentence: string;
  since: string;
  finishedAt: string;
  rounds: number;
  fenced: FencedSystem[];
  neverFenced: UnfencedSystem[];
  /** The decisions of the watch's last run (a watch that continued as new carries its fences, not its sentences). */
  decisions: { phase: string; sentence: string }[];
}

const { pairSettings } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['UnknownPair'] },
});

/**
 * Fences the old site of an unplanned failover as soon as it answers again. The failover went on without fencing
 * some of its systems (a human accepted it): if the site comes back, its MySQL primary would take writes beside the
 * new one, its indices would take writes no follower reads, its traffic could reach it again. Every probe interval,
 * doubling up to a minute, for as long as the runbook's `fencing.watchFor` says, the watcher tries each system not
 * yet fenced (MySQL read-only, the write block on its leader indices, the site drained from the traffic switch),
 * each on its own, one try per round. It fences only while the pair runs on the promoted server, and stops when all
 * are fenced, when the time is up, or when the pair is moved back (a failback rebuilding the site must not find its
 * indices blocked under it, nor its primary fenced). Its workflow ID is `dr-fence-<pair>`; it outlives the failover
 * that started it (parent close policy ABANDON).
 */
export async function fenceOldSite(input: FenceOldSiteInput): Promise<FenceOldSiteReport> {
  validateWatchInput(input);
  const watch = new Watch(input);
  const settings = await pairSettings({ pair: input.pair });
  watch.begin(settings);
  for (;;) {
    watch.applyJoins();
    if (watch.pending.length === 0)
      return watch.report(
        'fenced',
        `every system of ${input.site} the failover could not fence is fenced: ${watch.fencedList()}.`,
      );
    if (Date.now() >= Date.parse(watch.state.until)) return watch.timedOut();
    const stop = await watch.round();
    if (stop) return watch.report('stopped', stop);
    if (watch.pending.length === 0) continue;
    const delay = watch.nextDelay();
    if (delay <= 0) continue;
    if (workflowInfo().continueAsNewSuggested) await watch.continueAsNew();
    // A failover joining the watch wakes it: its systems are tried at once.
    await condition(() => watch.joined, delay);
  }
}

/** Whether the old site is still the watcher's to fence this round (and the old primary's status when it is). */
type Standing =
  | { kind: 'watch'; old: MysqlServerStatus | undefined }
  | { kind: 'stop'; sentence: string }
  | { kind: 'unsure'; sentence: string };

/** One watch: its state, its narration and its `status` query. */
class Watch {
  readonly narrator = new Narrator();
  state!: WatchState;
  private call!: ActivityCall;
  private intervalMs = 0;
  private nextTryAt: string | undefined;
  private lastGist: string | undefined;
  private watchForMs = DEFAULT_WATCH_FOR_MS;
  /** The pair's Redis servers (the runbook's redis section), when it has one. */
  private redisServers: { name: string; site: string }[] = [];
  private readonly joins: FenceWatchJoin[] = [];

  constructor(private readonly input: FenceOldSiteInput) {
    upsertSearchAttributes([
      { key: DrPair, value: input.pair },
      { key: DrMode, value: 'fence-old-site' },
    ]);
    this.narrator.enterPhase('watch');
    setHandler(fenceWatchStatusQuery, (): FenceWatchStatus => ({
      pair: input.pair,
      site: input.site,
      since: this.state?.since ?? new Date().toISOString(),
      until: this.state?.until ?? '',
      round: this.state?.round ?? 0,
      fenced: this.state?.fenced ?? [],
      pending: this.state ? this.pending : [],
      ...(this.nextTryAt ? { nextTryAt: this.nextTryAt } : {}),
      sentence: this.narrator.decisions.at(-1)?.sentence ?? 'starting.',
    }));
    setHandler(fenceWatchJoinSignal, (join) => {
      const refused = joinRefusal(join);
      if (refused) log.warn(`a join of the watch was refused: ${refused}`);
      else this.joins.push(join);
    });
  }

  /** Whether a failover joined the watch since the last round. */
  get joined(): boolean {
    return this.joins.length > 0;
  }

  /**
   * Takes on the systems of the failovers that joined: each is tried again (a fence recorded earlier is older
   * than the failover that could not fence it), and the watch lasts `watchFor` from now at least.
   */
  applyJoins(): void {
    for (const join of this.joins.splice(0)) {
      this.state.fenced = this.state.fenced.filter((f) => !join.systems.includes(f.system));
      this.state.systems = [...new Set([...this.state.systems, ...join.systems])];
      const until = Math.max(Date.parse(this.state.until), Date.now() + this.watchForMs);
      this.state.until = new Date(until).toISOString();
      this.narrator.say(
        `${join.startedBy} joined the watch: ${join.systems.map((s) => this.target(s)).join(', ')} to fence too; watching until ${this.state.until}.`,
      );
    }
  }

  begin(settings: PairSettings): void {
    this.call = activityCaller(settings.timeouts);
    this.intervalMs = settings.probes.intervalMs;
    this.watchForMs = settings.fencing?.watchForMs ?? DEFAULT_WATCH_FOR_MS;
    this.redisServers = settings.redis?.servers ?? [];
    const { carried } = this.input;
    if (carried) {
      this.state = carried;
      this.narrator.say(
        `the watch of ${this.input.site} goes on (continued as new after round ${carried.round}, until ${carried.until}): ${this.pendingList()} still to fence.`,
      );
      return;
    }
    const since = new Date();
    this.state = {
      since: since.toISOString(),
      until: new Date(since.getTime() + this.watchForMs).toISOString(),
      round: 0,
      systems: [...new Set(this.input.systems)],
      fenced: [],
      lastErrors: {},
      promotedSeen: false,
    };
    this.narrator.say(
      `watching ${this.input.site} for ${duration(this.watchForMs)} (until ${this.state.until}), asked by ${this.input.startedBy}: ${this.pendingList()} will be fenced as soon as each answers, tried every ${duration(this.intervalMs)} at first, then less often up to once a minute.`,
    );
  }

  /** The systems still to fence, each with the last failure of its tries. */
  get pending(): UnfencedSystem[] {
    const done = new Set(this.state.fenced.map((f) => f.system));
    return this.state.systems
      .filter((system) => !done.has(system))
      .map((system) => ({
        system,
        target: this.target(system),
        ...(this.state.lastErrors[system] ? { lastError: this.state.lastErrors[system] } : {}),
      }));
  }

  /**
   * One try of every system not yet fenced, while the pair runs on the promoted server; the reason to stop when it
   * no longer does.
   */
  async round(): Promise<string | undefined> {
    const round = ++this.state.round;
    this.nextTryAt = undefined;
    const standing = await this.standing();
    if (standing.kind === 'stop') return standing.sentence;
    if (standing.kind === 'unsure') {
      this.sayOnce(`round ${round}: ${standing.sentence}`, standing.sentence);
      return undefined;
    }
    const results = await Promise.all(this.pending.map((p) => this.tryFence(p.system, round, standing.old)));
    const fencedNow = results.filter((r): r is FencedSystem => r !== undefined);
    for (const fenced of fencedNow) {
      this.state.fenced.push(fenced);
      this.narrator.say(`round ${round}: ${fenced.target} answers again and is fenced: ${fenced.sentence}`);
    }
    if (fencedNow.length === 0) {
      const left = `not fenced yet: ${this.pendingList(true)}`;
      this.sayOnce(`round ${round}: ${left}.`, left);
    }
    return undefined;
  }

  /** Says `sentence` unless the last round said the same `gist` (a watch waiting for days says it once). */
  private sayOnce(sentence: string, gist: string): void {
    if (gist === this.lastGist) return;
    this.lastGist = gist;
    this.narrator.say(sentence);
  }

  /**
   * Whether the pair still runs on the promoted server, read from every MySQL server. The old primary replicating
   * again means a failback is rebuilding the site (it fences it first, then makes its indices followers, which a
   * write block would break); the promoted server read-only or replicating, once seen the writable primary, means
   * the pair is being moved back. Either way the site is no longer the watcher's to fence. When the promoted server
   * does not answer, or is not the primary yet (a watch started by hand before a promotion), nobody can tell.
   */
  private async standing(): Promise<Standing> {
    const { pair, site, mysqlServer, newPrimary } = this.input;
    let statuses: MysqlServerStatus[];
    try {
      statuses = await this.call('once', 'mysqlServerStatuses', { pair }, 'where the MySQL primary is');
    } catch (err) {
      return {
        kind: 'unsure',
        sentence: `the MySQL servers cannot be read (${errorText(err)}); nothing is fenced this round.`,
      };
    }
    const old = statuses.find((s) => s.server === mysqlServer);
    const promoted = statuses.find((s) => s.server === newPrimary);
    if (old?.reachable && old.replication)
      return {
        kind: 'stop',
        sentence: `${mysqlServer} replicates again (from ${old.replication.sourceHost}:${old.replication.sourcePort}): a failback is rebuilding ${site}, which fences it its own way; the watch stops and touches nothing more.`,
      };
    if (!promoted?.reachable)
      return {
        kind: 'unsure',
        sentence: `${newPrimary} does not answer, so whether the pair still runs on it cannot be told; nothing is fenced this round.`,
      };
    if (promoted.replication || promoted.readOnly || promoted.superReadOnly) {
      const how = promoted.replication
        ? `it replicates from ${promoted.replication.sourceHost}:${promoted.replication.sourcePort}`
        : 'read-only';
      if (!this.state.promotedSeen)
        return {
          kind: 'unsure',
          sentence: `${newPrimary} is not the writable primary yet (${how}); nothing is fenced before it is.`,
        };
      return {
        kind: 'stop',
        sentence: `${newPrimary} is no longer the writable primary (${how}): the pair is being moved back, so ${site} must not be fenced; the watch stops and touches nothing more.`,
      };
    }
    this.state.promotedSeen = true;
    return { kind: 'watch', old };
  }

  /** One try of one system: what was fenced, or undefined (its failure kept as its last error). */
  private async tryFence(
    system: FenceableSystem,
    round: number,
    old: MysqlServerStatus | undefined,
  ): Promise<FencedSystem | undefined> {
    try {
      const sentence = await this.fence(system, old);
      delete this.state.lastErrors[system];
      return { system, target: this.target(system), at: new Date().toISOString(), round, sentence };
    } catch (err) {
      this.state.lastErrors[system] = errorText(err);
      return undefined;
    }
  }

  private async fence(system: FenceableSystem, old: MysqlServerStatus | undefined): Promise<string> {
    const { pair, site, mysqlServer } = this.input;
    switch (system) {
      case 'mysql':
        if (!old?.reachable)
          throw ApplicationFailure.nonRetryable(
            `${mysqlServer} does not answer${old?.error ? ` (${old.error.message})` : ''}`,
            old?.error?.type ?? 'MysqlUnreachable',
          );
        return (await this.call('once', 'mysqlFence', { pair, server: mysqlServer }, `fence ${mysqlServer}`))
          .description;
      case 'elasticsearch':
        return (await this.call('once', 'esFenceWrites', { pair, site }, `fence writes on ES ${site}`))
          .description;
      case 'traffic':
        return (await this.call('longOnce', 'trafficDrain', { pair, site }, `drain traffic from ${site}`))
          .description;
      case 'redis':
        return this.fenceRedis();
      case 'postgresql':
        if (!this.input.pgServer)
          throw ApplicationFailure.nonRetryable(
            `the watch of ${site} names no PostgreSQL server to stop (pgServer)`,
            'InvalidInput',
          );
        return (
          await this.call('once', 'pgStopServer', { pair, server: this.pgServer }, `stop ${this.pgServer}`)
        ).description;
    }
  }

  /**
   * The old site's Redis master becomes a read-only replica of the promoted one (REPLICAOF), which refuses writes
   * and takes the promoted master's data; refused while the promoted one is not a master.
   */
  private async fenceRedis(): Promise<string> {
    const old = this.redisServers.find((s) => s.site === this.input.site);
    const promoted = this.redisServers.find((s) => s.site !== this.input.site);
    if (!old || !promoted)
      throw ApplicationFailure.nonRetryable(
        `the runbook of ${this.input.pair} has no Redis server in each site`,
        'RedisInvalidInput',
      );
    const r = await this.call(
      'once',
      'redisReplicate',
      { pair: this.input.pair, server: old.name, source: promoted.name, unpause: true },
      `fence ${old.name}`,
    );
    return r.description;
  }

  /** The old PostgreSQL primary (the input names it whenever postgresql is among the systems). */
  private get pgServer(): string {
    return this.input.pgServer ?? 'the PostgreSQL primary';
  }

  private target(system: FenceableSystem): string {
    const { site, mysqlServer } = this.input;
    return {
      mysql: mysqlServer,
      elasticsearch: `the leader indices of ES ${site}`,
      traffic: `the traffic to ${site}`,
      redis: this.redisServers.find((s) => s.site === site)?.name ?? `the Redis master of ${site}`,
      postgresql: this.pgServer,
    }[system];
  }

  /** From the probe interval, doubling each round, up to a minute; never past the end of the watch. */
  nextDelay(): number {
    const backoff = Math.min(this.intervalMs * 2 ** Math.min(this.state.round - 1, 30), MAX_ROUND_DELAY_MS);
    const left = Date.parse(this.state.until) - Date.now();
    const delay = Math.max(0, Math.min(backoff, left));
    this.nextTryAt = new Date(Date.now() + delay).toISOString();
    return delay;
  }

  async continueAsNew(): Promise<never> {
    this.applyJoins();
    this.narrator.say(
      `the history has grown long: the watch continues as new after round ${this.state.round}.`,
    );
    return continueAsNew<typeof fenceOldSite>({ ...this.input, carried: this.state });
  }

  timedOut(): FenceOldSiteReport {
    const left = this.pending.map((p) => `${p.target}${p.lastError ? ` (last: ${p.lastError})` : ''}`);
    const fenced = this.state.fenced.length > 0 ? ` Fenced: ${this.fencedList()}.` : '';
    return this.report(
      'timed-out',
      `watched ${this.input.site} until ${this.state.until} and never could fence ${left.join('; ')}: fence it by hand before ${this.input.site} takes writes or traffic again.${fenced}`,
    );
  }

  report(outcome: FenceOldSiteReport['outcome'], sentence: string): FenceOldSiteReport {
    this.nextTryAt = undefined;
    this.narrator.say(sentence);
    return {
      pair: this.input.pair,
      site: this.input.site,
      workflowId: workflowInfo().workflowId,
      startedBy: this.input.startedBy,
      outcome,
      sentence,
      since: this.state.since,
      finishedAt: new Date().toISOString(),
      rounds: this.state.round,
      fenced: this.state.fenced,
      neverFenced: this.pending,
      decisions: this.narrator.decisions,
    };
  }

  fencedList(): string {
    return this.state.fenced.map((f) => `${f.target} at ${f.at} (round ${f.round})`).join(', ');
  }

  private pendingList(withErrors = false): string {
    return this.pending
      .map((p) => (withErrors && p.lastError ? `${p.target} (${p.lastError})` : p.target))
      .join(', ');
  }
}

/** "24h", "10 min", "90s": a duration for a sentence. */
function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000}s`;
}

/** Refuses an input the watcher cannot act on, naming each bad field, before anything is read or changed. */
function validateWatchInput(input: FenceOldSiteInput): void {
  if (typeof input !== 'object' || input === null)
    throw ApplicationFailure.nonRetryable(
      'the input must be an object {pair, site, mysqlServer, newPrimary, systems, startedBy}',
      'InvalidInput',
    );
  const problems: string[] = [];
  for (const field of ['pair', 'site', 'mysqlServer', 'newPrimary', 'startedBy'] as const)
    if (typeof input[field] !== 'string' || input[field].trim() === '') problems.push(`${field}: required`);
  if (!Array.isArray(input.systems) || input.systems.length === 0)
    problems.push(`systems: name at least one of ${FENCEABLE.join(', ')}`);
  else {
    const unknown = input.systems.filter((s) => !FENCEABLE.includes(s));
    if (unknown.length > 0)
      problems.push(
        `systems: ${unknown.map((s) => JSON.stringify(s)).join(', ')} cannot be fenced (known: ${FENCEABLE.join(', ')})`,
      );
  }
  if (
    Array.isArray(input.systems) &&
    input.systems.includes('postgresql') &&
    (typeof input.pgServer !== 'string' || input.pgServer.trim() === '')
  )
    problems.push('pgServer: required when systems names postgresql');
  if (problems.length > 0)
    throw ApplicationFailure.nonRetryable(
      `invalid watch of an old site: ${problems.join('; ')}`,
      'InvalidInput',
    );
}

/**
 * Past the point of no return of an unplanned failover that went on without fencing some systems of the old site (a
 * human accepted each), starts the watcher that fences them as soon as the site answers again. Started only once the
 * standby is promoted: a failover undone before that leaves the old site the primary, which must not be fenced
 * when it comes back. A watcher of the pair already running is joined: it takes on these systems too. The failover
 * goes on whatever happens here; a watcher that cannot be started is said, with what to do by hand.
 */
export async function watchOldSiteIfUnfenced(run: FailoverRun): Promise<void> {
  const unfenced = run.book.records.filter(
    (r) => r.phase === 'fence' && r.state === 'failed' && FENCEABLE.includes(r.system as FenceableSystem),
  );
  if (unfenced.length === 0 || !patched(WATCH_OLD_SITE_PATCH)) return;
  const { ctx } = run;
  const workflowId = fenceWatchWorkflowId(ctx.settings.pair);
  const input: FenceOldSiteInput = {
    pair: ctx.settings.pair,
    site: ctx.from,
    mysqlServer: run.steps.find((s) => s.id === 'mysql.fence')!.target,
    newPrimary: run.steps.find((s) => s.id === 'mysql.promote')!.target,
    ...pgServerOf(run),
    systems: [...new Set(unfenced.map((r) => r.system as FenceableSystem))],
    startedBy: run.workflowId,
  };
  const watchForMs = ctx.settings.fencing?.watchForMs ?? DEFAULT_WATCH_FOR_MS;
  const what = `${ctx.from} was not fenced (${unfenced.map((r) => r.target).join(', ')})`;
  try {
    run.say(`${what}: ${await startOrJoin(workflowId, input, watchForMs)}`);
  } catch (err) {
    if (isCancellation(err)) throw err;
    run.say(
      `${what}, and its watcher could not be started (${errorText(err)}): fence it by hand before it takes writes or traffic again.`,
    );
  }
}

/** The old PostgreSQL primary the run's plan fences, when it has one. */
function pgServerOf(run: FailoverRun): { pgServer?: string } {
  const fence = run.steps.find((s) => s.id === 'postgresql.fence');
  return fence ? { pgServer: fence.target } : {};
}

/** Starts the watcher, or has the one running take on these systems; says which, in a sentence's second half. */
async function startOrJoin(
  workflowId: string,
  input: FenceOldSiteInput,
  watchForMs: number,
): Promise<string> {
  const start = () =>
    startChild(fenceOldSite, { workflowId, args: [input], parentClosePolicy: ParentClosePolicy.ABANDON });
  const started = `a watcher, workflow ${workflowId}, fences each as soon as it answers again, for up to ${duration(watchForMs)} (query its status; its result is its report).`;
  try {
    await start();
    return started;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  const join: FenceWatchJoin = { systems: input.systems, startedBy: input.startedBy, watchForMs };
  try {
    await getExternalWorkflowHandle(workflowId).signal(fenceWatchJoinSignal, join);
    return `the watcher of ${input.pair} already runs as workflow ${workflowId}: it takes these on too, for ${duration(watchForMs)} from now at least.`;
  } catch {
    // It ended between the start and the signal: start a new one.
    await start();
    return started;
  }
}

/** Why a join signal cannot be taken, naming the field; undefined when it can. */
function joinRefusal(join: FenceWatchJoin): string | undefined {
  if (typeof join !== 'object' || join === null)
    return 'the join must be an object {systems, startedBy, watchForMs}';
  if (
    !Array.isArray(join.systems) ||
    join.systems.length === 0 ||
    join.systems.some((s) => !FENCEABLE.includes(s))
  )
    return `systems: name one or more of ${FENCEABLE.join(', ')}`;
  if (typeof join.startedBy !== 'string' || join.startedBy.trim() === '') return 'startedBy: required';
  if (!Number.isInteger(join.watchForMs) || join.watchForMs <= 0)
    return 'watchForMs: a positive number of milliseconds';
  return undefined;
}
