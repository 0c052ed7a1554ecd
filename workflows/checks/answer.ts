import { textTooLong } from '../../common/text-limits';
import type { AnswerDecision, ApprovalDecision, HumanAnswer, OperatorDecision } from '../definitions';

/** Who may answer a run's questions, and how their answers are checked: the runbook's `approval` section. */
export interface AnswerRules {
  /** The approvers' names. */
  approvers: string[];
  /** Who asked for the run (four-eyes compares it with the answerer). */
  requestedBy: string;
}

/** An answer as it arrives: today's shape, or the shape of runs started before answers named their question. */
export type AnswerInput = HumanAnswer | ApprovalDecision | OperatorDecision;

/** The question an answer is checked against. */
export interface QuestionState {
  id: string;
  accepts: AnswerDecision[];
  answeredBy?: string;
  answeredWith?: AnswerDecision;
}

/** Who gives an answer: `by`, or the `approver`/`operator` field of the older shapes. */
export function answerer(answer: AnswerInput): string {
  const name =
    'by' in answer
      ? answer.by
      : 'approver' in answer
        ? answer.approver
        : 'operator' in answer
          ? answer.operator
          : '';
  return typeof name === 'string' ? name.trim() : '';
}

/**
 * Why an answer is refused, or undefined when it is accepted: it must be an object naming an open question that
 * takes this decision and has no answer yet, who gives it (an approver of the pair) and why, each text within its
 * limit. A refusal never lists the approvers.
 */
export function answerRefusal(
  decision: AnswerDecision,
  answer: unknown,
  open: QuestionState[],
  rules: AnswerRules | undefined,
): string | undefined {
  if (typeof answer !== 'object' || answer === null)
    return 'the answer must be an object {questionId, by, reason} (and, where signatures are required, signedAt and signature)';
  const given = answer as Partial<HumanAnswer> & Partial<ApprovalDecision> & Partial<OperatorDecision>;
  const questions = open.map((q) => `${q.id} (${q.accepts.join(' or ')})`).join(', ');
  if (open.length === 0) return `no question is open now: nothing waits for ${decision}`;
  if (typeof given.questionId !== 'string' || given.questionId === '')
    return `questionId: name the question you answer (open now: ${questions})`;
  const question = open.find((q) => q.id === given.questionId);
  if (!question)
    return `questionId: ${clip(given.questionId)} is not an open question (open now: ${questions})`;
  if (question.answeredWith)
    return `question ${question.id} is already answered (${question.answeredWith} by ${question.answeredBy})`;
  if (!question.accepts.includes(decision))
    return `question ${question.id} takes ${question.accepts.join(' or ')}, not ${decision}`;
  const by = answerer(given as AnswerInput);
  if (!by) return 'by: say who answers';
  if (typeof given.reason !== 'string' || given.reason.trim() === '') return 'reason: a reason is required';
  const tooLong = textTooLong('by', by) ?? textTooLong('reason', given.reason);
  if (tooLong) return tooLong;
  if (!rules) return 'the run has not read its runbook yet';
  if (!rules.approvers.includes(by)) return `${clip(by)} is not an approver of this pair`;
  return undefined;
}

const clip = (text: string) => (text.length > 64 ? `${text.slice(0, 64)}…` : text);
