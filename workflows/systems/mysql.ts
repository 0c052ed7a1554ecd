import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { CandidateChoice, SalvageResult } from '../../activities/mysql';
import type { PairSettings } from '../../activities/pair-settings';
import type { MysqlServerStatus } from '../../activities/mysql/status';
import { GtidParseError } from '../../common/gtid';
import { appliedPosition } from '../../common/mysql-status';
import type { Check } from '../checks/check';
import { evaluateMysqlReadiness } from '../checks/mysql-readiness';
import type { DataLossEstimate } from '../definitions';
import type { PlanStep } from '../steps';
import {
  FENCE_WINDOW_PATCH,
  type Observation,
  type RunContext,
  type SystemContribution,
  type SystemPlan,
} from './system';

/**
 * MySQL: the primary is fenced (read-only, client sessions ended), the most advanced replica of the standby site
 * applies everything it has (planned: everything the fenced primary's binlog holds), is promoted, and the other
 * servers are repointed to it.
 */
export function mysqlContribution(): SystemContribution {
  let statuses: MysqlServerStatus[] = [];
  const read = async (ctx: RunContext) => {
    statuses = await ctx.call(
      'read',
      'mysqlServerStatuses',
      { pair: ctx.settings.pair },
      'read every MySQL server',
    );
    return statuses;
  };
  /** The writable server of the site the run leaves when there is one (a failback leaves the standby site), else the runbook's. */
  const primaryName = (ctx: RunContext) =>
    observedPrimary(statuses, ctx.from) ??
    ctx.settings.mysql.servers.find((s) => s.site === ctx.from && s.role === 'primary')?.name ??
    ctx.settings.mysql.servers.find((s) => s.site === ctx.from)!.name;

  return {
    system: 'mysql',

    async observe(ctx): Promise<Observation[]> {
      const all = await read(ctx);
      const primary = primaryName(ctx);
      const p = all.find((s) => s.server === primary);
      const observations: Observation[] = [
        {
          system: 'mysql',
          vantage: `worker → ${primary}`,
          kind: 'worker',
          down: !p?.reachable,
          sentence: p?.reachable
            ? `the worker reaches ${primary}.`
            : `the worker cannot reach ${primary} (${p?.error?.type ?? 'no answer'}).`,
        },
      ];
      for (const r of all.filter((s) => s.server !== primary && s.site === ctx.to)) {
        const io = r.replication?.ioRunning;
        observations.push({
          system: 'mysql',
          vantage: `${r.server} IO thread`,
          kind: 'peer',
          down: r.reachable && r.replication ? io !== 'Yes' : undefined,
          sentence: !r.reachable
            ? `${r.server} does not answer, so it cannot tell.`
            : !r.replication
              ? `${r.server} replicates from nothing, so it cannot tell.`
              : io === 'Yes'
                ? `${r.server} still receives from its source.`
                : `${r.server} has lost its source (IO thread ${io}${r.replication.lastIoErrno ? `, error ${r.replication.lastIoErrno}` : ''}).`,
        });
      }
      return observations;
    },

    async assess(ctx): Promise<Check[]> {
      const all = await read(ctx);
      const checks = evaluateMysqlReadiness(withObservedRoles(ctx.settings, all, ctx.from), all);
      if (ctx.planned) return checks;
      // Unplanned: the primary is gone by definition; only the standby site's servers must be fit.
      const standby = new Set(ctx.settings.mysql.servers.filter((s) => s.site === ctx.to).map((s) => s.name));
      return checks.filter(
        (c) => standby.has(c.name.split('.')[0]!) && !/\.(threads|lag|source|gtid)$/.test(c.name),
      );
    },

    async plan(ctx): Promise<SystemPlan> {
      const pair = ctx.settings.pair;
      const primary = primaryName(ctx);
      const choice = await ctx.call(
        'read',
        'mysqlSelectCandidate',
        { pair, site: ctx.to, exclude: [primary] },
        `choose the MySQL replica to promote in ${ctx.to}`,
      );
      const { candidate, sentence: chosen } = ctx.planned
        ? plannedCandidate(ctx, choice)
        : { candidate: choice.candidate!, sentence: choice.sentence };
      ctx.promoted = { ...ctx.promoted, mysql: candidate };
      const primaryStatus = statuses.find((s) => s.server === primary);
      const wasWritable =
        !!primaryStatus?.reachable && !primaryStatus.readOnly && !primaryStatus.superReadOnly;
      const others = ctx.settings.mysql.servers
        .map((s) => s.name)
        .filter((name) => name !== candidate && (ctx.planned || name !== primary));
      const fence = fenceStep(ctx, primary, wasWritable);
      const repoints = others.map((server) => repointStep(ctx, server, candidate));
      const loss = mysqlDataLoss(ctx, primaryStatus, candidate, chosen);
      if (ctx.settings.mysql.delegate === 'mha')
        return {
          steps: [fence, mhaSwitchStep(ctx, primary, candidate), ...repoints],
          dataLoss: mhaDataLoss(ctx, loss, primary),
        };
      const steps: PlanStep[] = [
        fence,
        {
          id: 'mysql.catch-up',
          phase: 'prepare',
          system: 'mysql',
          title: `let ${candidate} apply ${ctx.planned ? `everything ${primary} wrote` : 'everything it received'}`,
          target: candidate,
          run: async () => {
            const r = await ctx.call(
              'catchUp',
              'mysqlCatchUp',
              { pair, server: candidate, ...(ctx.planned ? { untilServer: primary } : {}) },
              `catch up ${candidate}`,
            );
            return `${candidate} has applied ${r.alreadyCaughtUp ? 'everything already' : `everything in ${r.waitedMs} ms`} (target from ${r.targetFrom}: ${r.target || 'nothing'}).`;
          },
        },
        ...(salvageable(ctx, primary) ? [salvageStep(ctx, primary, candidate)] : []),
        ...(ctx.planned && patched(FENCE_WINDOW_PATCH) ? [warmUpStep(ctx, primary, candidate)] : []),
        {
          id: 'mysql.promote',
          phase: 'promote',
          system: 'mysql',
          title: `promote MySQL replica ${candidate}`,
          target: candidate,
          run: async () => {
            const r = await ctx.call(
              'change',
              'mysqlPromote',
              { pair, server: candidate },
              `promote ${candidate}`,
            );
            return r.alreadyPromoted
              ? `${candidate} was already the writable primary.`
              : `${candidate} is the writable primary (${r.steps.join('; ')}); binlog at ${r.gtidBinlogPos}.`;
          },
        },
        ...repoints,
      ];
      if (salvageable(ctx, primary))
        loss.sentence += `; ${primary}'s binlog is salvaged over SSH before the promotion, which tells.`;
      return { steps, dataLoss: loss };
    },
  };
}

