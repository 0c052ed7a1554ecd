import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { PairSettings } from '../../activities/pair-settings';
import { fakePgActivities, PG_READS, type FakePgState } from './fake-postgresql';

/**
 * A DR pair in memory for the workflow tests (TestWorkflowEnvironment, no stack): the activities the failover
 * calls, each changing or reading this state, so a test compares the state before and after a run and sees
 * which activities ran in which order. Faults are injected per activity name.
 */
export interface FakePairState {
  mysql: Record<
    string,
    {
      reachable: boolean;
      readOnly: boolean;
      source?: string;
      ioRunning: boolean;
      sqlRunning?: boolean;
      errant?: number;
      /** What its status says its binlog holds (default 0-1-100). */
      gtidBinlogPos?: string;
    }
  >;
  /** What the dead primary's binlog holds beyond the candidate, and whether its host answers over SSH. */
  salvage: { pending: number; hostAnswers: boolean; salvaged: number };
  es: {
    /** gra's indices (the primary's leaders; followers of rbx's once a failback reprotected them). */
    graIndices: Record<string, 'active' | 'paused' | 'regular'>;
    /** Auto-follow patterns on gra (mirrored by a failback), active or not. */
    graAutoFollow: Record<string, boolean>;
    /** Documents gra's indices hold that rbx's lack (writes gra took after a failover). */
    divergent: number;
    graReachable: boolean;
    rbxConnectedToGra: boolean;
    followers: Record<string, 'active' | 'paused' | 'regular'>;
    autoFollow: Record<string, boolean>;
    lag: number;
    /** By site: whether its leader indices carry the write block (a fence); a follow replaces it (a restore). */
    writeBlocked: Record<string, boolean>;
  };
  apps: Record<string, boolean>;
  traffic: string;
  /** Whether the public entry point answers at all (it also needs the app of the site traffic goes to). */
  entryPointAnswers: boolean;
  /** Transactions the old primary holds that the promoted server lacks, as mysqlMeasureLoss finds them (default 0). */
  lostTransactions?: number;
  /** The PostgreSQL pair, when the settings have a postgresql section (test/helpers/fake-postgresql.ts). */
  pg?: FakePgState;
}

export const initialState = (): FakePairState => ({
  mysql: {
    'db-gra-1': { reachable: true, readOnly: false, ioRunning: false },
    'db-rbx-1': { reachable: true, readOnly: true, source: 'db-gra-1', ioRunning: true },
    'db-rbx-2': { reachable: true, readOnly: true, source: 'db-gra-1', ioRunning: true },
  },
  es: {
    graIndices: { orders: 'regular', customers: 'regular' },
    graAutoFollow: {},
    divergent: 0,
    graReachable: true,
    rbxConnectedToGra: true,
    followers: { orders: 'active', customers: 'active' },
    autoFollow: { 'logs-from-gra': true },
    lag: 0,
    writeBlocked: { gra: false, rbx: false },
  },
  salvage: { pending: 0, hostAnswers: true, salvaged: 0 },
  apps: { 'app-gra-1': true, 'app-rbx-1': false },
  traffic: 'gra',
  entryPointAnswers: true,
});

/**
 * The pair after a planned failover to rbx: db-rbx-1 primary, db-gra-1 fenced and replicating from it, gra's
 * indices write-blocked, rbx's indices promoted, rbx's auto-follow paused, traffic on rbx.
 */
export const failedOverState = (): FakePairState => {
  const state = initialState();
  state.mysql['db-gra-1'] = { reachable: true, readOnly: true, source: 'db-rbx-1', ioRunning: true };
  state.mysql['db-rbx-1'] = { reachable: true, readOnly: false, ioRunning: false };
  state.mysql['db-rbx-2'] = { reachable: true, readOnly: true, source: 'db-rbx-1', ioRunning: true };
  state.es.followers = { orders: 'regular', customers: 'regular' };
  state.es.autoFollow = { 'logs-from-gra': false };
  state.es.writeBlocked.gra = true;
  state.apps['app-rbx-1'] = true;
  state.traffic = 'rbx';
  return state;
};

