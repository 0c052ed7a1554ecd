import { isCancellation, patched } from '@temporalio/workflow';
import type { MeasuredLoss } from '../../activities/mysql/loss';
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
import { FENCE_WINDOW_PHASES } from '../../common/fence-window';
import type { ApprovalRecord, OperatorRecord } from '../desk';
import { moveFacts, recordMove } from '../metrics';
import type { NotificationsRecord } from '../notify';
import type { UnwindResult } from '../saga';
import { errorText } from '../steps';
import { SEEN_DOWN_PATCH, type Observation } from '../systems/system';
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
  /** The plan's estimate of the data loss, per system. */
  dataLoss: DataLossEstimate[];
  /**
   * The data loss measured at the end of a failover that promoted a MySQL server: what the old primary holds that
   * the new one lacks, or unknown and why (the old primary cannot be read). Absent from runs that promoted nothing
   * and from runs started before it was measured.
   */
  measuredLoss?: MeasuredLoss[];
  steps: StepRecord[];
  /**
   * The write outage as the run measured it: from the start of the first fence step to the end of the traffic switch,
   * with the steps inside it. Absent unless both happened.
   */
  fenceWindow?: FenceWindow;
  approvals: ApprovalRecord[];
  operatorDecisions: OperatorRecord[];
  compensation?: UnwindResult;
  checks: Check[];
  /** What each vantage said of the primary, per detection round (unplanned). */
  detection: Observation[][];
  /** The pair as it is at the end. */
  topology?: { mysql?: MysqlServerStatus[]; traffic?: TrafficState; unreadable?: string };
  decisions: { phase: string; sentence: string }[];
  /** What the run sent to the runbook's webhooks (absent when it has none, and from older runs). */
  notifications?: NotificationsRecord;
}

export interface FenceWindow {
  startedAt: string;
  endedAt: string;
  ms: number;
  /** The steps that ran inside the window, in plan order, with their durations and attempts. */
  steps: { id: string; durationMs?: number; attempts: number }[];
}

