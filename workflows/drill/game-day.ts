import {
  ActivityCancellationType,
  CancellationScope,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { WriterResult } from '../../activities/drills';
import type { PairSettings } from '../../activities/pair-settings';
import type { DrillMove, DrillOutcome, DrillStep, DrillWrites } from '../../common/drill-report';
import { NON_RETRYABLE } from '../activity-options';
import { drillMove, drillSteps, gameDayVerdict, promotedServer } from '../checks/drill-figures';
import { pairMoveWorkflowId, type FailbackInput } from '../definitions';
import { failback } from '../failback';
import { failover } from '../failover';
import type { FailoverReport } from '../failover/report';
import type { Narrator } from '../narrate';
import { errorText } from '../steps';
import type { DrillInput } from '../drill';

export interface GameDayResult {
  verdict: { outcome: DrillOutcome; sentence: string };
  moves: DrillMove[];
  steps: DrillStep[];
  measuredRtoMs?: number;
  writes?: DrillWrites;
}

/** Writes acknowledged in a row by the new site after which the writer stops: the writes have moved. */
const SETTLE_WRITES = 10;
/** The writer writes this long before the failover starts, so that the outage is measured from steady writes. */
const WRITES_BEFORE_FAILOVER = '2s';

const { drillLostWrites } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * A real failover then failback of the pair, each a child workflow under the pair's move ID (so a move already
 * running refuses the drill rather than joining it), while the drill's writer writes through the entry point. The
 * moves' approvals are the runbook's: `drills.gameDay.approval: auto` lets the drill approve them, otherwise they
 * wait for an approver like any move. A drill that is cancelled cancels the running move (which undoes what it did
 * before its point of no return); a drill that is terminated leaves it running (parent close policy ABANDON).
 */
export async function gameDay(
  input: DrillInput,
  settings: PairSettings,
  narrator: Narrator,
  expectedRtoMs: number,
): Promise<GameDayResult> {
  const { workflowId } = workflowInfo();
  const runId = workflowId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);
  const moveInput: MoveInput = {
    pair: input.pair,
    trigger: input.trigger,
    reason: `game-day drill ${workflowId}`,
    requestedBy: input.requestedBy,
    drill: workflowId,
  };
  const writerScope = new CancellationScope();
  const writing = writerScope
    .run(() => startWriter(settings, runId, expectedRtoMs))
    .then(
      (result): WriterResult | string => result,
      (err: unknown) =>
        isCancellation(err) ? 'the writer was stopped: the failover did not complete' : errorText(err),
    );
  await sleep(WRITES_BEFORE_FAILOVER);

  narrator.enterPhase('failover');
  const moves: DrillMove[] = [];
  const steps: DrillStep[] = [];
  const failoverReport = await runMove('failover', () =>
    executeChild(failover, {
      workflowId: pairMoveWorkflowId(input.pair),
      args: [{ ...moveInput, mode: 'planned' }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    }),
  );
  if (typeof failoverReport === 'string') {
    writerScope.cancel();
    await writing;
    narrator.say(failoverReport);
    return {
      verdict: {
        outcome: 'refused',
        sentence: `the game-day drill of ${input.pair} could not fail over: ${failoverReport}`,
      },
      moves,
      steps,
    };
  }
  moves.push(drillMove('failover', failoverReport));
  steps.push(...drillSteps('failover', failoverReport.steps));
  narrator.say(`failover ${failoverReport.outcome}: ${failoverReport.sentence}`);
  if (failoverReport.outcome !== 'completed') writerScope.cancel();

  const written = await writing;
  const writes =
    typeof written === 'string' ? undefined : await countLostWrites(input.pair, written, failoverReport);
  narrator.say(typeof written === 'string' ? `no write figures: ${written}` : writes!.sentence);

  if (failoverReport.outcome === 'completed') {
    const back = await failBack(moveInput, narrator);
    moves.push(back.move);
    steps.push(...back.steps);
  }
  return {
    verdict: gameDayVerdict(input.pair, moves, writes?.lostWrites),
    moves,
    steps,
    measuredRtoMs: moves[0]?.rtoMs,
    ...(writes ? { writes } : {}),
  };
}

type MoveInput = Omit<FailbackInput, 'mode'>;

/** The drill's failback (full): its summary and steps, or a failed move saying why it could not run. */
async function failBack(
  moveInput: MoveInput,
  narrator: Narrator,
): Promise<{ move: DrillMove; steps: DrillStep[] }> {
  narrator.enterPhase('failback');
  const workflowId = pairMoveWorkflowId(moveInput.pair);
  const report = await runMove('failback', () =>
    executeChild(failback, {
      workflowId,
      args: [{ ...moveInput, mode: 'full' }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    }),
  );
  if (typeof report === 'string') {
    narrator.say(report);
    return { move: { kind: 'failback', workflowId, outcome: 'failed', sentence: report }, steps: [] };
  }
  narrator.say(`failback ${report.outcome}: ${report.sentence}`);
  return { move: drillMove('failback', report), steps: drillSteps('failback', report.steps) };
}

/**
 * The writer, bounded: the expected RTO, the approval the failover may wait for (an approver's timeout unless the
 * runbook lets the drill approve it), and two minutes more.
 */
function startWriter(settings: PairSettings, runId: string, expectedRtoMs: number): Promise<WriterResult> {
  const { approval } = settings;
  const approvalMs =
    settings.drills?.gameDayApproval === 'auto'
      ? 0
      : approval.policy === 'auto-after'
        ? (approval.delayMs ?? 0)
        : approval.policy === 'required'
          ? approval.timeoutMs
          : 0;
  const maxMs = expectedRtoMs + approvalMs + 120_000;
  const { drillWrite } = proxyActivities<Activities>({
    startToCloseTimeout: maxMs + 60_000,
    heartbeatTimeout: '30s',
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: { maximumAttempts: 2, nonRetryableErrorTypes: NON_RETRYABLE },
  });
  return drillWrite({
    pair: settings.pair,
    runId,
    to: settings.sites.standby,
    settleWrites: SETTLE_WRITES,
    maxMs,
  });
}

/** A move as a child workflow: its report, or the sentence saying why it could not run. */
async function runMove(
  kind: 'failover' | 'failback',
  start: () => Promise<FailoverReport>,
): Promise<FailoverReport | string> {
  try {
    return await start();
  } catch (err) {
    if (isCancellation(err)) throw err;
    return `the ${kind} did not run to a report: ${errorText(err)}`;
  }
}

async function countLostWrites(
  pair: string,
  written: WriterResult,
  report: FailoverReport,
): Promise<DrillWrites> {
  const figures = {
    attempted: written.attempted,
    acknowledged: written.acknowledged,
    failed: written.failed,
    unknown: written.unknown,
    writeOutageMs: written.writeOutageMs,
  };
  const server = promotedServer(report);
  if (report.outcome !== 'completed' || !server)
    return {
      ...figures,
      lostWriteIds: [],
      sentence: `${written.description} Not checked for lost writes: the failover did not promote a server.`,
    };
  try {
    const lost = await drillLostWrites({
      pair,
      server,
      runId: written.runId,
      acknowledged: written.acknowledgedRanges,
    });
    return {
      ...figures,
      lostWrites: lost.lost,
      lostWriteIds: lost.lostIds,
      checkedOn: server,
      sentence: `${written.description} ${lost.description}`,
    };
  } catch (err) {
    return {
      ...figures,
      lostWriteIds: [],
      sentence: `${written.description} The lost writes could not be counted: ${errorText(err)}`,
    };
  }
}
