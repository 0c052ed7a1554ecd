import { patched } from '@temporalio/workflow';
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
  const runbook = run.ctx.settings.approval;
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
  run.say(`approval: ${question} (${wait}${policy === runbook ? '' : '; only a human can approve this'}).`);
  const record = await run.desk.approval(question, policy);
  run.say(
    `${record.approved ? 'approved' : 'rejected'} by ${record.by}${record.how === 'approver' ? '' : ` (${record.how})`}: ${record.reason}.`,
  );
  return record;
}
