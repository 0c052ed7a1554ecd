import type { DrillMove, DrillOutcome, DrillStep } from '../../common/drill-report';
import type { StepRecord } from '../definitions';
import type { FailoverReport } from '../failover/report';

/** A move's steps as the drill's timeline draws them. */
export function drillSteps(kind: DrillMove['kind'], steps: StepRecord[]): DrillStep[] {
  return steps.map((s) => ({
    move: kind,
    id: s.id,
    title: `${s.title} (${s.target})`,
    phase: s.phase,
    state: s.state,
    ...(s.startedAt ? { startedAt: s.startedAt } : {}),
    ...(s.endedAt ? { endedAt: s.endedAt } : {}),
    ...(s.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
  }));
}

/**
 * A move's summary for the drill: its outcome and RTO, its fence window (from the first fence step's start to the
 * end of the last traffic-switch step, or of the last step when it switched nothing) and its point of no return
 * (the start of its first promotion step).
 */
export function drillMove(kind: DrillMove['kind'], report: FailoverReport): DrillMove {
  const ran = report.steps.filter((s) => s.startedAt);
  const fences = ran.filter((s) => s.phase === 'fence');
  const switched = ran.filter((s) => s.phase === 'switch' && s.endedAt);
  const promoted = ran.filter((s) => s.phase === 'promote');
  const earliest = (times: string[]) => times.sort()[0];
  const latest = (times: string[]) => times.sort().at(-1);
  const fenceFrom = earliest(fences.map((s) => s.startedAt!));
  const fenceTo = latest((switched.length > 0 ? switched : ran).map((s) => s.endedAt ?? s.startedAt!));
  const pointOfNoReturn = earliest(promoted.map((s) => s.startedAt!));
  return {
    kind,
    workflowId: report.workflowId,
    outcome: report.outcome,
    sentence: report.sentence,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    rtoMs: report.rto.fromApprovalMs ?? report.rto.fromStartMs,
    approvals: report.approvals.map((a) => `${a.how} by ${a.by}`),
    ...(fenceFrom && fenceTo ? { fenceWindow: { from: fenceFrom, to: fenceTo } } : {}),
    ...(pointOfNoReturn ? { pointOfNoReturn } : {}),
  };
}

/** The server a failover promoted (its MySQL promotion step's target), where its acknowledged writes must be. */
export function promotedServer(report: FailoverReport): string | undefined {
  const step = report.steps.find((s) => s.id === 'mysql.promote' && s.state === 'done');
  return step?.target;
}

/**
 * A game-day drill's outcome: passed when the failover and the failback both completed and no acknowledged write
 * was lost; failed otherwise, with the first reason.
 */
export function gameDayVerdict(
  pair: string,
  moves: DrillMove[],
  lostWrites: number | undefined,
): { outcome: DrillOutcome; sentence: string } {
  const failover = moves.find((m) => m.kind === 'failover');
  const failback = moves.find((m) => m.kind === 'failback');
  if (!failover || failover.outcome !== 'completed')
    return {
      outcome: 'failed',
      sentence:
        `game-day drill of ${pair} failed: the failover ended ${failover?.outcome ?? 'without starting'}: ${failover?.sentence ?? ''}`.trim(),
    };
  if (lostWrites === undefined)
    return {
      outcome: 'failed',
      sentence: `game-day drill of ${pair} failed: the lost writes could not be counted.`,
    };
  if (!failback || failback.outcome !== 'completed')
    return {
      outcome: 'failed',
      sentence:
        `game-day drill of ${pair} failed: the failback ended ${failback?.outcome ?? 'without starting'}: ${failback?.sentence ?? ''}`.trim(),
    };
  if (lostWrites > 0)
    return {
      outcome: 'failed',
      sentence: `game-day drill of ${pair} failed: ${lostWrites} acknowledged writes were lost in the failover.`,
    };
  return {
    outcome: 'passed',
    sentence: `game-day drill of ${pair} passed: failed over in ${seconds(failover.rtoMs)} and back in ${seconds(failback.rtoMs)}, no acknowledged write lost.`,
  };
}

const seconds = (ms: number | undefined) => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`);
