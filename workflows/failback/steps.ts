import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { EsDivergenceReport } from '../../activities/elasticsearch';
import type { DataLossEstimate } from '../definitions';
import type { ApprovalRecord } from '../desk';
import type { PlanStep } from '../steps';
import { waitForZeroLag } from '../systems/elasticsearch';
import { pgServerOf, rejoinStep } from '../systems/postgresql';
import type { FailoverRun } from '../failover/run';

const outcomes = (r: { indices: { index: string; outcome: string }[] }) =>
  r.indices.map((i) => `${i.index} ${i.outcome}`).join(', ') || 'none';

const unique = (names: string[]) => [...new Set(names)];

/**
 * The old primary site's MySQL servers become replicas of `primary`, each after an errant-transaction check that
 * stops for a human when it finds any: `discard` rebuilds the server from `primary`, `abort` ends the run.
 */
export function mysqlReprotectSteps(run: FailoverRun, primary: string, site: string): PlanStep[] {
  const { ctx } = run;
  const pair = ctx.settings.pair;
  const servers = ctx.settings.mysql.servers
    .filter((s) => s.site === site)
    .sort((a, b) => (a.role === 'primary' ? -1 : b.role === 'primary' ? 1 : 0));
  return servers.map((s): PlanStep => ({
    id: `mysql.reprotect.${s.name}`,
    phase: 'reprotect',
    system: 'mysql',
    title: `make ${s.name} a read-only GTID replica of ${primary}`,
    target: s.name,
    run: async () => {
      const fence = await ctx.call('change', 'mysqlFence', { pair, server: s.name }, `fence ${s.name}`);
      const errant = await ctx.call(
        'read',
        'mysqlFindErrantTransactions',
        { pair, server: s.name, reference: primary },
        `errant transactions of ${s.name}`,
      );
      let rebuilt = '';
      if (errant.count > 0) {
        run.dataLoss.push({
          system: 'mysql',
          count: errant.count,
          unit: 'transactions',
          sentence: `${errant.sentence} They are discarded only if an operator answers discard.`,
        });
        const decision = await run.desk.decide(
          `${errant.sentence} Discard them (rebuild ${s.name} as a clean copy of ${primary}; replay what must be kept on ${primary} first) or abort?`,
          ['discard', 'abort'],
        );
        run.say(`${decision.action} asked by ${decision.by}: ${decision.reason}.`);
        if (decision.action !== 'discard')
          throw ApplicationFailure.nonRetryable(
            `aborted by ${decision.by}: ${s.name} keeps its ${errant.count} transaction(s) that ${primary} lacks (${decision.reason})`,
            'AbortedByOperator',
          );
        const r = await ctx.call(
          'rebuild',
          'mysqlRebuildReplica',
          { pair, server: s.name, source: primary },
          `rebuild ${s.name} from ${primary}`,
        );
        rebuilt = `${r.description} `;
      }
      const r = await ctx.call(
        'change',
        'mysqlRepoint',
        { pair, server: s.name, source: primary },
        `repoint ${s.name}`,
      );
      return `${fence.alreadyFenced ? '' : `${s.name} fenced; `}${rebuilt}${
        r.alreadyReplicating
          ? `${s.name} already replicates from ${primary}.`
          : `${s.name} replicates from ${primary} (${r.mode}; IO ${r.ioRunning}, SQL ${r.sqlRunning}).`
      }`;
    },
  }));
}

/** Each server of `site` applies everything `primary`'s binlog holds now (bounded, heartbeating). */
export function mysqlCatchUpSteps(run: FailoverRun, primary: string, site: string): PlanStep[] {
  const { ctx } = run;
  return ctx.settings.mysql.servers
    .filter((s) => s.site === site && s.name !== primary)
    .map((s): PlanStep => ({
      id: `mysql.catch-up.${s.name}`,
      phase: 'catch-up',
      system: 'mysql',
      title: `let ${s.name} apply everything ${primary} holds`,
      target: s.name,
      run: async () => {
        const r = await ctx.call(
          'catchUp',
          'mysqlCatchUp',
          { pair: ctx.settings.pair, server: s.name, untilServer: primary },
          `catch up ${s.name}`,
        );
        return `${s.name} has applied everything ${primary} held (${r.alreadyCaughtUp ? 'already' : `in ${r.waitedMs} ms`}).`;
      },
    }));
}