/** The fence window of a run's steps: from the first fence step's start to the end of its switch phase. */
export function fenceWindowOf(steps: StepRecord[]): FenceWindow | undefined {
  const ran = steps.filter((s) => s.startedAt && s.state !== 'skipped' && s.state !== 'pending');
  const starts = ran.filter((s) => s.phase === 'fence').map((s) => Date.parse(s.startedAt!));
  const ends = ran.filter((s) => s.phase === 'switch' && s.endedAt).map((s) => Date.parse(s.endedAt!));
  if (starts.length === 0 || ends.length === 0) return undefined;
  const [from, to] = [Math.min(...starts), Math.max(...ends)];
  return {
    startedAt: new Date(from).toISOString(),
    endedAt: new Date(to).toISOString(),
    ms: Math.max(0, to - from),
    steps: ran
      .filter((s) => FENCE_WINDOW_PHASES.includes(s.phase))
      .map((s) => ({
        id: s.id,
        ...(s.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
        attempts: s.attempts,
      })),
  };
}

/** Runs that measure the MySQL data loss at their end (an activity more in the report phase). */
export const MEASURED_LOSS_PATCH = 'measured-loss';

/** Report: what happened, step by step, with the measured RTO, data loss and the final topology. */
export async function report(
  run: FailoverRun,
  outcome: FailoverOutcome,
  sentence: string,
  compensation?: UnwindResult,
): Promise<FailoverReport> {
  run.enter('report');
  const [topology, measuredLoss] = await Promise.all([
    run.ctx && outcome !== 'dry-run' ? readTopology(run) : undefined,
    measureLoss(run),
  ]);
  const finishedAt = new Date();
  const fenceWindow = fenceWindowOf(run.book.records);
  if (fenceWindow)
    run.say(
      `the fence window (writes refused) lasted ${fenceWindow.ms} ms: ${fenceWindow.steps.map((s) => `${s.id} ${s.durationMs ?? '?'} ms${s.attempts > 1 ? ` (${s.attempts} tries)` : ''}`).join(', ')}.`,
    );
  run.say(sentence);
  run.phase = 'done';
  const rto = {
    fromStartMs: finishedAt.getTime() - run.startedAt.getTime(),
    ...(run.approvedAt ? { fromApprovalMs: finishedAt.getTime() - run.approvedAt.getTime() } : {}),
  };
  const notifier = run.notifier;
  notifier?.end(outcome, sentence, rto);
  await notifier?.drained();
  const result: FailoverReport = {
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
    rto,
    ...(run.plan ? { plan: run.plan } : {}),
    dataLoss: run.dataLoss,
    ...(measuredLoss ? { measuredLoss } : {}),
    steps: run.book.records,
    ...(fenceWindow ? { fenceWindow } : {}),
    approvals: run.desk.approvals,
    operatorDecisions: run.desk.operatorDecisions,
    ...(compensation ? { compensation } : {}),
    checks: run.checks,
    detection: run.findings,
    ...(topology ? { topology } : {}),
    decisions: run.narrator.decisions,
    ...(notifier && notifier.record.events > 0 ? { notifications: notifier.record } : {}),
  };
  recordMove(moveFacts(result, run.kind));
  return result;
}

/**
 * Runs the body of a move. One that ends without a report (cancelled, or failed) still tells its webhooks and the
 * metrics how it ended, then ends so.
 */
export async function toldIfItEndsEarly(
  run: FailoverRun,
  body: () => Promise<FailoverReport>,
): Promise<FailoverReport> {
  try {
    return await body();
  } catch (err) {
    const outcome = isCancellation(err) ? 'cancelled' : 'failed';
    const sentence = `the ${run.title} of ${run.input.pair} ended ${outcome}, without a report: ${errorText(err)}`;
    const finishedAt = new Date();
    run.notifier?.end(outcome, sentence, { fromStartMs: finishedAt.getTime() - run.startedAt.getTime() });
    await run.notifier?.drained();
    recordMove({
      pair: run.input.pair,
      type: run.kind,
      mode: run.input.mode,
      outcome,
      endedAt: finishedAt.getTime() / 1000,
    });
    throw err;
  }
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

/**
 * A failover whose MySQL promotion is done measures its loss: the old primary (the fence's target) against the
 * promoted server, stated beside the plan's estimate. A measurement that fails makes it unknown, never the report.
 */
async function measureLoss(run: FailoverRun): Promise<MeasuredLoss[] | undefined> {
  if (!run.ctx || (run.input.mode !== 'planned' && run.input.mode !== 'unplanned')) return undefined;
  const step = (id: string) => run.book.records.find((s) => s.id === id);
  const fenced = step('mysql.fence');
  const promoted = step('mysql.promote');
  if (!fenced || promoted?.state !== 'done' || !patched(MEASURED_LOSS_PATCH)) return undefined;
  const { ctx } = run;
  const [from, to] = [fenced.target, promoted.target];
  let loss: MeasuredLoss;
  if (run.seenDown.includes('mysql') && patched(SEEN_DOWN_PATCH))
    loss = {
      system: 'mysql',
      from,
      to,
      sentence: `unknown: every vantage saw ${from} down in every detection round, so it was not read.`,
    };
  else
    try {
      loss = await ctx.call(
        'read',
        'mysqlMeasureLoss',
        { pair: ctx.settings.pair, from, to },
        `measure the MySQL data loss (${from} against ${to})`,
      );
    } catch (err) {
      loss = { system: 'mysql', from, to, sentence: `unknown: the measurement failed (${errorText(err)}).` };
    }
  const estimate = run.dataLoss.find((d) => d.system === 'mysql');
  const clause = (text: string) => text.replace(/\.$/, '');
  run.say(
    `measured MySQL data loss: ${clause(loss.sentence)}${estimate ? ` (the plan's estimate: ${clause(estimate.sentence)})` : ''}.`,
  );
  return [loss];
}
