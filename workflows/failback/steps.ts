import { ApplicationFailure } from '@temporalio/workflow';
import type { PlanStep } from '../steps';
import { waitForZeroLag } from '../systems/elasticsearch';
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
          'long',
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
    step('divergence', `count what the indices of ${site} hold that the leader lacks`, site, async () => {
      const r = await ctx.call(
        'long',
        'esDivergence',
        { pair, site, indices: indices() },
        `what ${site}'s indices would lose`,
      );
      run.dataLoss.push({
        system: 'elasticsearch',
        count: r.total,
        unit: 'operations',
        sentence: r.description,
      });
      if (r.total === 0) return r.description;
      const record = await run.desk.approval(`${r.description} Replace them by followers anyway?`, {
        ...ctx.settings.approval,
        policy: 'required',
        onTimeout: 'reject',
      });
      run.say(`${record.approved ? 'approved' : 'rejected'} by ${record.by}: ${record.reason}.`);
      if (!record.approved)
        throw ApplicationFailure.nonRetryable(
          `replacing the indices of ${site} was not approved (${record.reason}): ${r.description}`,
          'DivergenceNotApproved',
        );
      return `${r.description} Approved by ${record.by}.`;
    }),
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