/** The old primary fenced (read-only, sessions ended); undone by making it writable again if it was. */
function fenceStep(ctx: RunContext, primary: string, wasWritable: boolean): PlanStep {
  const pair = ctx.settings.pair;
  return {
    id: 'mysql.fence',
    phase: 'fence',
    system: 'mysql',
    title: `fence MySQL primary ${primary}`,
    target: primary,
    compensation: wasWritable ? `make ${primary} writable again` : undefined,
    run: async () => {
      const preset = ctx.planned ? 'change' : 'read';
      return (await ctx.call(preset, 'mysqlFence', { pair, server: primary }, `fence ${primary}`))
        .description;
    },
    undo: wasWritable
      ? async () =>
          (await ctx.call('change', 'mysqlUnfence', { pair, server: primary }, `unfence ${primary}`))
            .description
      : undefined,
  };
}

/** A server other than the candidate replicates from it (on GTID positions). */
function repointStep(ctx: RunContext, server: string, candidate: string): PlanStep {
  return {
    id: `mysql.repoint.${server}`,
    phase: 'verify',
    system: 'mysql',
    title: `repoint ${server} to ${candidate}`,
    target: server,
    run: async () => {
      const r = await ctx.call(
        'change',
        'mysqlRepoint',
        { pair: ctx.settings.pair, server, source: candidate },
        `repoint ${server}`,
      );
      return r.alreadyReplicating
        ? `${server} already replicates from ${candidate}.`
        : `${server} replicates from ${candidate} (${r.mode}; IO ${r.ioRunning}, SQL ${r.sqlRunning}).`;
    },
  };
}

