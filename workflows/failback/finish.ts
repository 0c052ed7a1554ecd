import type { FollowerIndexStatus } from '../../activities/elasticsearch';
import type { FailoverRun } from '../failover/run';
import type { PlanStep } from '../steps';
import { trafficContribution } from '../systems/traffic';

/** A step that finishes an aborted switch back, and what stays missing while it is not done. */
export interface FinishStep {
  step: PlanStep;
  missing: string;
}

/**
 * What a failback resumed after an aborted switch back still has to do before forward replication, in order: the
 * primary site's indices that still follow the standby's are promoted (read on the primary site: the followers of
 * the standby's cluster and the runbook's indices left closed), the traffic is switched to the primary site when it
 * does not go there alone, and the entry point is verified to serve it (the failover's own switch and verify steps).
 */
export async function finishSwitchSteps(
  run: FailoverRun,
  trafficHome: boolean | undefined,
): Promise<FinishStep[]> {
  const { ctx } = run;
  const { from: away, to: home } = ctx;
  const steps: FinishStep[] = [];
  if (ctx.settings.elasticsearch) {
    const indices = await stillFollowing(run);
    if (indices.length > 0)
      steps.push({
        step: promoteStep(run, indices),
        missing: `${home}'s indices ${indices.join(', ')} still follow ${away} (they refuse writes)`,
      });
  }
  if (ctx.settings.redis) {
    const { master, standing } = redisRoles(run);
    steps.push({ step: redisPromoteStep(run), missing: `${master} is not the Redis master (${standing})` });
  }
  if (ctx.settings.traffic) {
    const traffic = (await trafficContribution().plan(ctx)).steps;
    const [switchStep, verifyStep] = ['traffic.switch', 'traffic.verify'].map((id) =>
      traffic.find((s) => s.id === id)!,
    );
    if (!trafficHome) steps.push({ step: switchStep!, missing: `traffic does not go to ${home} alone` });
    steps.push({ step: verifyStep!, missing: `the entry point is not verified to serve ${home}` });
  }
  return steps;
}

/** What the steps not done leave missing; an unverified entry point is not said again when the switch is missing. */
export function unfinished(run: FailoverRun, steps: FinishStep[]): string[] {
  const notDone = steps.filter((s) => run.book.record(s.step.id).state !== 'done');
  const switchMissing = notDone.some((s) => s.step.id === 'traffic.switch');
  return notDone.filter((s) => !(switchMissing && s.step.id === 'traffic.verify')).map((s) => s.missing);
}

/**
 * The indices of the primary site not writable yet: followers of the standby's cluster (its remote alias; any
 * follower when the settings, from an older worker, do not name it), and the runbook's indices left closed by a
 * promotion cut short (unfollowed, not opened again).
 */
async function stillFollowing(run: FailoverRun): Promise<string[]> {
  const { ctx } = run;
  const pair = ctx.settings.pair;
  const home = ctx.to;
  const alias = ctx.settings.elasticsearch!.remoteAliases?.[home];
  const [followers, listed] = await Promise.all([
    ctx.call(
      'read',
      'esFollowerStatus',
      { pair, site: home, indices: 'all' },
      `find the followers on ${home}`,
    ),
    ctx.call('read', 'esFollowerStatus', { pair, site: home }, `read the runbook's indices on ${home}`),
  ]);
  const ours = (i: FollowerIndexStatus) =>
    !alias || i.remoteCluster === undefined || i.remoteCluster === alias;
  const following = (i: FollowerIndexStatus) => i.state === 'active' || i.state === 'paused';
  const notWritable = [
    ...followers.indices.filter((i) => following(i) && ours(i)),
    ...listed.indices.filter(
      (i) => ours(i) && (following(i) || (i.state === 'not-follower' && i.open === false)),
    ),
  ];
  return [...new Set(notWritable.map((i) => i.index))];
}

/** The failover's promotion (pause, close, unfollow, open) of the named indices of the primary site. */
function promoteStep(run: FailoverRun, indices: string[]): PlanStep {
  const { ctx } = run;
  const home = ctx.to;
  return {
    id: 'es.finish.promote',
    phase: 'promote',
    system: 'elasticsearch',
    title: `promote the indices of ${home} that still follow ${ctx.from} (close, unfollow, open)`,
    target: indices.join(', '),
    run: async () => {
      const r = await ctx.call(
        'long',
        'esPromoteFollowers',
        { pair: ctx.settings.pair, site: home, indices },
        `promote followers on ${home}`,
      );
      return `${r.total} index(es) on ${home} are regular writable indices (${r.promoted} promoted now, ${r.alreadyPromoted} already) in ${r.wallMs} ms.`;
    },
  };
}

/** The Redis servers of the primary site (to be the master) and of the standby site. */
function redisRoles(run: FailoverRun): { master: string; standing: string } {
  const servers = run.ctx.settings.redis!.servers;
  const master = servers.find((s) => s.site === run.ctx.to)!.name;
  const standing = servers.find((s) => s.site !== run.ctx.to)!.name;
  return { master, standing };
}

/**
 * The switch back's Redis promotion, when the aborted switch back did not get to it: a zero-loss handover from the
 * standby site's server (already the master: nothing to do, and the step says so).
 */
function redisPromoteStep(run: FailoverRun): PlanStep {
  const { ctx } = run;
  const { master, standing } = redisRoles(run);
  return {
    id: 'redis.finish.promote',
    phase: 'promote',
    system: 'redis',
    title: `promote Redis ${master} (FAILOVER from ${standing})`,
    target: master,
    run: async () =>
      (
        await ctx.call(
          'catchUp',
          'redisPromote',
          { pair: ctx.settings.pair, server: master, from: standing, switchoverOnly: true },
          `promote ${master}`,
        )
      ).description,
  };
}
