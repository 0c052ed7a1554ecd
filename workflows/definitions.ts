import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** Custom search attributes (Keyword) that make runs findable in the Temporal UI. */
export const DrPair = defineSearchAttributeKey('DrPair', SearchAttributeType.KEYWORD);
export const DrPhase = defineSearchAttributeKey('DrPhase', SearchAttributeType.KEYWORD);
export const DrTrigger = defineSearchAttributeKey('DrTrigger', SearchAttributeType.KEYWORD);
export const DrMode = defineSearchAttributeKey('DrMode', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTE_NAMES = [DrPair.name, DrPhase.name, DrTrigger.name, DrMode.name];

export const TASK_QUEUE = 'dr-orchestrator';

export type Trigger = 'cli' | 'ui' | 'alertmanager' | 'schedule' | 'test';

/**
 * One workflow ID per pair for every run that moves it (failover and failback alike): Temporal keeps at most one
 * open run per ID, so two moves of one pair can never run at once, and a second start of the same kind joins the
 * running one (conflict policy USE_EXISTING). Readiness checks do not move anything and use IDs of their own.
 */
export const pairMoveWorkflowId = (pair: string) => `dr-move-${pair}`;

/**
 * The one watcher per pair that fences the old site of an unplanned failover as soon as it answers again (see
 * workflows/fence-old-site.ts): a second start joins the one running.
 */
export const fenceWatchWorkflowId = (pair: string) => `dr-fence-${pair}`;

export type FailoverMode = 'planned' | 'unplanned' | 'dry-run';

/** What starts a failover: from the CLI, an alert, the Temporal UI's start form (JSON), or a test. */
export interface FailoverInput {
  pair: string;
  mode: FailoverMode;
  trigger: Trigger;
  /** Why: an alert's summary, an operator's words. */
  reason: string;
  /** Who asked: an operator's name, "alertmanager", "schedule". */
  requestedBy: string;
  /**
   * The workflow ID of the game-day drill that runs this move as its child: its approvals are then the runbook's
   * `drills.gameDay.approval` (checked against the run's parent, so a move started otherwise cannot claim it).
   */
  drill?: string;
  /**
   * Planned only: once the standby is warm (apps healthy, catch-up and follower lag near zero), wait for a human's go
   * before the old site is drained and fenced, so the write outage starts when an operator chooses (a maintenance
   * window's minute). No go within the approval timeout, or a rejection, undoes the warm-up.
   */
  holdBeforeFence?: boolean;
}

export type FailbackMode = 'full' | 'reprotect-only';

/**
 * What starts a failback: `full` reprotects (the old primary site replicates from the current one), switches
 * back in a planned move and re-establishes forward replication; `reprotect-only` stops once the old primary
 * site has caught up.
 */
export interface FailbackInput {
  pair: string;
  mode: FailbackMode;
  trigger: Trigger;
  reason: string;
  requestedBy: string;
  /** The game-day drill that runs this failback as its child (see FailoverInput.drill). */
  drill?: string;
  /** Full failback only: wait for a human's go before the switch back's drain and fence (see FailoverInput). */
  holdBeforeFence?: boolean;
  /**
   * Read where the pair stands and plan the failback's steps from its systems, then stop: nothing is changed. A
   * flag, not a mode, because the mode says how far the failback would go.
   */
  dryRun?: boolean;
}

/** The failback's `DrMode` search attribute: `failback-full`, `failback-reprotect-only`, or either with `-dry-run`. */
export function failbackModeName(input: FailbackInput): string {
  return `failback-${input.mode}${input.dryRun === true ? '-dry-run' : ''}`;
}

/** What starts a run that moves a pair, either way. */
export type MoveInput = FailoverInput | FailbackInput;

/** An approver's answer to a pending approval, as runs started before answers named their question took it. */
export interface ApprovalDecision {
  approver: string;
  reason: string;
}

/** An operator's answer (retry, abort, discard), as runs started before answers named their question took it. */
export interface OperatorDecision {
  operator: string;
  reason: string;
}

/** The answers a human gives to a question of a run: each names the question it answers. */
export type AnswerDecision = import('../common/approval-signature').AnswerDecision;

/**
 * A human's answer to one open question of a run (the `questions` of the `status` query). `signature` is an SSH
 * signature (namespace `drctl-approval`) over the canonical text of {workflowId, runId, questionId, decision, by,
 * reason, signedAt} (common/approval-signature.ts), made by `drctl approve|reject|retry|abort|discard`; an unsigned
 * answer is accepted only where the runbook says `approval.unsigned: allow`.
 */
export interface HumanAnswer {
  questionId: string;
  /** Who answers: a principal of the runbook's approvers. */
  by: string;
  reason: string;
  /** When it was signed (ISO 8601); required with a signature. */
  signedAt?: string;
  /** The armored SSH signature (-----BEGIN SSH SIGNATURE----- …). */
  signature?: string;
}

export const approveUpdate = defineUpdate<string, [HumanAnswer]>('approve');
export const rejectUpdate = defineUpdate<string, [HumanAnswer]>('reject');
export const retryUpdate = defineUpdate<string, [HumanAnswer]>('retry');
export const abortUpdate = defineUpdate<string, [HumanAnswer]>('abort');
/** Failback: rebuild an old primary that holds transactions the new primary lacks, discarding them. */
export const discardUpdate = defineUpdate<string, [HumanAnswer]>('discard');
/** The same answers as signals, for tools that can only signal (they get no answer; a refused one is logged). */
export const approveSignal = defineSignal<[HumanAnswer]>('approve-signal');
export const rejectSignal = defineSignal<[HumanAnswer]>('reject-signal');
export const retrySignal = defineSignal<[HumanAnswer]>('retry-signal');
export const abortSignal = defineSignal<[HumanAnswer]>('abort-signal');
export const discardSignal = defineSignal<[HumanAnswer]>('discard-signal');

/**
 * Alertmanager says that the alerts which started a failover have resolved (client/alerts): the run notes that the
 * primary site looks recovered, and a pending approval says so. It changes nothing else: a human still decides.
 */
export interface AlertResolved {
  /** The resolved alerts, by name (and fingerprint). */
  alerts: string[];
  /** When the last of them ended (RFC 3339), as Alertmanager gives it. */
  resolvedAt: string;
}
export const alertResolvedSignal = defineSignal<[AlertResolved]>('alert-resolved');

export const planQuery = defineQuery<RunPlan | undefined>('plan');
export const statusQuery = defineQuery<RunStatus>('status');

/** The phases a failover that completes goes through, in order. */
export const COMPLETED_RUN_PHASES = [
  'assess',
  'plan',
  'approve',
  'warm-up',
  'fence',
  'prepare',
  'promote',
  'switch',
  'verify',
  'report',
] as const;

export type Phase =
  (typeof COMPLETED_RUN_PHASES)[number] | 'compensate' | 'reprotect' | 'catch-up' | 'reestablish';

export type System = 'mysql' | 'elasticsearch' | 'apps' | 'traffic' | 'redis' | 'postgresql' | 'ovh-database';

/** One step of a plan, as shown to humans: what it does, to what, and how it is undone. */
export interface PlannedStepView {
  id: string;
  phase: Phase;
  system: System;
  title: string;
  target: string;
  /** How the step is undone before the point of no return; absent when nothing needs undoing. */
  compensation?: string;
}

export interface DataLossEstimate {
  system: System;
  /** How many transactions / operations the standby lacks; absent when unknown. */
  count?: number;
  /** What the run recovered that the standby lacked (MySQL: transactions salvaged from the old primary's binlog). */
  recovered?: number;
  unit: 'transactions' | 'operations' | 'bytes of WAL';
  sentence: string;
}

export interface RunPlan {
  pair: string;
  mode: FailoverMode | FailbackMode;
  from: string;
  to: string;
  steps: PlannedStepView[];
  dataLoss: DataLossEstimate[];
  sentence: string;
}

export type StepState =
  'pending' | 'running' | 'done' | 'failed' | 'compensating' | 'compensated' | 'skipped';

export interface StepRecord extends PlannedStepView {
  state: StepState;
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  lastError?: string;
  sentence?: string;
}

export interface PendingDecision {
  /** The question's ID, which an answer names (`q1`, `q2`, … in the order they were asked). */
  id?: string;
  kind: 'approval' | 'operator';
  /** What is asked, in one sentence. */
  question: string;
  /** The updates (and signals) that answer it. */
  answers: string[];
  since: string;
  /** When an approval times out (and what happens then is in the question). */
  deadline?: string;
}

export interface RunStatus {
  phase: Phase | 'start' | 'done';
  /** The last decision, in one sentence. */
  sentence: string;
  pastPointOfNoReturn: boolean;
  steps: StepRecord[];
  pending?: PendingDecision;
  /** Every question open now, each answered on its own (two parallel steps can each wait for a human). */
  questions?: PendingDecision[];
  /** Alertmanager said the alerts that started the run have resolved (the `alert-resolved` signal). */
  primaryRecovered?: AlertResolved;
}

/**
 * The systems of an old site the watcher fences: its MySQL primary, its leader indices, its traffic, its Redis master,
 * its PostgreSQL primary.
 */
export type FenceableSystem = 'mysql' | 'elasticsearch' | 'traffic' | 'redis' | 'postgresql';

/** What the watcher did to one system: fenced it (when, in which round, its sentence). */
export interface FencedSystem {
  system: FenceableSystem;
  target: string;
  at: string;
  round: number;
  sentence: string;
}

/** A system the watcher has not fenced (yet), with the last failure of its tries. */
export interface UnfencedSystem {
  system: FenceableSystem;
  target: string;
  lastError?: string;
}

/** The old-site watcher now: what is fenced, what it still tries, and when it tries next. */
export interface FenceWatchStatus {
  pair: string;
  site: string;
  since: string;
  until: string;
  round: number;
  fenced: FencedSystem[];
  pending: UnfencedSystem[];
  nextTryAt?: string;
  /** The last decision, in one sentence. */
  sentence: string;
}

export const fenceWatchStatusQuery = defineQuery<FenceWatchStatus>('status');

/** A failover that could not fence these systems of the site the running watcher watches: it takes them on too. */
export interface FenceWatchJoin {
  systems: FenceableSystem[];
  /** The failover's workflow ID. */
  startedBy: string;
  /** The watch lasts this long from now at least (the runbook's `fencing.watchFor`). */
  watchForMs: number;
}

export const fenceWatchJoinSignal = defineSignal<[FenceWatchJoin]>('watch-also');
