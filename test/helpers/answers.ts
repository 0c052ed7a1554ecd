import type { WorkflowHandle } from '@temporalio/client';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { statusQuery, type HumanAnswer } from '../../workflows/definitions';

type Answerable = Pick<WorkflowHandle, 'query' | 'executeUpdate' | 'signal'>;

/** The oldest open question of a run that takes this answer (approve/reject: an approval; else an operator's). */
export async function openQuestionId(handle: Answerable, decision: string): Promise<string> {
  const kind = decision === 'approve' || decision === 'reject' ? 'approval' : 'operator';
  const status = await handle.query(statusQuery);
  const question = (status.questions ?? []).find((q) => q.kind === kind);
  if (!question?.id) throw new Error(`no open ${kind} question to answer ${decision}: ${status.sentence}`);
  return question.id;
}

/** Answers the oldest open question that takes this answer, by update (the caller is told whether it was accepted). */
export async function answer(
  handle: Answerable,
  update: UpdateDefinition<string, [HumanAnswer]>,
  by: string,
  reason: string,
): Promise<string> {
  const questionId = await openQuestionId(handle, update.name);
  return handle.executeUpdate(update, { args: [{ questionId, by, reason }] });
}

/** The same by signal, for tools that can only signal. */
export async function answerBySignal(
  handle: Answerable,
  signal: SignalDefinition<[HumanAnswer]>,
  by: string,
  reason: string,
): Promise<void> {
  const questionId = await openQuestionId(handle, signal.name.replace(/-signal$/, ''));
  await handle.signal(signal, { questionId, by, reason });
}
