import type { WorkflowHandle } from '@temporalio/client';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { signAnswer } from '../../client/answer';
import type { AnswerDecision } from '../../common/approval-signature';
import { statusQuery, type HumanAnswer, type PendingDecision } from '../../workflows/definitions';
import { TEST_APPROVER, writeTestApproverKey } from './approver';

type Answerable = Pick<WorkflowHandle, 'query' | 'executeUpdate' | 'signal' | 'describe' | 'workflowId'>;

/** The oldest open question of a run that takes this answer (approve/reject: an approval; else an operator's). */
export async function openQuestion(handle: Answerable, decision: string): Promise<PendingDecision> {
  const kind = decision === 'approve' || decision === 'reject' ? 'approval' : 'operator';
  const status = await handle.query(statusQuery);
  const question = (status.questions ?? []).find((q) => q.kind === kind);
  if (!question?.id) throw new Error(`no open ${kind} question to answer ${decision}: ${status.sentence}`);
  return question;
}

let approverKey: string | undefined;

/**
 * The answer `by` gives to the question: signed when `by` is the test approver (the runbooks of the scratch pairs
 * list its key), as drctl signs it, at the time the question was asked (a time-skipping test server's clock runs
 * ahead of this one); unsigned otherwise (runs of pairs that check names only).
 */
async function answerOf(
  handle: Answerable,
  decision: AnswerDecision,
  by: string,
  reason: string,
): Promise<HumanAnswer> {
  const question = await openQuestion(handle, decision);
  const answer: HumanAnswer = { questionId: question.id!, by, reason };
  if (by !== TEST_APPROVER.name) return answer;
  approverKey ??= writeTestApproverKey();
  const fields = {
    workflowId: handle.workflowId,
    runId: (await handle.describe()).runId,
    questionId: question.id!,
    decision,
    by,
    reason,
    signedAt: question.since,
  };
  return { ...answer, signedAt: fields.signedAt, signature: await signAnswer(fields, { key: approverKey }) };
}

/** Answers the oldest open question that takes this answer, by update (the caller is told whether it was accepted). */
export async function answer(
  handle: Answerable,
  update: UpdateDefinition<string, [HumanAnswer]>,
  by: string,
  reason: string,
): Promise<string> {
  const given = await answerOf(handle, update.name as AnswerDecision, by, reason);
  return handle.executeUpdate(update, { args: [given] });
}

/** The same by signal, for tools that can only signal. */
export async function answerBySignal(
  handle: Answerable,
  signal: SignalDefinition<[HumanAnswer]>,
  by: string,
  reason: string,
): Promise<void> {
  const decision = signal.name.replace(/-signal$/, '') as AnswerDecision;
  await handle.signal(signal, await answerOf(handle, decision, by, reason));
}