/**
 * Elasticsearch: `site`'s cluster connects to the other one, mirrors its auto-follow patterns, counts what each of
 * its indices holds that the leader lacks (a non-zero count needs an approval), then replaces them by followers.
 * `phase` is reprotect (the old primary follows) or reestablish (the standby follows again).
 */
export function esFollowSteps(
  run: FailoverRun,
  site: string,
  phase: 'reprotect' | 'reestablish',
): { steps: PlanStep[]; indices: () => string[] } {
  const { ctx } = run;
  const pair = ctx.settings.pair;
  const es = ctx.settings.elasticsearch!;
  let extra: string[] = [];
  const indices = () => unique([...es.followerIndices, ...extra]);
  const step = (id: string, title: string, target: string, body: () => Promise<string>): PlanStep => ({
    id: `es.${phase}.${id}`,
    phase,
    system: 'elasticsearch',
    title,
    target,
    run: body,
  });
  const steps: PlanStep[] = [
    step('remote', `connect ES ${site} to the other site's cluster`, site, async () => {
      const r = await ctx.call(
        'change',
        'esConfigureRemoteCluster',
        { pair, site },
        `remote cluster on ${site}`,
      );
      return `ES ${site} knows ${r.remoteSite} as ${r.alias} (${r.changed ? 'configured now' : 'already configured'}; ${r.connected ? 'connected' : 'not connected yet'}).`;
    }),
  ];
  if (es.autoFollowPatterns.length > 0)
    steps.push(
      step('auto-follow', `auto-follow patterns on ${site}`, es.autoFollowPatterns.join(', '), async () => {
        const r = await ctx.call(
          'change',
          'esMirrorAutoFollowPatterns',
          { pair, site },
          `auto-follow patterns on ${site}`,
        );
        extra = r.existingLeaderIndices;
        return `auto-follow on ${site}: ${r.patterns.map((p) => `${p.name} ${p.outcome}`).join(', ')}; existing leader indices they match: ${extra.join(', ') || 'none'}.`;
      }),
    );
  steps.push(
    step('divergence', `count what the indices of ${site} hold that the leader lacks`, site, () =>
      countWhatIsLost(run, site, indices()),
    ),
    step('follow', `make the indices of ${site} followers of the other site's`, site, async () => {
      const r = await ctx.call(
        'long',
        'esFollowIndices',
        { pair, site, indices: indices(), replaceExisting: true },
        `follow on ${site}`,
      );
      return `indices of ${site} follow ${r.leaderSite}: ${outcomes(r)}.`;
    }),
  );
  return { steps, indices };
}

/**
 * What replacing the indices of `site` by followers discards, counted (a non-zero count needs an approval, whatever
 * the runbook's policy). Then the indices that hold anything of their own are write-blocked (after a failover they
 * usually are already) and counted again under the block, so that no write lands between the count and the
 * replacement; a recount above what was approved is asked again: no more is replaced than was approved. Runs
 * started before the recount (patch es-divergence-recount-under-block) counted once.
 */
