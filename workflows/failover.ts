import type { FailoverInput } from './definitions';
import { approve } from './failover/approve';
import { assess } from './failover/assess';
import { fenceAndPrepare, promoteAndSwitch, undoneReport } from './failover/execute';
import { makePlan } from './failover/plan';
import { report, toldIfItEndsEarly, type FailoverReport } from './failover/report';
import { openRun, validateMoveInput, type FailoverRun } from './failover/run';
import type { PairSettings } from '../activities/pair-settings';
import { errorText } from './steps';

export type { FailoverReport } from './failover/report';

/**
 * Failover of a DR pair from its primary site to its standby, as the runbook reads:
 * assess → plan (a dry run stops here) → approve → fence → prepare → promote (point of no return) → switch →
 * verify → report. Before the promotion, a failure, a rejection or a cancellation undoes what was done; after
 * it, the run only rolls forward and asks an operator when a step keeps failing.
 */
export async function failover(input: FailoverInput): Promise<FailoverReport> {
  validateMoveInput(input, 'failover', ['planned', 'unplanned', 'dry-run']);
  const { run, settings } = await openRun(input, 'failover', input.mode);
  return toldIfItEndsEarly(run, () => failoverOf(input, run, settings));
}

async function failoverOf(
  input: FailoverInput,
  run: FailoverRun,
  settings: PairSettings,
): Promise<FailoverReport> {
  run.setContext(settings, settings.sites.primary, settings.sites.standby);

  const assessment = await assess(run);
  if (!assessment.go) return report(run, assessment.outcome, assessment.sentence);
  try {
    await makePlan(run);
  } catch (err) {
    return report(run, 'refused', `refusing to fail over: no plan can be made: ${errorText(err)}`);
  }
  if (input.mode === 'dry-run') return report(run, 'dry-run', `dry run: ${run.plan!.sentence}`);

  const approval = await approve(
    run,
    `${input.mode} failover of ${input.pair} from ${run.ctx.from} to ${run.ctx.to}`,
  );
  if (!approval.approved)
    return report(
      run,
      'rejected',
      `nothing was changed: the failover was not approved (${approval.reason}).`,
    );
  run.approvedAt = new Date();

  const before = await fenceAndPrepare(run);
  if (!before.done) return undoneReport(run, before, 'failover', '');
  return promoteAndSwitch(run, () =>
    report(
      run,
      'completed',
      `failover of ${input.pair} completed: ${run.ctx.to} is the primary site and serves the traffic.`,
    ),
  );
}
