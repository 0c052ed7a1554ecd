import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
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
  type ApprovalDecision,
  type OperatorDecision,
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
}

export interface OperatorRecord {
  action: 'retry' | 'abort' | 'discard';
  by: string;
  reason: string;
  at: string;
  /** What the operator answered. */
  question: string;
}

type Answer =
  | { kind: 'approve' | 'reject'; decision: ApprovalDecision }
  | { kind: 'retry' | 'abort' | 'discard'; decision: OperatorDecision };

/**
 * Where the run waits for humans: approvals (approve/reject) and operator decisions (retry/abort). Each answer is
 * an Update with a validator, so the caller is told at once whether it was accepted, and an equivalent signal for
 * tools that can only signal (a refused signal is logged with its reason). Every accepted answer is recorded.
 */
export class Desk {
  pending: PendingDecision | undefined;
  readonly approvals: ApprovalRecord[] = [];
  readonly operatorDecisions: OperatorRecord[] = [];
  private answer: Answer | undefined;
  private allowed: string[] = [];
  /** The answers the pending question takes. */
  private accepting: Answer['kind'][] = [];

  constructor() {
    this.register(approveUpdate, approveSignal, 'approve');
    this.register(rejectUpdate, rejectSignal, 'reject');
    this.register(retryUpdate, retrySignal, 'retry');
    this.register(abortUpdate, abortSignal, 'abort');
    this.register(discardUpdate, discardSignal, 'discard');
  }

  private register<D extends ApprovalDecision | OperatorDecision>(
    update: UpdateDefinition<string, [D]>,
    signal: SignalDefinition<[D]>,
    kind: Answer['kind'],
  ): void {
    const accept = (decision: D) => {
      this.answer = { kind, decision } as Answer;
      return `${kind} accepted from ${who(decision)}`;
    };
    setHandler(update, accept, {
      validator: (decision: D) => {
        const refused = this.refusal(kind, decision);
        if (refused) throw new Error(refused);
      },
    });
    setHandler(signal, (decision: D) => {
      const refused = this.refusal(kind, decision);
      if (refused) log.warn(`${kind} signal refused: ${refused}`);
      else accept(decision);
    });
  }

  /** Why an answer is refused, or undefined when it is accepted. */
  private refusal(kind: Answer['kind'], decision: ApprovalDecision | OperatorDecision): string | undefined {
    const expected = kind === 'approve' || kind === 'reject' ? 'approval' : 'operator';
    if (!this.pending || this.pending.kind !== expected || !this.accepting.includes(kind))
      return `nothing waits for ${kind} now${this.pending ? ` (the run waits for: ${this.pending.answers.join(' or ')})` : ''}`;
    if (typeof decision !== 'object' || decision === null)
      return 'the answer must be an object with a name and a reason';
    const name = who(decision);
    if (!name)
      return `the answer must name who gives it (field "${expected === 'approval' ? 'approver' : 'operator'}")`;
    if (typeof decision.reason !== 'string' || decision.reason.trim() === '') return 'a reason is required';
    if (this.allowed.length > 0 && !this.allowed.includes(name))
      return `${name} is not an approver of this pair (approvers: ${this.allowed.join(', ')})`;
    return undefined;
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
    const answers =
      policy.policy === 'auto-after' ? ['reject (or approve to go now)'] : ['approve', 'reject'];
    const answer = await this.ask('approval', question, answers, policy.approvers, waitMs);
    if (answer) {
      const approved = answer.kind === 'approve';
      return this.recordApproval({
        approved,
        how: 'approver',
        by: who(answer.decision),
        reason: answer.decision.reason,
        at: now(),
      });
    }
    if (policy.policy === 'auto-after')
      return this.recordApproval({
        approved: true,
        how: 'auto-after',
        by: 'policy',
        reason: `nobody rejected within ${waitMs / 1000}s`,
        at: now(),
      });
    return this.recordApproval({
      approved: policy.onTimeout === 'approve',
      how: 'timeout',
      by: 'policy',
      reason: `no answer within ${waitMs / 1000}s; the runbook's onTimeout is "${policy.onTimeout}"`,
      at: now(),
    });
  }

  /** Waits, without limit, for an operator to answer retry or abort. */
  operator(question: string, approvers: string[]): Promise<OperatorRecord> {
    return this.decide(question, ['retry', 'abort'], approvers);
  }

  /** Waits, without limit, for an operator to give one of `answers` (retry, abort, discard). */
  async decide(
    question: string,
    answers: OperatorRecord['action'][],
    approvers: string[],
  ): Promise<OperatorRecord> {
    const answer = await this.ask('operator', question, answers, approvers);
    if (!answer || !answers.includes(answer.kind as OperatorRecord['action']))
      throw ApplicationFailure.nonRetryable(
        `an operator question ended without ${answers.join(' or ')}`,
        'InternalError',
      );
    const record: OperatorRecord = {
      action: answer.kind as OperatorRecord['action'],
      by: who(answer.decision),
      reason: answer.decision.reason,
      at: new Date().toISOString(),
      question,
    };
    this.operatorDecisions.push(record);
    return record;
  }

  private async ask(
    kind: PendingDecision['kind'],
    question: string,
    answers: string[],
    allowed: string[],
    timeoutMs?: number,
  ): Promise<Answer | undefined> {
    const since = new Date();
    this.answer = undefined;
    this.allowed = allowed;
    this.accepting = kind === 'approval' ? ['approve', 'reject'] : (answers as Answer['kind'][]);
    this.pending = {
      kind,
      question,
      answers,
      since: since.toISOString(),
      ...(timeoutMs !== undefined ? { deadline: new Date(since.getTime() + timeoutMs).toISOString() } : {}),
    };
    try {
      const answered =
        timeoutMs === undefined
          ? (await condition(() => this.answer !== undefined), true)
          : await condition(() => this.answer !== undefined, timeoutMs);
      return answered ? this.answer : undefined;
    } finally {
      this.pending = undefined;
    }
  }

  private recordApproval(record: ApprovalRecord): ApprovalRecord {
    this.approvals.push(record);
    return record;
  }
}

function who(decision: ApprovalDecision | OperatorDecision): string {
  const name =
    'approver' in decision ? decision.approver : 'operator' in decision ? decision.operator : undefined;
  return typeof name === 'string' ? name.trim() : '';
}