export const fakeSettings = (overrides: Partial<PairSettings> = {}): PairSettings => ({
  pair: 'fake',
  sites: { primary: 'gra', standby: 'rbx' },
  mysql: {
    servers: [
      { name: 'db-gra-1', site: 'gra', role: 'primary', host: '10.0.0.1', port: 3306 },
      { name: 'db-rbx-1', site: 'rbx', role: 'replica', host: '10.0.0.2', port: 3306 },
      { name: 'db-rbx-2', site: 'rbx', role: 'replica', host: '10.0.0.3', port: 3306 },
    ],
    maxLagSeconds: 5,
  },
  elasticsearch: {
    followerIndices: ['orders', 'customers'],
    autoFollowPatterns: ['logs-from-gra'],
    maxLagOperations: 100,
  },
  traffic: { provider: 'haproxy' },
  apps: [
    { name: 'app-gra-1', site: 'gra' },
    { name: 'app-rbx-1', site: 'rbx' },
  ],
  approval: { policy: 'auto', approvers: ['oncall'], timeoutMs: 1_800_000, onTimeout: 'reject' },
  probes: { intervalMs: 2000, timeoutMs: 1000, fall: 3, rise: 2 },
  timeouts: {
    activityMs: 60_000,
    replicaCatchUpMs: 300_000,
    appStartMs: 30_000,
    trafficSwitchMs: 600_000,
  },
  ...overrides,
});

/** How an activity misbehaves: fail its next `times` calls (default: always) with a typed failure. */
export interface Fault {
  times?: number;
  type?: string;
  nonRetryable?: boolean;
  message?: string;
}

export class FakePair {
  state = initialState();
  readonly calls: string[] = [];
  private readonly faults = new Map<string, Fault & { left: number }>();
  private readonly delays = new Map<string, number>();
  private readonly lostAnswers = new Set<string>();
  private readonly hooks: { activity: string; nth: number; action: () => void }[] = [];
  /** How many more times trafficVerify answers "not verified" (the entry point slow to answer, say). */
  unverifiedAnswers = 0;
  /** Documents gra takes after a first divergence count, until its write block: the recount finds them too. */
  writesBeforeBlock = 0;

  constructor(public settings: PairSettings = fakeSettings()) {}

  /**
   * Makes an activity take `ms` before it does anything, heartbeating as it waits; a cancel ends the wait (the
   * activity then reports itself cancelled). Either way `<activity> <detail> ended` is added to the calls, so a
   * test sees whether anything ran before the activity had ended.
   */
  slow(activity: keyof Activities, ms: number): void {
    this.delays.set(activity, ms);
  }

  /** The next call of the activity takes effect, then fails as if the worker died before it answered. */
  loseAnswer(activity: keyof Activities): void {
    this.lostAnswers.add(activity);
  }

  /** Runs `action` when the activity is called for the `nth` time, before that call does anything (a site back, say). */
  onCall(activity: keyof Activities, nth: number, action: () => void): void {
    this.hooks.push({ activity, nth, action });
  }

  /** mysqld of db-gra-1 is dead: the worker cannot connect and both replicas have lost their source. */
  mysqlDown(): void {
    this.state.mysql['db-gra-1']!.reachable = false;
    this.state.mysql['db-rbx-1']!.ioRunning = false;
    this.state.mysql['db-rbx-2']!.ioRunning = false;
  }

  /** gra's Elasticsearch cluster is down: the worker cannot reach it and rbx has lost its remote connection. */
  esDown(): void {
    this.state.es.graReachable = false;
    this.state.es.rbxConnectedToGra = false;
  }

  fail(activity: keyof Activities, fault: Fault = {}): void {
    this.faults.set(activity, { ...fault, left: fault.times ?? Number.POSITIVE_INFINITY });
  }

  heal(activity: keyof Activities): void {
    this.faults.delete(activity);
  }

  /** The calls that change something (everything but reads). */
  changes(): string[] {
    return this.calls.filter((c) => !READS.has(c.split(' ')[0]!));
  }

