import { ANSWER_DECISIONS } from '../common/approval-signature';
import { FENCE_WINDOW_PHASES } from '../common/fence-window';
import type { FailoverReport } from '../workflows/failover/report';
import type { PendingDecision, RunPlan, RunStatus, StepRecord } from '../workflows/definitions';

/** How drctl shows runs to humans: plans, progress, reports, questions, and why a run failed. */

/**
 * The root cause of a failed run: the innermost typed failure of its cause chain (an ApplicationFailure's type, or
 * the failure's own kind: TerminatedFailure, TimeoutFailure, CancelledFailure) and its sentence, not the whole chain.
 */
export function rootCause(err: unknown): { type: string; message: string } {
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 20; e = e.cause) chain.push(e);
  const typeOf = (e: Error) => (e as Error & { type?: unknown }).type;
  const typed = chain.filter((e) => typeof typeOf(e) === 'string').at(-1);
  const innermost = typed ?? chain.at(-1);
  if (!innermost) return { type: 'Error', message: String(err) };
  return { type: typed ? String(typeOf(typed)) : innermost.name, message: innermost.message };
}

/** Outcomes of a move that did what was asked: drctl exits 0 for these, 1 for the others. */
export const SUCCESSFUL_OUTCOMES: readonly string[] = ['completed', 'dry-run', 'reprotected'];

/** Global options an answer command must repeat to reach the same Temporal (--address, --namespace). */
export interface AnswerTarget {
  address?: string;
  namespace?: string;
}

/** The exact drctl commands that answer a question: one per decision its answers name. */
export function answerCommands(pair: string, question: PendingDecision, target: AnswerTarget = {}): string[] {
  const decisions = ANSWER_DECISIONS.filter(
    (d) =>
      (question.kind === 'approval' && (d === 'approve' || d === 'reject')) ||
      question.answers.some((a) => a.split(/[^a-z-]+/).includes(d)),
  );
  const globals = [
    ...(target.address ? [`--address ${target.address}`] : []),
    ...(target.namespace ? [`--namespace ${target.namespace}`] : []),
  ];
  return decisions.map((d) =>
    [
      'drctl',
      ...globals,
      d,
      pair,
      ...(question.id ? [`--question ${question.id}`] : []),
      '--reason "…"',
    ].join(' '),
  );
}

/** A question and the commands that answer it. */
export function formatQuestion(pair: string, question: PendingDecision, target: AnswerTarget = {}): string[] {
  return [
    `question ${question.id ?? '(no id)'} (${question.kind}${question.deadline ? `, until ${question.deadline}` : ''}): ${question.question}`,
    ...answerCommands(pair, question, target).map((c) => `  answer: ${c}`),
  ];
}

const seconds = (ms: number | undefined) => (ms === undefined ? '' : ` ${(ms / 1000).toFixed(1)} s`);

export function formatStep(step: StepRecord): string {
  const said = step.state === 'failed' ? step.lastError : step.sentence;
  return `[${step.state}] ${step.phase} ${step.id} ${step.target}${seconds(step.durationMs)}${said ? `: ${said}` : ''}`;
}

export function formatPlan(plan: RunPlan): string[] {
  return [
    `Plan: ${plan.sentence}`,
    ...plan.steps.map(
      (s, i) =>
        `  ${i + 1}. [${s.phase}] ${s.system}: ${s.title} (${s.target})${s.compensation ? `; undone by: ${s.compensation}` : ''}`,
    ),
    'Data-loss estimate:',
    ...(plan.dataLoss.length > 0
      ? plan.dataLoss.map((d) => `  ${d.system}: ${d.sentence}`)
      : ['  none estimated']),
  ];
}

/** A run's state now (its status query): phase, last decision, steps, open questions. */
export function formatStatus(pair: string, status: RunStatus, target: AnswerTarget = {}): string[] {
  const questions = status.questions ?? (status.pending ? [status.pending] : []);
  return [
    `phase ${status.phase}${status.pastPointOfNoReturn ? ' (past the point of no return)' : ''}: ${status.sentence}`,
    ...status.steps.map((s) => `  ${formatStep(s)}`),
    ...questions.flatMap((q) => formatQuestion(pair, q, target)),
  ];
}

/**
 * What changed between two status readings, as lines: each step whose state changed, under the phase it belongs to
 * (announced once, even when the run went through it between two readings), the phase the run is in now, and each
 * question newly open with the commands that answer it.
 */
