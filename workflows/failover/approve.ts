import type { ApprovalRecord } from '../desk';
import type { FailoverRun } from './run';

/** Approve: the runbook's policy decides whether the run waits for a human, and how long. */
export async function approve(run: FailoverRun, question: string): Promise<ApprovalRecord> {
  run.enter('approve');
  const policy = run.ctx.settings.approval;
  const wait =
    policy.policy === 'auto'
      ? 'the runbook approves automatically'
      : policy.policy === 'auto-after'
        ? `proceeding in ${(policy.delayMs ?? 0) / 1000}s unless rejected`
        : `waiting up to ${policy.timeoutMs / 1000}s for ${policy.approvers.join(' or ')} (then: ${policy.onTimeout})`;
  run.say(`approval: ${question} (${wait}).`);
  const record = await run.desk.approval(question, policy);
  run.say(
    `${record.approved ? 'approved' : 'rejected'} by ${record.by}${record.how === 'approver' ? '' : ` (${record.how})`}: ${record.reason}.`,
  );
  return record;
}
