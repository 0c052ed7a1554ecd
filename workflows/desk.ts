import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import {
  answerer,
  answerRefusal,
  signedAnswer,
  type AnswerInput,
  type AnswerRules,
  type QuestionState,
} from './checks/answer';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  discardSignal,
  discardUpdate,
  rejectSignal,
  rejectUpdate,
  retrySignal,
  retryUpdate,
  type AnswerDecision,
  type PendingDecision,
} from './definitions';

export interface ApprovalPolicy {
  policy: 'required' | 'auto' | 'auto-after';
  approvers: string[];
  timeoutMs: number;
  onTimeout: 'reject' | 'approve';
  delayMs?: number;
}

/** How an approval ended: who decided, how, when and why. */
export interface ApprovalRecord {
  approved: boolean;
  how: 'approver' | 'auto' | 'auto-after' | 'timeout';
  by: string;
  reason: string;
  at: string;
  /** The question it answered (absent for decisions of the policy without a question, and in older runs). */
  questionId?: string;
  /** A human's answer: whether it carried a valid signature (unsigned ones are allowed only by the runbook). */
  signed?: boolean;
}

export interface OperatorRecord {
  action: 'retry' | 'abort' | 'discard';
  by: string;
  reason: string;
  at: string;
  /** What the operator answered. */
  question: string;
  questionId?: string;
  signed?: boolean;
}

interface Answer {
  decision: AnswerDecision;
  by: string;
  reason: string;
  signed: boolean;
}

interface OpenQuestion extends QuestionState {
  view: PendingDecision;
  /** The question as asked, before any note. */
  asked: string;
  answer?: Answer;
}

/**
 * Where the run waits for humans: approvals (approve/reject) and operator decisions (retry/abort/discard). Every
 * question gets its own ID (`q1`, `q2`, …), shown in the `status` query and the run's details; an answer names the
 * question it answers, and each question takes one answer. Answers are Updates with a validator, so the caller is
 * told at once whether it was accepted, with an equivalent signal for tools that can only signal (a refused signal
 * is logged with its reason). Every accepted answer is recorded.
 */
export class Desk {
  readonly approvals: ApprovalRecord[] = [];
  readonly operatorDecisions: OperatorRecord[] = [];
  /** Who may answer; set once the run has read its runbook. */
  rules: AnswerRules | undefined;
  /** Told of every question as it opens (the run narrates it). */
  onAsk: (question: PendingDecision) => void = () => undefined;
  private readonly open: OpenQuestion[] = [];
  private asked = 0;
  /** Said by every approval question, open or to come (the primary recovered while the run waits). */
  private approvalNote: string | undefined;

  constructor() {
    this.register(approveUpdate, approveSignal, 'approve');
    this.register(rejectUpdate, rejectSignal, 'reject');
    this.register(retryUpdate, retrySignal, 'retry');
    this.register(abortUpdate, abortSignal, 'abort');
    this.register(discardUpdate, discardSignal, 'discard');
  }

  /** The questions open now, oldest first. */
  get questions(): PendingDecision[] {
    return this.open.map((q) => q.view);
  }

  /** The oldest open question (the `pending` of the status query, for clients that know one question only). */
  get pending(): PendingDecision | undefined {
    return this.open[0]?.view;
  }

  private register<A extends AnswerInput>(
    update: UpdateDefinition<string, [A]>,
    signal: SignalDefinition<[A]>,
    decision: AnswerDecision,
  ): void {
    const accept = (answer: A) => {
      const question = this.questionFor(decision, answer);
      if (!question) return `no open question takes ${decision}`;
      const by = answerer(answer);
      question.answer = { decision, by, reason: answer.reason, signed: signedAnswer(answer, this.rules) };
      question.answeredBy = by;
      question.answeredWith = decision;
      return `${decision} of question ${question.id} accepted from ${by}`;
    };
    setHandler(update, accept, {
      validator: (answer: A) => {
        const refused = answerRefusal(decision, answer, this.open, this.rules, Date.now());
        if (refused) throw new Error(refused);
      },
    });
    setHandler(signal, (answer: A) => {
      const refused = answerRefusal(decision, answer, this.open, this.rules, Date.now());
      if (refused) log.warn(`${decision} signal refused: ${refused}`);
      else accept(answer);
    });
  }