async function countWhatIsLost(run: FailoverRun, site: string, indices: string[]): Promise<string> {
  const { ctx } = run;
  const pair = ctx.settings.pair;
  const first = await ctx.call(
    'long',
    'esDivergence',
    { pair, site, indices },
    `what ${site}'s indices would lose`,
  );
  const loss: DataLossEstimate = {
    system: 'elasticsearch',
    count: first.total,
    unit: 'operations',
    sentence: first.description,
  };
  run.dataLoss.push(loss);
  const approval =
    first.total === 0
      ? undefined
      : await approveLoss(
          run,
          site,
          `${first.description} Replace them by followers anyway?`,
          first.description,
        );
  if (!patched('es-divergence-recount-under-block'))
    return approval ? `${first.description} Approved by ${approval.by}.` : first.description;
  const fenced = await fenceCounted(run, site, first);
  const recount = await ctx.call(
    'long',
    'esDivergence',
    { pair, site, indices, underWriteBlock: true, previous: countsOf(first) },
    `recount what ${site}'s indices would lose, under the write block`,
  );
  loss.count = recount.total;
  loss.sentence = recount.description;
  const approved = approval ? first.total : 0;
  if (recount.total <= approved)
    return `${fenced.sentence} ${recount.description}${approval ? ` Approved by ${approval.by} (${approved} document(s)).` : ''}`;
  const before = approval
    ? `more than the ${approved} document(s) approved before the write block`
    : 'the count before the write block found none';
  const again = await approveLoss(
    run,
    site,
    `${recount.description} That is ${before}: replace them by followers anyway?`,
    recount.description,
    fenced.blocked ? ` The indices of ${site} keep their write block.` : '',
  );
  return `${fenced.sentence} ${recount.description} Approved by ${again.by} after the recount.`;
}

/** Asks whether to discard what the indices of `site` hold; a rejection (or no answer in time) stops the step. */
async function approveLoss(
  run: FailoverRun,
  site: string,
  question: string,
  description: string,
  after = '',
): Promise<ApprovalRecord> {
  const record = await run.desk.approval(question, {
    ...run.ctx.settings.approval,
    policy: 'required',
    onTimeout: 'reject',
  });
  run.say(`${record.approved ? 'approved' : 'rejected'} by ${record.by}: ${record.reason}.`);
  if (!record.approved)
    throw ApplicationFailure.nonRetryable(
      `replacing the indices of ${site} was not approved (${record.reason}): ${description}${after}`,
      'DivergenceNotApproved',
    );
  return record;
}

/** Write-blocks the indices of `site` that hold anything of their own (those that exist and do not follow yet). */
async function fenceCounted(
  run: FailoverRun,
  site: string,
  counted: EsDivergenceReport,
): Promise<{ blocked: boolean; sentence: string }> {
  const indices = counted.indices.filter((i) => i.exists && !i.following).map((i) => i.index);
  if (indices.length === 0)
    return { blocked: false, sentence: `no index of ${site} holds anything of its own to write-block.` };
  const r = await run.ctx.call(
    'change',
    'esFenceWrites',
    { pair: run.ctx.settings.pair, site, indices },
    `write-block the indices of ${site} before the recount`,
  );
  return { blocked: true, sentence: r.description };
}

const countsOf = (r: EsDivergenceReport) => ({
  total: r.total,
  indices: r.indices.map(({ index, divergent }) => ({ index, divergent })),
});

/** Every follower of `site` has read all of its leader (bounded by the runbook's catch-up timeout). */
export function esCatchUpStep(run: FailoverRun, site: string, indices: () => string[]): PlanStep {
  return {
    id: 'es.catch-up',
    phase: 'catch-up',
    system: 'elasticsearch',
    title: `let the followers on ${site} read everything`,
    target: site,
    run: async () => `${(await waitForZeroLag(run.ctx, { indices: indices() }, site)).replace(/; $/, '.')}`,
  };
}

/** After the switch back: the reverse patterns on `home` go, the standby's own patterns resume. */
export function esAutoFollowBackStep(run: FailoverRun, home: string, away: string): PlanStep {
  const { ctx } = run;
  const pair = ctx.settings.pair;
  return {
    id: 'es.reestablish.auto-follow-back',
    phase: 'reestablish',
    system: 'elasticsearch',
    title: `auto-follow from ${away} again, not from ${home}`,
    target: ctx.settings.elasticsearch!.autoFollowPatterns.join(', '),
    run: async () => {
      const deleted = await ctx.call(
        'change',
        'esDeleteAutoFollowPatterns',
        { pair, site: home },
        `delete the reverse patterns on ${home}`,
      );
      const resumed = await ctx.call(
        'change',
        'esResumeAutoFollow',
        { pair, site: away },
        `resume auto-follow on ${away}`,
      );
      return `auto-follow on ${home}: ${deleted.patterns.map((p) => `${p.name} ${p.outcome}`).join(', ')}; on ${away}: ${resumed.patterns.map((p) => `${p.name} ${p.outcome}`).join(', ')}.`;
    },
  };
}