/**
 * The runbook delegates the switch to MHA: once the run has fenced the old primary, MHA applies what the candidate
 * lacks (a dead master's binlog included, over MHA's own SSH), promotes it and repoints the replicas by binlog file
 * and position; the run's repoint steps then put every replica back on GTID positions.
 */
function mhaSwitchStep(ctx: RunContext, primary: string, candidate: string): PlanStep {
  return {
    id: 'mysql.mha-switch',
    phase: 'promote',
    system: 'mysql',
    title: `MHA switches MySQL from ${primary} to ${candidate}`,
    target: candidate,
    run: async () =>
      (
        await ctx.call(
          'delegated',
          'mysqlMhaSwitch',
          { pair: ctx.settings.pair, mode: ctx.planned ? 'alive' : 'dead', server: candidate, from: primary },
          `MHA switch to ${candidate}`,
        )
      ).description,
  };
}

/** With MHA, what the run may lose is what MHA may: unplanned, what it cannot salvage from the dead master. */
function mhaDataLoss(ctx: RunContext, loss: DataLossEstimate, primary: string): DataLossEstimate {
  if (ctx.planned) return loss;
  return {
    ...loss,
    sentence: `${loss.sentence}; MHA then copies what ${primary}'s binlog holds beyond the candidate over its own SSH when ${primary}'s host answers (its outcome says whether it could).`,
  };
}

/**
 * Planned, before the fence: the candidate applies what the primary had written when the step began, so that the
 * catch-up inside the fence window only waits for the last writes before the fence.
 */
function warmUpStep(ctx: RunContext, primary: string, candidate: string): PlanStep {
  return {
    id: 'mysql.warm-up',
    phase: 'warm-up',
    system: 'mysql',
    title: `let ${candidate} apply what ${primary} has written so far, before the fence`,
    target: candidate,
    run: async () => {
      const r = await ctx.call(
        'catchUp',
        'mysqlCatchUp',
        { pair: ctx.settings.pair, server: candidate, untilServer: primary },
        `warm up the catch-up of ${candidate}`,
      );
      return `${candidate} has applied what ${primary} had written before the fence${r.alreadyCaughtUp ? ' already' : ` in ${r.waitedMs} ms`}.`;
    },
  };
}

/** Unplanned, with an `ssh` section for the old primary in the runbook: its binlog can be salvaged. */
const salvageable = (ctx: RunContext, primary: string) =>
  !ctx.planned && !!ctx.settings.mysql.servers.find((s) => s.name === primary)?.salvage;

/**
 * Unplanned: what the dead primary's binlog holds beyond the candidate is applied to it before it is promoted,
 * once it has applied its relay log. Undone by letting the candidate replicate again (read-only).
 */
function salvageStep(ctx: RunContext, primary: string, candidate: string): PlanStep {
  const pair = ctx.settings.pair;
  return {
    id: 'mysql.salvage',
    phase: 'prepare',
    system: 'mysql',
    title: `salvage onto ${candidate} what ${primary}'s binlog holds beyond it`,
    target: candidate,
    compensation: `${candidate} replicates again from its source, read-only`,
    after: 'mysql.catch-up',
    run: async () => {
      const before = await ctx.call(
        'read',
        'mysqlServerStatus',
        { pair, server: candidate },
        `read ${candidate}'s position before the salvage`,
      );
      const r = await ctx.call(
        'salvage',
        'mysqlSalvageBinlog',
        { pair, server: candidate, from: primary, baseline: salvageBaseline(before) },
        `salvage ${primary}'s binlog onto ${candidate}`,
      );
      ctx.reviseDataLoss(salvageDataLoss(r));
      return r.description;
    },
    undo: async () =>
      (
        await ctx.call(
          'change',
          'mysqlResumeReplication',
          { pair, server: candidate },
          `resume replication on ${candidate}`,
        )
      ).description,
  };
}

/** Where the salvage starts: the candidate's position; one that cannot be parsed fails the step with its sentence. */
function salvageBaseline(status: MysqlServerStatus): string {
  try {
    return appliedPosition(status);
  } catch (err) {
    if (!(err instanceof GtidParseError)) throw err;
    throw ApplicationFailure.nonRetryable(
      `${status.server}'s GTID position cannot be read: ${err.message}`,
      'GtidParseError',
    );
  }
}

