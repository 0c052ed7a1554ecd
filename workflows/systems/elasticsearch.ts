import { ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import type { EsFollowerStatusReport } from '../../activities/elasticsearch';
import type { EsWriteBlockStatus } from '../../activities/elasticsearch/fence';
import type { Check } from '../checks/check';
import { followersCaughtUp } from '../../common/es-followers';
import { evaluateEsReadiness } from '../checks/es-readiness';
import type { DataLossEstimate } from '../definitions';
import type { PlanStep } from '../steps';
import {
  FENCE_WINDOW_PATCH,
  type Observation,
  type RunContext,
  type SystemContribution,
  type SystemPlan,
} from './system';

const outcomes = (r: { indices: { index: string; outcome: string }[] }) =>
  r.indices.map((i) => `${i.index} ${i.outcome}`).join(', ') || 'none';

/** Runs whose plan fences the old site's Elasticsearch (the write block on its leader indices). */
export const ES_FENCE_PATCH = 'es-fence-writes';

/**
 * Elasticsearch CCR: the old site's leader indices refuse writes (the fence), the standby's followers (planned: once
 * they have read everything) and auto-follow patterns are paused, then promoted (close, unfollow, open). The followers
 * moved are the runbook's and those its auto-follow patterns created (found in assess). Paused followers and
 * patterns are resumed, and the write block lifted, if the run is undone before the point of no return.
 */
export function elasticsearchContribution(): SystemContribution {
  let followers: EsFollowerStatusReport | undefined;
  /** The followers the auto-follow patterns created; the activities' input names them with the runbook's. */
  let autoFollowed: string[] = [];
  const moved = (ctx: RunContext) =>
    autoFollowed.length > 0
      ? { indices: [...ctx.settings.elasticsearch!.followerIndices, ...autoFollowed] }
      : {};
  const readFollowers = async (ctx: RunContext) => {
    autoFollowed = await findAutoFollowed(ctx);
    followers = await ctx.call(
      'read',
      'esFollowerStatus',
      { pair: ctx.settings.pair, site: ctx.to, ...moved(ctx) },
      `read the followers on ${ctx.to}`,
    );
    return followers;
  };

  return {
    system: 'elasticsearch',

    async observe(ctx): Promise<Observation[]> {
      const pair = ctx.settings.pair;
      const [health, remote] = await Promise.all([
        ctx.call('read', 'esClusterHealth', { pair, site: ctx.from }, `health of ES ${ctx.from}`),
        ctx
          .call(
            'read',
            'esRemoteClusterStatus',
            { pair, site: ctx.to },
            `ES ${ctx.to}'s connection to ${ctx.from}`,
          )
          .catch(() => undefined),
      ]);
      return [
        {
          system: 'elasticsearch',
          vantage: `worker → ES ${ctx.from}`,
          kind: 'worker',
          down: !health.reachable,
          sentence: health.reachable
            ? `the worker reaches ES ${ctx.from} (${health.status}).`
            : `the worker cannot reach ES ${ctx.from}.`,
        },
        {
          system: 'elasticsearch',
          vantage: `ES ${ctx.to} → ${ctx.from}`,
          kind: 'peer',
          down: remote ? !remote.connected : undefined,
          sentence: !remote
            ? `ES ${ctx.to} does not answer, so it cannot tell.`
            : remote.connected
              ? `ES ${ctx.to} is still connected to ${ctx.from}.`
              : `ES ${ctx.to} has lost its connection to ${ctx.from}.`,
        },
      ];
    },

    async assess(ctx): Promise<Check[]> {
      const pair = ctx.settings.pair;
      const health = await ctx.call(
        'read',
        'esClusterHealth',
        { pair, site: ctx.to },
        `health of ES ${ctx.to}`,
      );
      if (!health.reachable) return evaluateEsReadiness(health);
      const report = await readFollowers(ctx);
      const checks = evaluateEsReadiness(health, report);
      if (ctx.planned) return checks;
      // Unplanned: the leader is gone, so lag and read errors are expected; each follower must only exist.
      return [
        ...checks.filter((c) => c.name === `es-${ctx.to}.health`),
        ...report.indices.map((i) => ({
          name: `es-${ctx.to}.${i.index}`,
          ok: i.state === 'active' || i.state === 'paused',
          sentence:
            i.state === 'active' || i.state === 'paused'
              ? `follower index ${i.index} on ${ctx.to} is there to be promoted (${i.state}).`
              : `follower index ${i.index} on ${ctx.to} cannot be promoted: it is ${i.state}.`,
        })),
      ];
    },

    async plan(ctx): Promise<SystemPlan> {
      const pair = ctx.settings.pair;
      const site = ctx.to;
      const es = ctx.settings.elasticsearch!;
      const followerNames = [...es.followerIndices, ...autoFollowed].join(', ');
      const activeBefore = (followers?.indices ?? []).filter((i) => i.state === 'active').map((i) => i.index);
      let pausedPatterns: string[] | undefined;
      const steps: PlanStep[] = [
        {
          id: 'es.pause-follow',
          phase: 'prepare',
          system: 'elasticsearch',
          title: ctx.planned
            ? `let the followers on ${site} read everything, then pause them`
            : `pause the followers on ${site}`,
          target: followerNames,
          compensation: `resume the followers that were active (${activeBefore.join(', ') || 'none'})`,
          run: async () => {
            // Checked before awaiting anything: older runs schedule their first lag read in this same turn.
            if (ctx.planned && patched(FENCE_WINDOW_PATCH)) {
              const paused = await pauseIfCaughtUp(ctx, site, moved(ctx));
              if (paused) return paused;
            }
            const caughtUp = ctx.planned ? await waitForZeroLag(ctx, moved(ctx)) : '';
            const r = await ctx.call(
              'change',
              'esPauseFollow',
              { pair, site, ...moved(ctx) },
              `pause followers on ${site}`,
            );
            return `${caughtUp}followers on ${site} paused: ${outcomes(r)}.`;
          },
          undo: async () => {
            if (activeBefore.length === 0) return `no follower on ${site} was active before the run.`;
            const r = await ctx.call(
              'change',
              'esResumeFollow',
              { pair, site, indices: activeBefore },
              `resume followers on ${site}`,
            );
            return `followers on ${site} resumed: ${outcomes(r)}.`;
          },
        },
        {
          id: 'es.promote',
          phase: 'promote',
          system: 'elasticsearch',
          title: `promote the followers on ${site} (close, unfollow, open)`,
          target: followerNames,
          run: async () => {
            const r = await ctx.call(
              'long',
              'esPromoteFollowers',
              { pair, site, ...moved(ctx) },
              `promote followers on ${site}`,
            );
            return `${r.total} follower index(es) on ${site} are regular writable indices (${r.promoted} promoted now, ${r.alreadyPromoted} already) in ${r.wallMs} ms.`;
          },
        },
      ];
      const early: { before?: BlocksBefore } = {};
      if (patched(ES_FENCE_PATCH)) steps.unshift(esFenceStep(ctx, early));
      if (ctx.planned && patched(FENCE_WINDOW_PATCH)) steps.unshift(esWarmUpStep(ctx, moved(ctx), early));
      if (es.autoFollowPatterns.length > 0)
        steps.splice(steps.findIndex((s) => s.id === 'es.pause-follow') + 1, 0, {
          id: 'es.pause-auto-follow',
          phase: 'prepare',
          system: 'elasticsearch',
          title: `pause auto-follow on ${site}`,
          target: es.autoFollowPatterns.join(', '),
          compensation: 'resume the auto-follow patterns it paused',
          run: async () => {
            const r = await ctx.call(
              'change',
              'esPauseAutoFollow',
              { pair, site },
              `pause auto-follow on ${site}`,
            );
            pausedPatterns = r.patterns.filter((p) => p.outcome === 'paused').map((p) => p.name);
            return `auto-follow on ${site}: ${r.patterns.map((p) => `${p.name} ${p.outcome}`).join(', ')}.`;
          },
          undo: async () => {
            const patterns = pausedPatterns ?? es.autoFollowPatterns;
            if (patterns.length === 0) return `no auto-follow pattern on ${site} was paused by the run.`;
            const r = await ctx.call(
              'change',
              'esResumeAutoFollow',
              { pair, site, patterns },
              `resume auto-follow on ${site}`,
            );
            return `auto-follow on ${site}: ${r.patterns.map((p) => `${p.name} ${p.outcome}`).join(', ')}.`;
          },
        });
      return { steps, dataLoss: esDataLoss(ctx, followers) };
    },
  };
}

/** The old site's leader indices and their write blocks before the run's fence: what its undo must leave. */
interface BlocksBefore {
  indices: string[];
  blocked: string[];
}

/**
 * The old site's leader indices refuse writes (`index.blocks.write`, through the add index block API: no write is in
 * flight once it answers), after its clients were drained and its database fenced; planned, the followers then
 * read everything their leaders will ever hold. A completed move keeps the block: the old site's indices stay
 * write-blocked until a failback replaces them by followers. Undone by lifting the block from the indices it added
 * it to (an index that carried the block before the run, say from an ILM read-only phase, keeps it). What carried a
 * block before is read first: in the warm-up for a planned move with the fence window (`early`, so that the window
 * holds one step less), then told again by the fence itself; otherwise just before the fence. When the blocks could
 * not even be read first, nothing was fenced and nothing is lifted.
 */
function esFenceStep(ctx: RunContext, early: { before?: BlocksBefore }): PlanStep {
  const pair = ctx.settings.pair;
  const site = ctx.from;
  let before: BlocksBefore | undefined;
  const readBlocks = (why: string, indices?: string[]) =>
    ctx.call(
      'read',
      'esWriteBlockStatus',
      { pair, site, ...(indices ? { indices } : {}) },
      `write blocks on ES ${site} ${why}`,
    );
  return {
    id: 'es.fence',
    phase: 'fence',
    system: 'elasticsearch',
    title: `make the leader indices of ${site} refuse writes (write block)`,
    target: `the leader indices of ES ${site}`,
    compensation: `lift the write block from the leader indices of ${site} that took writes before`,
    run: async () => {
      before = early.before ?? blocksBefore(await readBlocks('before the fence'));
      const preset = ctx.planned ? 'change' : 'read';
      const r = await ctx.call(preset, 'esFenceWrites', { pair, site }, `fence writes on ES ${site}`);
      // What the fence found blocked already, as it added the blocks: fresher than a read in the warm-up.
      before = {
        indices: r.indices.map((i) => i.index),
        blocked: r.indices.filter((i) => i.outcome === 'already-fenced').map((i) => i.index),
      };
      return r.description;
    },
    undo: async () => {
      if (!before) return `nothing was fenced on ES ${site}: its write blocks could not be read first.`;
      const blockedBefore = new Set(before.blocked);
      const now = await readBlocks('to undo the fence', before.indices);
      const added = now.blocked.filter((index) => !blockedBefore.has(index));
      if (added.length === 0) return `no leader index of ${site} carries a write block the run added.`;
      return (
        await ctx.call(
          'change',
          'esUnfenceWrites',
          { pair, site, indices: added },
          `unfence writes on ES ${site}`,
        )
      ).description;
    },
  };
}

const blocksBefore = (status: EsWriteBlockStatus): BlocksBefore => ({
  indices: status.indices.filter((i) => i.exists).map((i) => i.index),
  blocked: status.blocked,
});

/**
 * Planned: the old site takes no more writes (fenced); wait until every follower has read all of its leader.
 * A lag of 0 alone does not say so: the leader checkpoint in the stats only moves on a successful read, so a
 * follower cut from its leader keeps its old lag. Each follower must also be healthy (reading, no read errors).
 */
export async function waitForZeroLag(
  ctx: RunContext,
  which: { indices?: string[] },
  site = ctx.to,
  maxLag = 0,
): Promise<string> {
  const deadline = Date.now() + ctx.settings.timeouts.replicaCatchUpMs;
  const backoff = patched(FENCE_WINDOW_PATCH);
  let pauseMs = FIRST_POLL_MS;
  for (;;) {
    const r = await ctx.call(
      'read',
      'esFollowerStatus',
      { pair: ctx.settings.pair, site, ...which },
      `lag of the followers on ${site}`,
    );
    const lag = r.summary.maxLagOperations;
    if (followersCaughtUp(r.summary, maxLag))
      return maxLag === 0
        ? `every follower on ${site} has read all of its leader; `
        : `every follower on ${site} is within ${maxLag} operations of its leader (lag ${lag}); `;
    if (Date.now() > deadline) {
      const unhealthy = r.indices.filter((i) => !i.healthy).map((i) => i.description);
      throw ApplicationFailure.nonRetryable(
        `the followers on ${site} did not catch up within ${ctx.settings.timeouts.replicaCatchUpMs / 1000}s (lag ${lag} operations, ${r.summary.active} of ${r.summary.total} active${unhealthy.length > 0 ? `; ${unhealthy.join(' ')}` : ''})`,
        'FollowersNotCaughtUp',
      );
    }
    // Polled with backoff from a few ms (runs with the fence window), so a follower that catches up at once costs
    // no fixed second inside the window.
    await sleep(backoff ? pauseMs : 1000);
    pauseMs = Math.min(pauseMs * 2, 1000);
  }
}

/**
 * Planned, inside the fence window (runs with the fence window): one activity reads the followers and pauses them when
 * they have read everything already, the usual case after the warm-up and the fence; the sentence, or nothing when
 * they have not (the step then waits for them as before).
 */
async function pauseIfCaughtUp(
  ctx: RunContext,
  site: string,
  which: { indices?: string[] },
): Promise<string | undefined> {
  const r = await ctx.call(
    'change',
    'esPauseFollow',
    { pair: ctx.settings.pair, site, ...which, onlyIfCaughtUp: true },
    `pause followers on ${site} once caught up`,
  );
  if (r.notCaughtUp) return undefined;
  return `every follower on ${site} has read all of its leader; followers on ${site} paused: ${outcomes(r)}.`;
}

/** The first pause between two reads of the followers' lag, doubled after each read up to 1 s. */
const FIRST_POLL_MS = 5;

/**
 * How close to their leaders the followers come before the fence: within this many operations, so the final
 * catch-up inside the window is short while the leaders still take writes (zero may never be seen then).
 */
export const WARM_UP_LAG_OPERATIONS = 100;

/**
 * Planned, before the fence: the followers come within a few operations of their leaders, and the old site's write
 * blocks are read for the fence's undo (`early`), so that the fence inside the window needs no read first.
 */
function esWarmUpStep(
  ctx: RunContext,
  which: { indices?: string[] },
  early: { before?: BlocksBefore },
): PlanStep {
  const site = ctx.from;
  return {
    id: 'es.warm-up',
    phase: 'warm-up',
    system: 'elasticsearch',
    title: `let the followers on ${ctx.to} come within ${WARM_UP_LAG_OPERATIONS} operations of their leaders, before the fence`,
    target: which.indices?.join(', ') ?? ctx.settings.elasticsearch!.followerIndices.join(', '),
    run: async () => {
      const [lag, blocks] = await Promise.all([
        waitForZeroLag(ctx, which, ctx.to, WARM_UP_LAG_OPERATIONS),
        ctx.call(
          'read',
          'esWriteBlockStatus',
          { pair: ctx.settings.pair, site },
          `write blocks on ES ${site} before the fence`,
        ),
      ]);
      early.before = blocksBefore(blocks);
      return `${lag}the leader indices of ${site} that refuse writes before the fence: ${blocks.blocked.join(', ') || 'none'}.`;
    },
  };
}

/**
 * The followers on the standby that the runbook's auto-follow patterns created: those following the primary
 * site's cluster (the standby's remote alias for it) that the runbook does not list. Promoted with the listed
 * ones, or they would stay read-only followers of the old primary. None without auto-follow patterns, or when
 * the settings (from an older worker) do not name the alias.
 */
async function findAutoFollowed(ctx: RunContext): Promise<string[]> {
  const es = ctx.settings.elasticsearch!;
  const alias = es.remoteAliases?.[ctx.to];
  if (es.autoFollowPatterns.length === 0 || !alias) return [];
  const all = await ctx.call(
    'read',
    'esFollowerStatus',
    { pair: ctx.settings.pair, site: ctx.to, indices: 'all' },
    `find the auto-followed indices on ${ctx.to}`,
  );
  return all.indices
    .filter((i) => i.remoteCluster === alias && !es.followerIndices.includes(i.index))
    .map((i) => i.index);
}

function esDataLoss(ctx: RunContext, report: EsFollowerStatusReport | undefined): DataLossEstimate {
  if (ctx.planned)
    return {
      system: 'elasticsearch',
      count: 0,
      unit: 'operations',
      sentence: 'none: the followers are paused only once they have read everything their leaders hold.',
    };
  const lag = report?.summary.maxLagOperations;
  return {
    system: 'elasticsearch',
    ...(lag !== undefined ? { count: lag } : {}),
    unit: 'operations',
    sentence:
      lag === undefined
        ? 'unknown: the followers could not be read.'
        : `at least ${lag} operation(s) (the lag last measured); writes the leader took after its last successful read are not known.`,
  };
}