  private async enter(name: string, detail = ''): Promise<void> {
    const call = detail ? `${name} ${detail}` : name;
    this.calls.push(call);
    const nth = this.calls.filter((c) => c.split(' ')[0] === name && !c.endsWith(' ended')).length;
    for (const hook of this.hooks) if (hook.activity === name && hook.nth === nth) hook.action();
    const delay = this.delays.get(name);
    if (delay !== undefined) await this.wait(call, delay);
    const fault = this.faults.get(name);
    if (fault && fault.left > 0) {
      fault.left--;
      throw ApplicationFailure.create({
        type: fault.type ?? 'InjectedFault',
        message: fault.message ?? `injected fault in ${name}`,
        nonRetryable: fault.nonRetryable ?? true,
      });
    }
  }

  private async wait(call: string, ms: number): Promise<void> {
    const context = Context.current();
    const until = Date.now() + ms;
    try {
      while (Date.now() < until) {
        context.heartbeat();
        await context.sleep(20);
      }
    } finally {
      this.calls.push(`${call} ended`);
    }
  }

  activities(): Partial<Activities> {
    const s = () => this.state;
    const mysqlStatus = (name: string) => {
      const m = s().mysql[name]!;
      const server = this.settings.mysql.servers.find((x) => x.name === name)!;
      if (!m.reachable)
        return {
          server: name,
          site: server.site,
          reachable: false,
          error: { type: 'MysqlUnreachable' as const, message: 'connect ECONNREFUSED' },
        };
      return {
        server: name,
        site: server.site,
        reachable: true,
        dialect: 'mariadb' as const,
        version: '10.11.19-MariaDB',
        readOnly: m.readOnly,
        superReadOnly: false,
        gtidExecuted: '0-1-100',
        gtidBinlogPos: m.gtidBinlogPos ?? '0-1-100',
        ...(m.source
          ? {
              replication: {
                ioRunning: m.ioRunning ? 'Yes' : 'Connecting',
                sqlRunning: 'Yes',
                lagSeconds: 0,
                sourceHost: this.settings.mysql.servers.find((x) => x.name === m.source)!.host,
                sourcePort: 3306,
                retrievedGtid: '0-1-100',
                lastIoError: '',
                lastSqlError: '',
                gtidPositioning: 'Slave_Pos',
                appliedGtid: '0-1-100',
                pendingTransactions: 0,
              },
            }
          : {}),
      };
    };
    const followersOf = (site?: string) => (site === 'gra' ? s().es.graIndices : s().es.followers);
    const patternsOf = (site?: string) => (site === 'gra' ? s().es.graAutoFollow : s().es.autoFollow);
    const leadersOf = (site: string) => Object.keys(followersOf(site));
    /** gra's cluster answers only when reachable; a call to it otherwise fails as the activities' would. */
    const esAnswers = (site: string) => {
      if (site === 'gra' && !s().es.graReachable)
        throw ApplicationFailure.create({
          type: 'EsUnreachable',
          message: 'gra: connect ECONNREFUSED',
        });
    };
    const acts = {
      mysqlFindErrantTransactions: async ({ server, reference }: { server: string; reference: string }) => {
        await this.enter('mysqlFindErrantTransactions', server);
        const count = s().mysql[server]!.errant ?? 0;
        const gtids = Array.from({ length: count }, (_, i) => `0-1-${101 + i}`);
        return {
          server,
          reference,
          dialect: 'mariadb' as const,
          gtids,
          count,
          sentence: count
            ? `${server} has ${count} transaction(s) that ${reference} lacks: ${gtids.join(', ')}.`
            : `${server} has no transaction that ${reference} lacks.`,
        };
      },
      mysqlMeasureLoss: async ({ from, to }: { from: string; to: string }) => {
        await this.enter('mysqlMeasureLoss', `${from} ${to}`);
        const base = { system: 'mysql' as const, from, to };
        if (!s().mysql[from]!.reachable)
          return {
            ...base,
            sentence: `unknown: ${from} cannot be read (MysqlUnreachable: connect ECONNREFUSED), so what ${from} committed that ${to} lacks is not known.`,
          };
        const count = s().lostTransactions ?? 0;
        if (count === 0)
          return { ...base, count, sentence: `none: ${to} holds every transaction ${from} committed.` };
        const gtids = count === 1 ? '0-1-101' : `0-1-101 to 0-1-${100 + count}`;
        return {
          ...base,
          count,
          gtids,
          sentence: `${count} transaction(s) that ${from} committed are not on ${to}: ${gtids}.`,
        };
      },
      mysqlRebuildReplica: async ({ server, source }: { server: string; source: string }) => {
        await this.enter('mysqlRebuildReplica', server);
        delete s().mysql[server]!.errant;
        return {
          server,
          source,
          alreadyClean: false,
          copied: ['app'],
          dropped: [],
          gtidSlavePos: '0-1-100',
          steps: [],
          durationMs: 1,
          description: `${server} was rebuilt from ${source}.`,
        };
      },
      esConfigureRemoteCluster: async ({ site }: { site: string }) => {
        await this.enter('esConfigureRemoteCluster', site);
        const remoteSite = site === 'gra' ? 'rbx' : 'gra';
        return {
          site,
          alias: remoteSite,
          remoteSite,
          mode: 'sniff' as const,
          addresses: [],
          changed: false,
          connected: true,
        };
      },
      esMirrorAutoFollowPatterns: async ({ site }: { site: string }) => {
        await this.enter('esMirrorAutoFollowPatterns', site);
        const patterns = patternsOf(site);
        const names = Object.keys(s().es.autoFollow);
        return {
          site,
          patterns: names.map((name) => {
            const was = name in patterns;
            if (!was) patterns[name] = true;
            return { name, outcome: was ? ('already-there' as const) : ('created' as const) };
          }),
          existingLeaderIndices: [],
        };
      },
      esDeleteAutoFollowPatterns: async ({ site }: { site: string }) => {
        await this.enter('esDeleteAutoFollowPatterns', site);
        const patterns = patternsOf(site);
        return {
          site,
          patterns: Object.keys(s().es.autoFollow).map((name) => {
            const was = name in patterns;
            delete patterns[name];
            return { name, outcome: was ? ('deleted' as const) : ('already-absent' as const) };
          }),
        };
      },
      esDivergence: async ({
        site,
        indices,
        underWriteBlock,
        previous,
      }: {
        site: string;
        indices?: string[];
        underWriteBlock?: boolean;
        previous?: { total: number };
      }) => {
        await this.enter('esDivergence', underWriteBlock ? `${site} under the write block` : site);
        if (underWriteBlock && !s().es.writeBlocked[site])
          throw ApplicationFailure.create({
            type: 'IndexNotWriteBlocked',
            message: `${site}: orders has no write block before the count`,
            nonRetryable: true,
          });
        const total = site === 'gra' ? s().es.divergent : 0;
        const when = `${underWriteBlock ? ' (counted under the write block)' : ''}${previous ? `; ${previous.total} at the earlier count` : ''}`;
        const names = indices ?? Object.keys(followersOf(site));
        return {
          site,
          leaderSite: site === 'gra' ? 'rbx' : 'gra',
          indices: names.map((index, i) => ({
            index,
            exists: true,
            following: followersOf(site)[index] === 'active',
            documents: 10,
            divergent: i === 0 ? total : 0,
            sampleIds: [],
          })),
          total,
          ...(underWriteBlock ? { underWriteBlock: true } : {}),
          ...(previous ? { previousTotal: previous.total } : {}),
          description: total
            ? `${site}/orders holds ${total} document(s) that the leader lacks${when}.`
            : `${site} holds nothing the leader lacks${when}.`,
        };
      },
      esFollowIndices: async ({ site, indices }: { site: string; indices?: string[] }) => {
        await this.enter('esFollowIndices', site);
        const followers = followersOf(site);
        const names = indices ?? Object.keys(followers);
        if (site === 'gra') s().es.divergent = 0;
        // Restored from the leader, the followers carry the leader's settings: the old index's write block is gone.
        s().es.writeBlocked[site] = false;
        return {
          site,
          leaderSite: site === 'gra' ? 'rbx' : 'gra',
          remoteCluster: site === 'gra' ? 'rbx' : 'gra',
          indices: names.map((index) => {
            const was = followers[index];
            followers[index] = 'active';
            return {
              index,
              leaderIndex: index,
              outcome: was === 'active' ? ('already-following' as const) : ('replaced' as const),
            };
          }),
          warnings: [],
        };
      },
      esFenceWrites: async ({ site, indices }: { site: string; indices?: string[] }) => {
        await this.enter('esFenceWrites', site);
        esAnswers(site);
        const already = s().es.writeBlocked[site]!;
        if (!already && site === 'gra') {
          s().es.divergent += this.writesBeforeBlock;
          this.writesBeforeBlock = 0;
        }
        s().es.writeBlocked[site] = true;
        const names = indices ?? leadersOf(site);
        return {
          site,
          indices: names.map((index) => ({
            index,
            outcome: already ? ('already-fenced' as const) : ('fenced' as const),
          })),
          steps: already ? [] : names.map((index) => `${site}: PUT ${index}/_block/write`),
          description: `${site}: ${names.join(', ')} refuse writes${already ? ' already' : ' now'} (index.blocks.write).`,
        };
      },
      esUnfenceWrites: async ({ site, indices }: { site: string; indices?: string[] }) => {
        await this.enter('esUnfenceWrites', site);
        esAnswers(site);
        const was = s().es.writeBlocked[site]!;
        s().es.writeBlocked[site] = false;
        return {
          site,
          indices: (indices ?? leadersOf(site)).map((index) => ({
            index,
            outcome: was ? ('unfenced' as const) : ('already-unfenced' as const),
          })),
          steps: was ? [`${site}: PUT _settings {"index.blocks.write": null}`] : [],
          description: `${site}: ${(indices ?? leadersOf(site)).join(', ')} take writes again.`,
        };
      },
      esWriteBlockStatus: async ({ site }: { site: string }) => {
        await this.enter('esWriteBlockStatus', site);
        esAnswers(site);
        const blocked = s().es.writeBlocked[site]!;
        const names = leadersOf(site);
        return {
          site,
          indices: names.map((index) => ({ index, exists: true, writeBlocked: blocked })),
          blocked: blocked ? names : [],
          unblocked: blocked ? [] : names,
          missing: [],
          fenced: blocked,
          description: `${site}: the site is ${blocked ? '' : 'not '}fenced.`,
        };
      },
      pairSettings: async () => {
        await this.enter('pairSettings');
        return this.settings;
      },
      mysqlServerStatuses: async () => {
        await this.enter('mysqlServerStatuses');
        return this.settings.mysql.servers.map((x) => mysqlStatus(x.name));
      },
      mysqlServerStatus: async ({ server }: { server: string }) => {
        await this.enter('mysqlServerStatus', server);
        return mysqlStatus(server);
      },
      mysqlSelectCandidate: async (input: { site?: string }) => {
        await this.enter('mysqlSelectCandidate');
        const candidates = this.settings.mysql.servers.filter(
          (x) => x.site === input.site && s().mysql[x.name]!.reachable && s().mysql[x.name]!.source,
        );
        if (candidates.length === 0)
          throw ApplicationFailure.create({
            type: 'NoCandidate',
            message: 'no replica can be promoted',
            nonRetryable: true,
          });
        return {
          candidate: candidates[0]!.name,
          ranking: [],
          tooFarBehind: false,
          maxLagSeconds: 5,
          sentence: `${candidates[0]!.name} is the most advanced replica.`,
        };
      },
      mysqlFence: async ({ server }: { server: string }) => {
        await this.enter('mysqlFence', server);
        const m = s().mysql[server]!;
        if (!m.reachable)
          throw ApplicationFailure.create({
            type: 'MysqlUnreachable',
            message: `${server}: connect ECONNREFUSED`,
          });
        const already = m.readOnly;
        m.readOnly = true;
        return {
          server,
          alreadyFenced: already,
          readOnly: true as const,
          killedConnections: 0,
          gtidBinlogPos: '0-1-100',
          steps: already ? [] : ['SET GLOBAL read_only=ON'],
          writersDespiteReadOnly: [],
          notGuaranteed: [],
          description: `${server} is fenced (read-only).`,
        };
      },
      mysqlUnfence: async ({ server }: { server: string }) => {
        await this.enter('mysqlUnfence', server);
        s().mysql[server]!.readOnly = false;
        return {
          server,
          alreadyWritable: false,
          steps: ['SET GLOBAL read_only=OFF'],
          description: `${server} is writable again.`,
        };
      },
      mysqlCatchUp: async ({ server }: { server: string }) => {
        await this.enter('mysqlCatchUp', server);
        return {
          server,
          target: '0-1-100',
          targetFrom: 'db-gra-1',
          applied: '0-1-100',
          alreadyCaughtUp: true,
          waitedMs: 0,
        };
      },
      mysqlSalvageBinlog: async ({ server, from }: { server: string; from: string }) => {
        await this.enter('mysqlSalvageBinlog', server);
        const base = { server, from, transferredBytes: 0, steps: [] as string[], appliedThisAttempt: 0 };
        if (!s().salvage.hostAnswers)
          return {
            ...base,
            possible: false,
            impossible: `${from} (root@10.0.0.1:22): cannot connect: ECONNREFUSED`,
            salvaged: 0,
            description: `salvage impossible: ${from} (root@10.0.0.1:22): cannot connect: ECONNREFUSED.`,
          };
        s().mysql[server]!.sqlRunning = false;
        s().salvage.salvaged += s().salvage.pending;
        const applied = s().salvage.pending;
        s().salvage.pending = 0;
        return {
          ...base,
          possible: true,
          salvaged: s().salvage.salvaged,
          appliedThisAttempt: applied,
          position: `0-1-${100 + s().salvage.salvaged}`,
          description: `${s().salvage.salvaged} transaction(s) salvaged from ${from}'s binlog onto ${server}.`,
        };
      },
      mysqlResumeReplication: async ({ server }: { server: string }) => {
        await this.enter('mysqlResumeReplication', server);
        s().mysql[server]!.sqlRunning = undefined;
        return { server, steps: ['START SLAVE'], description: `${server} replicates again.` };
      },
      mysqlPromote: async ({ server }: { server: string }) => {
        await this.enter('mysqlPromote', server);
        const m = s().mysql[server]!;
        m.source = undefined;
        m.ioRunning = false;
        m.readOnly = false;
        return {
          server,
          alreadyPromoted: false,
          steps: ['STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only=OFF'],
          gtidBinlogPos: '0-1-100',
          unreachableOthers: [],
        };
      },
      mysqlMhaSwitch: async ({ server, from, mode }: { server: string; from: string; mode: string }) => {
        await this.enter('mysqlMhaSwitch', server);
        const m = s().mysql[server]!;
        m.source = undefined;
        m.ioRunning = false;
        m.readOnly = false;
        for (const [name, other] of Object.entries(s().mysql))
          if (name !== server && (mode === 'alive' || name !== from))
            Object.assign(other, { source: server, ioRunning: true });
        const outcome = `Switching master to 127.0.0.1(127.0.0.1:3306) completed successfully.`;
        return {
          server,
          from,
          alreadySwitched: false,
          exitStatus: 0,
          outcome,
          steps: [`MHA exited with status 0: ${outcome}`],
          description: `MHA switched MySQL from ${from} to ${server}: ${outcome}`,
        };
      },
      mysqlRepoint: async ({ server, source }: { server: string; source: string }) => {
        await this.enter('mysqlRepoint', server);
        const m = s().mysql[server]!;
        if (m.errant)
          throw ApplicationFailure.create({
            type: 'ErrantTransactions',
            message: `refusing to repoint ${server}: it has ${m.errant} errant transaction(s)`,
            nonRetryable: true,
          });
        m.source = source;
        m.readOnly = true;
        m.ioRunning = true;
        return {
          server,
          source,
          alreadyReplicating: false,
          mode: 'slave_pos' as const,
          steps: [],
          ioRunning: 'Yes',
          sqlRunning: 'Yes',
        };
      },
      esClusterHealth: async ({ site }: { site: string }) => {
        await this.enter('esClusterHealth', site);
        const reachable = site === 'rbx' || s().es.graReachable;
        return {
          site,
          reachable,
          status: reachable ? ('green' as const) : ('unreachable' as const),
          timedOut: false,
          satisfied: reachable,
        };
      },
      esRemoteClusterStatus: async ({ site }: { site: string }) => {
        await this.enter('esRemoteClusterStatus', site);
        return {
          site,
          alias: 'gra',
          remoteSite: 'gra',
          mode: 'sniff' as const,
          addresses: [],
          configured: true,
          connected: s().es.rbxConnectedToGra,
        };
      },
      esFollowerStatus: async ({ site }: { site?: string }) => {
        await this.enter('esFollowerStatus', site);
        const indices = Object.entries(followersOf(site)).map(([index, st]) => ({
          index,
          state: st === 'regular' ? ('not-follower' as const) : st,
          lagOperations: s().es.lag,
          readExceptions: [],
          leaderIndexMissing: false,
          healthy: st === 'active',
        }));
        return {
          site: site ?? 'rbx',
          maxLagOperations: 100,
          indices,
          summary: {
            total: indices.length,
            active: indices.filter((i) => i.state === 'active').length,
            paused: indices.filter((i) => i.state === 'paused').length,
            notFollower: indices.filter((i) => i.state === 'not-follower').length,
            missing: 0,
            maxLagOperations: s().es.lag,
            unhealthy: indices.filter((i) => !i.healthy).map((i) => i.index),
            healthy: indices.every((i) => i.healthy),
          },
        };
      },
      esPauseFollow: async ({ site, onlyIfCaughtUp }: { site?: string; onlyIfCaughtUp?: boolean }) => {
        const followers = followersOf(site);
        const caughtUp = s().es.lag === 0 && Object.values(followers).every((f) => f === 'active');
        if (onlyIfCaughtUp && !caughtUp) {
          // It read the followers' status and changed nothing.
          await this.enter('esFollowerStatus', site ?? 'rbx');
          return { site: site ?? 'rbx', indices: [], notCaughtUp: `not paused: lag ${s().es.lag}` };
        }
        await this.enter('esPauseFollow', site === 'gra' ? site : undefined);
        const out = Object.keys(followers).map((index) => {
          const was = followers[index];
          followers[index] = 'paused';
          return { index, outcome: was === 'paused' ? ('already-paused' as const) : ('paused' as const) };
        });
        return { site: 'rbx', indices: out };
      },
      esResumeFollow: async ({ indices, site }: { indices?: string[]; site?: string }) => {
        await this.enter('esResumeFollow', (indices ?? []).join(','));
        const followers = followersOf(site);
        const out = (indices ?? Object.keys(followers)).map((index) => {
          followers[index] = 'active';
          return { index, outcome: 'resumed' as const };
        });
        return { site: 'rbx', indices: out };
      },
      esPauseAutoFollow: async ({ site }: { site?: string }) => {
        await this.enter('esPauseAutoFollow', site === 'gra' ? site : undefined);
        const patterns = patternsOf(site);
        return {
          site: site ?? 'rbx',
          patterns: Object.keys(patterns).map((name) => {
            const was = patterns[name];
            patterns[name] = false;
            return { name, outcome: was ? ('paused' as const) : ('already-paused' as const) };
          }),
        };
      },
      esResumeAutoFollow: async ({ patterns, site }: { patterns?: string[]; site?: string }) => {
        await this.enter('esResumeAutoFollow', (patterns ?? []).join(','));
        const mine = patternsOf(site);
        return {
          site: site ?? 'rbx',
          patterns: (patterns ?? Object.keys(mine)).map((name) => {
            mine[name] = true;
            return { name, outcome: 'resumed' as const };
          }),
        };
      },
      esPromoteFollowers: async ({ site }: { site?: string }) => {
        await this.enter('esPromoteFollowers', site === 'gra' ? site : undefined);
        const followers = followersOf(site);
        for (const index of Object.keys(followers)) followers[index] = 'regular';
        const total = Object.keys(followers).length;
        return {
          site: 'rbx',
          total,
          promoted: total,
          alreadyPromoted: 0,
          fromEarlierAttempts: 0,
          concurrency: 8,
          wallMs: 5,
          indices: [],
        };
      },
      appHealth: async ({ host }: { host: string }) => {
        await this.enter('appHealth', host);
        const ok = s().apps[host]!;
        return {
          host,
          site: host.includes('gra') ? 'gra' : 'rbx',
          healthUrl: 'http://x/health',
          at: new Date().toISOString(),
          ok,
          durationMs: 1,
          detail: ok ? '200' : 'connect ECONNREFUSED',
        };
      },
      appStart: async ({ host }: { host: string }) => {
        await this.enter('appStart', host);
        s().apps[host] = true;
        return { host, description: `${host} started and healthy.` };
      },
      appStop: async ({ host }: { host: string }) => {
        await this.enter('appStop', host);
        s().apps[host] = false;
        return { host, description: `${host} stopped.` };
      },
      trafficCurrentTarget: async () => {
        await this.enter('trafficCurrentTarget');
        return {
          provider: 'haproxy' as const,
          site: s().traffic || undefined,
          sites: s().traffic ? [s().traffic] : [],
          members: [],
          description: `traffic goes to ${s().traffic || 'no site'}.`,
        };
      },
      trafficDrain: async ({ site }: { site: string }) => {
        await this.enter('trafficDrain', site);
        const changed = s().traffic === site;
        if (changed) s().traffic = '';
        return {
          provider: 'haproxy' as const,
          site,
          changed,
          actions: [],
          description: changed ? `traffic no longer goes to ${site}.` : `${site} already gets no traffic.`,
        };
      },
      trafficSwitch: async ({ site }: { site: string }) => {
        await this.enter('trafficSwitch', site);
        const before = [s().traffic];
        s().traffic = site;
        return {
          provider: 'haproxy' as const,
          site,
          changed: true,
          before,
          actions: [],
          propagationSeconds: 0,
          description: `traffic switched to ${site}.`,
        };
      },
      trafficVerify: async ({ site }: { site: string }) => {
        await this.enter('trafficVerify', site);
        // HAProxy's health check of a site's server follows that site's app; the entry point serves the site
        // traffic goes to while its app is healthy.
        const members = (['gra', 'rbx'] as const).map((memberSite) => {
          const healthy = s().apps[`app-${memberSite}-1`]!;
          const receivesTraffic = s().traffic === memberSite;
          return {
            site: memberSite,
            name: `app-${memberSite}`,
            receivesTraffic,
            state: receivesTraffic ? 'ready' : 'drain',
            healthy,
            description: `app-${memberSite} ${receivesTraffic ? 'ready' : 'drain'}, ${healthy ? 'UP' : 'DOWN'}`,
          };
        });
        const entryOk = s().entryPointAnswers && s().traffic === site && s().apps[`app-${site}-1`]!;
        const ok = s().traffic === site && this.unverifiedAnswers-- <= 0;
        return {
          provider: 'haproxy' as const,
          site,
          ok,
          checks: [
            {
              name: 'entry-point',
              ok: entryOk,
              sentence: entryOk
                ? `the entry point http://x/health answers 200 from site ${site}.`
                : 'the entry point http://x/health fails: 503.',
            },
          ],
          propagationSeconds: 0,
          description: ok ? `${site} serves the traffic.` : `${site} does not serve the traffic.`,
          state: {
            provider: 'haproxy' as const,
            site: s().traffic || undefined,
            sites: s().traffic ? [s().traffic] : [],
            members,
            description: `traffic goes to ${s().traffic || 'no site'}.`,
          },
        };
      },
    };
    Object.assign(
      acts,
      fakePgActivities(
        () => this.settings,
        () => s().pg,
        (name, detail) => this.enter(name, detail),
      ),
    );
    for (const name of this.lostAnswers) {
      const act = (acts as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!;
      (acts as Record<string, unknown>)[name] = async (...args: unknown[]) => {
        const result = await act(...args);
        if (this.lostAnswers.delete(name))
          throw ApplicationFailure.retryable(
            `the answer of ${name} was lost after it took effect`,
            'LostAnswer',
          );
        return result;
      };
    }
    return acts as unknown as Partial<Activities>;
  }
}

const READS = new Set([
  'pairSettings',
  'mysqlFindErrantTransactions',
  'mysqlMeasureLoss',
  'esDivergence',
  'mysqlServerStatuses',
  'mysqlSelectCandidate',
  'mysqlCatchUp',
  'esClusterHealth',
  'esRemoteClusterStatus',
  'esWriteBlockStatus',
  'esFollowerStatus',
  'appHealth',
  'trafficCurrentTarget',
  'trafficVerify',
  ...PG_READS,
]);