export function progressLines(
  pair: string,
  before: RunStatus | undefined,
  now: RunStatus,
  target: AnswerTarget = {},
): string[] {
  const lines: string[] = [];
  const started = (status: RunStatus | undefined) =>
    (status?.steps ?? []).filter((s) => s.state !== 'pending');
  const announced = new Set<string>([
    ...(before ? [before.phase] : []),
    ...started(before).map((s) => s.phase),
  ]);
  const announce = (phase: string) => {
    if (announced.has(phase)) return;
    announced.add(phase);
    lines.push(phase === now.phase ? `phase ${phase}: ${now.sentence}` : `phase ${phase}`);
  };
  if ((before?.steps ?? []).length === 0 && now.steps.length > 0) lines.push(planLine(now.steps));
  const stepBefore = new Map((before?.steps ?? []).map((s) => [s.id, s.state]));
  for (const step of started(now))
    if (stepBefore.get(step.id) !== step.state) {
      announce(step.phase);
      lines.push(`  ${formatStep(step)}`);
    }
  announce(now.phase);
  const asked = new Set((before?.questions ?? []).map((q) => q.id));
  for (const q of now.questions ?? (now.pending ? [now.pending] : []))
    if (!asked.has(q.id)) lines.push(...formatQuestion(pair, q, target));
  return lines;
}

/** The plan as the watch first sees it: what runs before the fence window, inside it (writes refused), after it. */
function planLine(steps: RunStatus['steps']): string {
  const ids = (which: (phase: string) => boolean) =>
    steps
      .filter((s) => which(s.phase))
      .map((s) => s.id)
      .join(', ');
  const before = ids((p) => p === 'warm-up');
  const inside = ids((p) => FENCE_WINDOW_PHASES.includes(p));
  const after = ids((p) => p === 'verify');
  return [
    `plan: ${steps.length} steps`,
    ...(before ? [`before the fence (writes still taken): ${before}`] : []),
    ...(inside ? [`inside the fence window (writes refused): ${inside}`] : []),
    ...(after ? [`after the switch: ${after}`] : []),
  ].join('; ');
}

/** The fence window a report measured: its length and each step in it. */
function fenceWindowLine(window: NonNullable<FailoverReport['fenceWindow']>): string {
  const steps = window.steps.map(
    (s) => `${s.id}${seconds(s.durationMs ?? 0)}${s.attempts > 1 ? ` (${s.attempts} tries)` : ''}`,
  );
  return `  fence window (writes refused)${seconds(window.ms)}: ${steps.join(', ')}`;
}

/** A move's report: outcome, sentence, RTO, data loss, steps, answers. */
export function formatMoveReport(report: FailoverReport): string {
  const kind = report.mode === 'full' || report.mode === 'reprotect-only' ? 'failback' : 'failover';
  const rto = report.rto.fromApprovalMs
    ? `RTO${seconds(report.rto.fromStartMs)} from the start,${seconds(report.rto.fromApprovalMs)} from the approval`
    : `RTO${seconds(report.rto.fromStartMs)}`;
  return [
    `${report.mode} ${kind} of ${report.pair}: ${report.outcome.toUpperCase()}`,
    `  ${report.sentence}`,
    ...(report.from ? [`  from ${report.from} to ${report.to}; ${rto}`] : [`  ${rto}`]),
    ...(report.fenceWindow ? [fenceWindowLine(report.fenceWindow)] : []),
    ...report.dataLoss.map((d) => `  data loss (estimate) ${d.system}: ${d.sentence}`),
    ...(report.measuredLoss ?? []).map((d) => `  data loss (measured) ${d.system}: ${d.sentence}`),
    ...(report.steps.length > 0 ? ['  steps:', ...report.steps.map((s) => `    ${formatStep(s)}`)] : []),
    ...report.approvals.map(
      (a) =>
        `  ${a.approved ? 'approved' : 'not approved'} (${a.how}) by ${a.by}${a.signed ? ' (signed)' : ''} at ${a.at}: ${a.reason}`,
    ),
    ...report.operatorDecisions.map(
      (d) => `  ${d.action} by ${d.by}${d.signed ? ' (signed)' : ''} at ${d.at}: ${d.reason}`,
    ),
    `  asked by ${report.requestedBy} (${report.trigger}): ${report.reason}`,
    `  workflow ${report.workflowId}, ${report.startedAt} → ${report.finishedAt}`,
  ].join('\n');
}
