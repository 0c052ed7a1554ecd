import { patched, workflowInfo } from '@temporalio/workflow';
import type { ApprovalRecord } from '../desk';
import type { FailoverRun } from './run';

/**
 * Approve: the runbook's policy decides whether the run waits for a human, and how long. A question that only a human
 * may answer (`humanOnly`: going on without a fence, which risks a split brain) always waits for one: `auto`,
 * `auto-after` and `onTimeout: approve` never answer it, and no answer in time is a rejection.
 */
export async function approve(
  run: FailoverRun,
  question: string,
  options: { humanOnly?: boolean } = {},
): Promise<ApprovalRecord> {
  run.enter('approve');
  const runbook = drillApproval(run) ?? run.ctx.settings.approval;
  const policy =
    options.humanOnly && patched('unfenced-needs-human')
      ? { ...runbook, policy: 'required' as const, onTimeout: 'reject' as const }
      : runbook;
  const wait =
    policy.policy === 'auto'
      ? 'the runbook approves automatically'
      : policy.policy === 'auto-after'
        ? `proceeding in ${(policy.delayMs ?? 0) / 1000}s unless rejected`
        : `waiting up to ${policy.timeoutMs / 1000}s for ${policy.approvers.join(' or ')} (then: ${policy.onTimeout})`;
  const drill =
    runbook === run.ctx.settings.approval ? '' : ': a game-day drill the runbook lets approve itself';
  run.say(
    `approval: ${question} (${wait}${drill}${policy === runbook ? '' : '; only a human can approve this'}).`,
  );
  const record = await run.desk.approval(question, policy);
  run.say(
    `${record.approved ? 'approved' : 'rejected'} by ${record.by}${record.how === 'approver' ? '' : ` (${record.how})`}: ${record.reason}.`,
  );
  return record;
}

/**
 * A move run by a game-day drill (its parent, named by the input) is approved automatically when the runbook says
 * `drills.gameDay.approval: auto`; any other move keeps the runbook's approval policy.
 */
function drillApproval(run: FailoverRun): FailoverRun['ctx']['settings']['approval'] | undefined {
  const { drill } = run.input;
  if (drill === undefined || !patched(DRILL_APPROVAL_PATCH)) return undefined;
  if (workflowInfo().parent?.workflowId !== drill) return undefined;
  if (run.ctx.settings.drills?.gameDayApproval !== 'auto') return undefined;
  return { ...run.ctx.settings.approval, policy: 'auto' };
}

/** Moves run by a game-day drill: their approval may follow the runbook's drills section (no older run has one). */
export const DRILL_APPROVAL_PATCH = 'drill-approval';
