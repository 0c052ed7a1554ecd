import { verifyApprovalSignature, type AllowedSigner } from '../../common/approval-signature';
import { textTooLong } from '../../common/text-limits';
import type { AnswerDecision, ApprovalDecision, HumanAnswer, OperatorDecision } from '../definitions';

/** Who may answer a run's questions, and how their answers are checked: the runbook's `approval` section. */
export interface AnswerRules {
  /** The approvers' names (principal patterns of the signers, then the names that answer unsigned). */
  approvers: string[];
  /** The keys that sign answers; absent in runs started before answers were signed (names only, as then). */
  signers?: AllowedSigner[];
  unsigned?: 'allow' | 'refuse';
  /** The approvers given by bare name, who answer unsigned where `unsigned` is `allow`. */
  unsignedApprovers?: string[];
  signatureMaxAgeMs?: number;
  /** The approver may not be the run's requester. */
  fourEyes?: boolean;
  /** Who asked for the run (four-eyes compares it with the answerer). */
  requestedBy: string;
  /** The run an answer's signature must name. */
  workflowId: string;
  runId: string;
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
 * takes this decision and has no answer yet, who gives it and why, each text within its limit, and the answerer's
 * authority (below). A refusal never lists the approvers or their keys.
 */
export function answerRefusal(
  decision: AnswerDecision,
  answer: unknown,
  open: QuestionState[],
  rules: AnswerRules | undefined,
  nowMs: number,
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
  return authorityRefusal(decision, { ...(given as HumanAnswer), by, questionId: question.id }, rules, nowMs);
}

/** Whether an answer's signature is required here: not for runs started before signed answers, nor where allowed. */
export function signedAnswer(answer: AnswerInput, rules: AnswerRules | undefined): boolean {
  return !!rules?.signers && typeof (answer as HumanAnswer).signature === 'string';
}

/**
 * Why the answerer has no authority to give this answer: four-eyes, then a signature by a key the runbook allows for
 * that name, over this run, question, decision, reason and time, not older than the runbook's window. Runs started
 * before answers were signed check the approver's name only, as they did; `unsigned: allow` lets the bare-name
 * approvers answer without a signature.
 */
function authorityRefusal(decision: AnswerDecision, answer: HumanAnswer, rules: AnswerRules, nowMs: number) {
  const { by } = answer;
  if (!rules.signers)
    return rules.approvers.includes(by) ? undefined : `${clip(by)} is not an approver of this pair`;
  if (rules.fourEyes && by === rules.requestedBy.trim())
    return `four-eyes: ${clip(by)} asked for this run and cannot also answer it`;
  if (answer.signature === undefined) {
    if (rules.unsigned === 'allow' && (rules.unsignedApprovers ?? []).includes(by)) return undefined;
    return 'signature: this pair takes signed answers only (drctl approve|reject|retry|abort|discard signs them)';
  }
  if (typeof answer.signature !== 'string' || typeof answer.signedAt !== 'string')
    return 'signature and signedAt: a signed answer carries both, as strings';
  const fields = {
    workflowId: rules.workflowId,
    runId: rules.runId,
    questionId: answer.questionId,
    decision,
    by,
    reason: answer.reason,
    signedAt: answer.signedAt,
  };
  const verdict = verifyApprovalSignature(answer.signature, fields, rules.signers, nowMs, {
    ...(rules.signatureMaxAgeMs !== undefined ? { maxAgeMs: rules.signatureMaxAgeMs } : {}),
  });
  return verdict.ok ? undefined : `signature: ${verdict.why}`;
}

const clip = (text: string) => (text.length > 64 ? `${text.slice(0, 64)}…` : text);