  /**
   * The question an accepted answer is for: the one it names, or, for an answer of a run started before answers
   * named their question (replayed from its history), the oldest open question that takes its decision.
   */
  private questionFor(decision: AnswerDecision, answer: AnswerInput): OpenQuestion | undefined {
    const named = (answer as { questionId?: unknown }).questionId;
    if (typeof named === 'string') return this.open.find((q) => q.id === named);
    return this.open.find((q) => q.accepts.includes(decision) && !q.answer);
  }

  /**
   * Adds `note` to the text of every approval question open now and of those asked later; returns how many were open.
   */
  annotateApprovals(note: string): number {
    this.approvalNote = note;
    const open = this.open.filter((q) => q.view.kind === 'approval');
    for (const q of open) q.view = { ...q.view, question: withNote(q.asked, note) };
    return open.length;
  }

  /** Waits for the approval the policy asks for; returns how it ended. */
  async approval(question: string, policy: ApprovalPolicy): Promise<ApprovalRecord> {
    const now = () => new Date().toISOString();
    if (policy.policy === 'auto') {
      return this.recordApproval({
        approved: true,
        how: 'auto',
        by: 'policy',
        reason: 'the runbook approves automatically',
        at: now(),
      });
    }
    const waitMs = policy.policy === 'auto-after' ? (policy.delayMs ?? 0) : policy.timeoutMs;
    const shown = policy.policy === 'auto-after' ? ['reject (or approve to go now)'] : ['approve', 'reject'];
    const { id, answer } = await this.ask('approval', question, ['approve', 'reject'], shown, waitMs);
    if (answer) {
      return this.recordApproval({
        approved: answer.decision === 'approve',
        how: 'approver',
        by: answer.by,
        reason: answer.reason,
        at: now(),
        questionId: id,
        signed: answer.signed,
      });
    }
    if (policy.policy === 'auto-after')
      return this.recordApproval({
        approved: true,
        how: 'auto-after',
        by: 'policy',
        reason: `nobody rejected within ${waitMs / 1000}s`,
        at: now(),
        questionId: id,
      });
    return this.recordApproval({
      approved: policy.onTimeout === 'approve',
      how: 'timeout',
      by: 'policy',
      reason: `no answer within ${waitMs / 1000}s; the runbook's onTimeout is "${policy.onTimeout}"`,
      at: now(),
      questionId: id,
    });
  }

  /** Waits, without limit, for an operator to answer retry or abort. */
  operator(question: string): Promise<OperatorRecord> {
    return this.decide(question, ['retry', 'abort']);
  }

  /** Waits, without limit, for an operator to give one of `answers` (retry, abort, discard). */
  async decide(question: string, answers: OperatorRecord['action'][]): Promise<OperatorRecord> {
    const { id, answer } = await this.ask('operator', question, answers, answers);
    if (!answer)
      throw ApplicationFailure.nonRetryable(
        `operator question ${id} ended without ${answers.join(' or ')}`,
        'InternalError',
      );
    const record: OperatorRecord = {
      action: answer.decision as OperatorRecord['action'],
      by: answer.by,
      reason: answer.reason,
      at: new Date().toISOString(),
      question,
      questionId: id,
      signed: answer.signed,
    };
    this.operatorDecisions.push(record);
    return record;
  }

  private async ask(
    kind: PendingDecision['kind'],
    question: string,
    accepts: AnswerDecision[],
    shown: string[],
    timeoutMs?: number,
  ): Promise<{ id: string; answer: Answer | undefined }> {
    const since = new Date();
    const id = `q${++this.asked}`;
    const open: OpenQuestion = {
      id,
      asked: question,
      accepts,
      view: {
        id,
        kind,
        question: kind === 'approval' ? withNote(question, this.approvalNote) : question,
        answers: shown,
        since: since.toISOString(),
        ...(timeoutMs !== undefined ? { deadline: new Date(since.getTime() + timeoutMs).toISOString() } : {}),
      },
    };
    this.open.push(open);
    this.onAsk(open.view);
    try {
      const answered = () => open.answer !== undefined;
      if (timeoutMs === undefined) await condition(answered);
      else await condition(answered, timeoutMs);
      return { id, answer: open.answer };
    } finally {
      this.open.splice(this.open.indexOf(open), 1);
    }
  }

  private recordApproval(record: ApprovalRecord): ApprovalRecord {
    this.approvals.push(record);
    return record;
  }
}

const withNote = (question: string, note: string | undefined) => (note ? `${question} — ${note}` : question);