/** The MySQL data loss once the salvage has run: none, or what it could not take and why. */
export function salvageDataLoss(r: SalvageResult): DataLossEstimate {
  const base = { system: 'mysql' as const, unit: 'transactions' as const, recovered: r.salvaged };
  if (!r.possible)
    return {
      ...base,
      sentence: `salvage impossible: ${r.impossible}; the transactions ${r.from} acknowledged after the last one ${r.server} received are lost (how many is unknown: ${r.from} cannot be read).`,
    };
  const salvaged = `${r.salvaged} transaction(s) salvaged from ${r.from}'s binlog onto ${r.server}`;
  if (r.timedOut || r.toolWarning)
    return {
      ...base,
      sentence: `${salvaged}, but ${r.timedOut ? "the runbook's salvage timeout ended it" : `the binlog tool stopped early (${r.toolWarning})`}: what ${r.from}'s binlog holds after ${r.position} is lost (how many is unknown).`,
    };
  return {
    ...base,
    count: 0,
    sentence: `none: ${salvaged}, so ${r.server} holds every transaction ${r.from} committed (${r.position}).`,
  };
}

/**
 * Planned: the primary is fenced and the candidate applies everything its binlog holds before the promotion, so
 * every eligible replica ends equal, and which one is a transaction or a second of lag ahead when the plan is
 * made is chance. Among the eligible replicas within maxLagSeconds the runbook's order decides (list first the
 * one the standby's applications write to). Unplanned keeps the most advanced replica: it loses the least.
 */
function plannedCandidate(ctx: RunContext, choice: CandidateChoice): { candidate: string; sentence: string } {
  const fit = new Set(
    choice.ranking
      .filter((a) => a.eligible && a.lagSeconds !== null && a.lagSeconds <= ctx.settings.mysql.maxLagSeconds)
      .map((a) => a.server),
  );
  const preferred = ctx.settings.mysql.servers.find((s) => s.site === ctx.to && fit.has(s.name))?.name;
  if (!preferred || preferred === choice.candidate)
    return { candidate: choice.candidate!, sentence: choice.sentence };
  return {
    candidate: preferred,
    sentence: `${preferred} is promoted, the first in the runbook's order of the replicas fit to take over: each applies everything the fenced primary wrote first (${choice.candidate} is a little ahead now).`,
  };
}

function mysqlDataLoss(
  ctx: RunContext,
  primary: MysqlServerStatus | undefined,
  candidate: string,
  choice: string,
): DataLossEstimate {
  if (ctx.planned)
    return {
      system: 'mysql',
      count: 0,
      unit: 'transactions',
      sentence: `none: ${primary?.server} is fenced first and ${candidate} applies everything its binlog holds before it is promoted (${choice.replace(/\.$/, '')}).`,
    };
  if (!primary?.reachable)
    return {
      system: 'mysql',
      unit: 'transactions',
      sentence: `unknown: ${primary?.server ?? 'the primary'} cannot be read, so what it wrote after ${candidate} last received is not known (${choice})`,
    };
  return { system: 'mysql', unit: 'transactions', sentence: `the primary answers; ${choice}` };
}

/** The one reachable writable server of `site`, if exactly one. */
export function observedPrimary(statuses: MysqlServerStatus[], site: string): string | undefined {
  const writable = statuses.filter((s) => s.site === site && s.reachable && !s.readOnly && !s.superReadOnly);
  return writable.length === 1 ? writable[0]!.server : undefined;
}

/**
 * The settings with the MySQL roles as observed: the writable server of `site` is the primary, the others
 * replicas. Unchanged when `site` has no single writable server (an unplanned failover's dead primary).
 */
export function withObservedRoles(
  settings: PairSettings,
  statuses: MysqlServerStatus[],
  site: string,
): PairSettings {
  const primary = observedPrimary(statuses, site);
  if (!primary) return settings;
  return {
    ...settings,
    mysql: {
      ...settings.mysql,
      servers: settings.mysql.servers.map((s) => ({
        ...s,
        role: s.name === primary ? ('primary' as const) : ('replica' as const),
      })),
    },
  };
}
