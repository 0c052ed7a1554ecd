import type { MysqlServerStatus } from '../../activities/mysql/status';
import type { TrafficState } from '../../activities/traffic';
import type { Check } from '../checks/check';
import type {
  DataLossEstimate,
  FailbackMode,
  FailoverMode,
  RunPlan,
  StepRecord,
  Trigger,
} from '../definitions';
import type { ApprovalRecord, OperatorRecord } from '../desk';
import type { UnwindResult } from '../saga';
import { errorText } from '../steps';
import type { Observation } from '../systems/system';
import type { FailoverRun } from './run';

export type FailoverOutcome =
  | 'completed'
  | 'dry-run'
  | 'not-needed'
  | 'refused'
  | 'rejected'
  | 'rolled-back'
  /** Undone before the point of no return except what an operator left in effect (the report's compensation). */
  | 'partly-rolled-back'
  | 'aborted'
  /** A failback in reprotect-only mode: the old primary site replicates from the current one. */
  | 'reprotected';

export interface FailoverReport {
  pair: string;
  workflowId: string;
  mode: FailoverMode | FailbackMode;
  trigger: Trigger;
  reason: string;
  requestedBy: string;
  outcome: FailoverOutcome;
  /** The outcome in one sentence. */
  sentence: string;
  from?: string;
  to?: string;
  startedAt: string;
  finishedAt: string;
  /** Measured recovery time: from the start of the run, and from the approval (when there was one). */
  rto: { fromStartMs: number; fromApprovalMs?: number };
  plan?: RunPlan;
  dataLoss: DataLossEstimate[];
  steps: StepRecord[];
  approvals: ApprovalRecord[];
  operatorDecisions: OperatorRecord[];
  compensation?: UnwindResult;
  checks: Check[];
  /** What each vantage said of the primary, per detection round (unplanned). */
  detection: Observation[][];
  /** The pair as it is at the end. */
  topology?: { mysql?: MysqlServerStatus[]; traffic?: TrafficState; unreadable?: string };
  decisions: { phase: string; sentence: string }[];
}

/** Report: what happened, step by step, with the measured RTO and the final topology. */
export async function report(
  run: FailoverRun,
  outcome: FailoverOutcome,
  sentence: string,
  compensation?: UnwindResult,
): Promise<FailoverReport> {
  run.enter('report');
  const topology = run.ctx && outcome !== 'dry-run' ? await readTopology(run) : undefined;
  const finishedAt = new Date();
  run.say(sentence);
  run.phase = 'done';
  return {
    pair: run.input.pair,
    workflowId: run.workflowId,
    mode: run.input.mode,
    trigger: run.input.trigger,
    reason: run.input.reason,
    requestedBy: run.input.requestedBy,
    outcome,
    sentence,
    ...(run.ctx ? { from: run.ctx.from, to: run.ctx.to } : {}),
    startedAt: run.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    rto: {
      fromStartMs: finishedAt.getTime() - run.startedAt.getTime(),
      ...(run.approvedAt ? { fromApprovalMs: finishedAt.getTime() - run.approvedAt.getTime() } : {}),
    },
    ...(run.plan ? { plan: run.plan } : {}),
    dataLoss: run.dataLoss,
    steps: run.book.records,
    approvals: run.desk.approvals,
    operatorDecisions: run.desk.operatorDecisions,
    ...(compensation ? { compensation } : {}),
    checks: run.checks,
    detection: run.findings,
    ...(topology ? { topology } : {}),
    decisions: run.narrator.decisions,
  };
}

async function readTopology(run: FailoverRun): Promise<FailoverReport['topology']> {
  const { ctx } = run;
  try {
    const [mysql, traffic] = await Promise.all([
      ctx.call('read', 'mysqlServerStatuses', { pair: ctx.settings.pair }, 'final MySQL topology'),
      ctx.settings.traffic
        ? ctx.call('read', 'trafficCurrentTarget', { pair: ctx.settings.pair }, 'final traffic target')
        : Promise.resolve(undefined),
    ]);
    return { mysql, ...(traffic ? { traffic } : {}) };
  } catch (err) {
    return { unreadable: errorText(err) };
  }
}