/** A half-finished failback: the standby's servers that do not replicate from the restored primary are repointed. */
export function mysqlRepointSteps(run: FailoverRun, primary: string, servers: string[]): PlanStep[] {
  const { ctx } = run;
  return servers.map((server): PlanStep => ({
    id: `mysql.reestablish.${server}`,
    phase: 'reestablish',
    system: 'mysql',
    title: `repoint ${server} to ${primary}`,
    target: server,
    run: async () => {
      const r = await ctx.call(
        'change',
        'mysqlRepoint',
        { pair: ctx.settings.pair, server, source: primary },
        `repoint ${server}`,
      );
      return r.alreadyReplicating
        ? `${server} already replicates from ${primary}.`
        : `${server} replicates from ${primary} (${r.mode}).`;
    },
  }));
}

/**
 * Redis: the server of `site` (the old master) becomes a read-only replica of the other site's, now the master,
 * taking its data (what it held of its own is replaced; after an unplanned failover the watcher has usually done
 * this already, and the step says so). The switch back's own steps then hand over without loss.
 */
export function redisReprotectStep(run: FailoverRun, site: string): PlanStep {
  return redisReplicaStep(run, site, 'reprotect');
}

/**
 * A resumed failback: the standby site's Redis (`site`) becomes a read-only replica of the primary site's again, its
 * write pause lifted (already so when the switch back got that far: the step says so).
 */
export function redisRepointStep(run: FailoverRun, site: string): PlanStep {
  return redisReplicaStep(run, site, 'reestablish');
}

function redisReplicaStep(run: FailoverRun, site: string, phase: 'reprotect' | 'reestablish'): PlanStep {
  const { ctx } = run;
  const servers = ctx.settings.redis!.servers;
  const server = servers.find((s) => s.site === site)!.name;
  const source = servers.find((s) => s.site !== site)!.name;
  return {
    id: `redis.${phase}`,
    phase,
    system: 'redis',
    title: `make Redis ${server} a read-only replica of ${source}`,
    target: server,
    run: async () =>
      (
        await ctx.call(
          'change',
          'redisReplicate',
          { pair: ctx.settings.pair, server, source, unpause: true },
          `${phase} ${server}`,
        )
      ).description,
  };
}

/**
 * PostgreSQL: the old primary site's server becomes a streaming standby of the current primary (the other site's
 * server, when it is the one out of recovery): pg_rewind discards what it wrote that the current primary never
 * received, and the run tells it as a loss. `phase` is reprotect (the old primary follows) or reestablish (the standby
 * follows again).
 */
export function pgFollowStep(run: FailoverRun, site: string, phase: 'reprotect' | 'reestablish'): PlanStep {
  const { ctx } = run;
  const server = pgServerOf(ctx.settings, site).name;
  const source = ctx.settings.postgresql!.servers.find((s) => s.site !== site)!.name;
  return rejoinStep(ctx, server, source, phase, (r) => {
    if (r.rewind?.required)
      run.dataLoss.push({
        system: 'postgresql',
        ...(r.rewind.rewoundBytes !== undefined ? { count: r.rewind.rewoundBytes } : {}),
        unit: 'bytes of WAL',
        sentence: r.rewind.sentence,
      });
  });
}

/** The old primary site's PostgreSQL server replays everything it has received from the current primary. */
export function pgCatchUpStep(run: FailoverRun, site: string): PlanStep {
  const { ctx } = run;
  const server = pgServerOf(ctx.settings, site).name;
  return {
    id: `postgresql.catch-up.${server}`,
    phase: 'catch-up',
    system: 'postgresql',
    title: `let ${server} replay everything it received`,
    target: server,
    run: async () =>
      (
        await ctx.call(
          'catchUp',
          'pgCatchUp',
          { pair: ctx.settings.pair, server, timeoutMs: ctx.settings.timeouts.replicaCatchUpMs },
          `catch up ${server}`,
        )
      ).description,
  };
}
