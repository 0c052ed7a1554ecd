/**
 * The primary site of a scratch DR pair dies (its database, app and SSH server SIGKILLed, its ES cluster down) under
 * the one writer, and the unplanned failover runs, each question approved as it opens (going on without fencing a
 * dead site is a human's answer). Two contenders take turns in each run, each on a fresh pair: the failover started
 * through the alert path (Prometheus → Alertmanager → the alert receiver → workflow, at the stack's alert timings),
 * giving rto_ms and its parts; and the failover started by the bench right after the kill, giving rto_direct_ms.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { startFailover } from '../client/failover';
import type { DrillStep } from '../common/drill-report';
import { sleep } from '../dev/stack/daemon';
import { answer } from '../test/helpers/answers';
import { TEST_APPROVER } from '../test/helpers/approver';
import type { ScratchDrPair } from '../test/helpers/scratch-dr-pair';
import type { failover, FailoverReport } from '../workflows';
import { drillMove, drillSteps, promotedServer } from '../workflows/checks/drill-figures';
import {
  approveUpdate,
  fenceWatchWorkflowId,
  pairMoveWorkflowId,
  statusQuery,
} from '../workflows/definitions';
import { alertPorts, alertRules, startAlertPath, type AlertReadings } from '../test/helpers/alert-path';
import { inTurns, type ContenderTimeline, type RunContext, type Sample, type Scenario } from './scenario';
import { BenchTemporal, withScratchPair, withWorker } from './temporal';
import { underWrites, type WritesDuringMove } from './writer';

/** The run's report, approving (as the scratch pairs' approver) each approval question as it opens. */
export async function approvingEachQuestion(
  handle: WorkflowHandle<typeof failover>,
): Promise<FailoverReport> {
  let ended = false;
  const report = (handle.result() as Promise<FailoverReport>).finally(() => {
    ended = true;
  });
  const answered = new Set<string>();
  while (!ended) {
    const questions = (await handle.query(statusQuery).catch(() => undefined))?.questions ?? [];
    for (const q of questions.filter((q) => q.kind === 'approval' && !answered.has(q.id!))) {
      answered.add(q.id!);
      await answer(handle, approveUpdate, TEST_APPROVER.name, 'bench: the primary site is dead');
    }
    await Promise.race([report.catch(() => undefined), new Promise((r) => setTimeout(r, 50))]);
  }
  return report;
}

/** A started failover as one contender started it: its handle, and when the site was killed. */
interface Started {
  handle: WorkflowHandle<typeof failover>;
  killedAt: number;
}

interface UnplannedRun {
  report: FailoverReport;
  writes: WritesDuringMove;
  killedAt: number;
}

/** Kills the primary site under the writer, lets `start` start the failover, approves it through to its end. */
async function killAndFailOver(
  temporal: BenchTemporal,
  pair: ScratchDrPair,
  start: (killedAt: number) => Promise<WorkflowHandle<typeof failover>>,
): Promise<UnplannedRun> {
  let started: Started | undefined;
  try {
    const { result: report, writes } = await underWrites(pair, async () => {
      await pair.killPrimarySite();
      const killedAt = Date.now();
      started = { handle: await start(killedAt), killedAt };
      const report = await approvingEachQuestion(started.handle);
      const promoted = promotedServer(report);
      return { result: report, ...(promoted ? { promoted } : {}) };
    });
    return { report, writes, killedAt: started!.killedAt };
  } finally {
    // The fence watch of the dead site runs on after the move: its worker is about to stop.
    if (started)
      await temporal.client.workflow
        .getHandle(fenceWatchWorkflowId(pair.pair))
        .terminate('the bench run is over')
        .catch(() => undefined);
  }
}

const ms = (from: number, to: number) => Math.round(to - from);

/** The parts of the run's own time: until its approval, and from the approval to traffic verified. */
function workflowParts(report: FailoverReport, prefix: string): Record<string, number> {
  const { fromStartMs, fromApprovalMs } = report.rto;
  return {
    [`${prefix}workflow_ms`]: fromStartMs,
    ...(fromApprovalMs !== undefined
      ? {
          [`${prefix}until_approval_ms`]: fromStartMs - fromApprovalMs,
          [`${prefix}after_approval_ms`]: fromApprovalMs,
        }
      : {}),
  };
}

function timeline(contender: string, report: FailoverReport, before: DrillStep[] = []): ContenderTimeline {
  const move = drillMove('failover', report);
  return {
    contender,
    steps: [...before, ...drillSteps('failover', report.steps)],
    ...(move.fenceWindow ? { fenceWindow: move.fenceWindow } : {}),
  };
}

/** The alert path's parts as chart bars, from the kill to the run's start. */
function alertSteps(killedAt: number, alert: AlertReadings, runStart: number): DrillStep[] {
  const bar = (id: string, title: string, from: number, to: number): DrillStep => ({
    move: 'failover',
    id,
    title,
    phase: 'alert',
    state: 'done',
    startedAt: new Date(from).toISOString(),
    endedAt: new Date(to).toISOString(),
  });
  return [
    bar('alert.detect', 'Prometheus sees the probe fail', killedAt, alert.activeAt),
    bar('alert.for', "the alert's for holds", alert.activeAt, alert.firedAt),
    bar('alert.notify', 'Alertmanager → receiver → workflow start', alert.firedAt, runStart),
  ];
}

function outcomeOf(
  label: string,
  report: FailoverReport,
  figures: Record<string, number>,
): Pick<Sample, 'figures' | 'failures'> {
  const completed = report.outcome === 'completed';
  return {
    figures: completed ? figures : {},
    failures: completed
      ? []
      : [`${label}: the unplanned failover ended ${report.outcome}: ${report.sentence}`],
  };
}

/** The failover started by the bench right after the kill: rto_direct_ms. */
function directStart(temporal: BenchTemporal, ctx: RunContext): Promise<Sample> {
  return withScratchPair((pair) =>
    withWorker(temporal, pair, async (_worker, taskQueue) => {
      const { report, writes, killedAt } = await killAndFailOver(temporal, pair, () =>
        startFailover(
          temporal.client,
          { pair: pair.pair, mode: 'unplanned', trigger: 'test', reason: 'bench', requestedBy: 'oncall' },
          { taskQueue },
        ),
      );
      const rtoMs = ms(killedAt, Date.parse(report.finishedAt));
      ctx.log(
        `direct start: ${report.outcome}, kill → traffic verified ${rtoMs} ms; outage ${writes.outageMs} ms`,
      );
      return {
        ...outcomeOf('direct start', report, {
          rto_direct_ms: rtoMs,
          ...workflowParts(report, 'rto_direct_'),
          unplanned_outage_ms: writes.outageMs,
          ...(writes.lost !== undefined ? { unplanned_lost_writes: writes.lost } : {}),
        }),
        timelines: [timeline('unplanned, started at once', report)],
      };
    }),
  );
}

/** Resolves once the run exists (polled every 50 ms: its questions are answered as soon as they open). */
async function untilStarted(handle: WorkflowHandle<typeof failover>): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (
      await handle.describe().then(
        () => true,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error('alert path: no failover started within 120 s of the kill');
    await sleep(50);
  }
}

/** The failover started by the site-down alert through Prometheus, Alertmanager and the receiver: rto_ms. */
async function throughAlertPath(temporal: BenchTemporal, ctx: RunContext): Promise<Sample> {
  const ports = await alertPorts();
  return withScratchPair(
    (pair) =>
      withWorker(temporal, pair, async (worker, taskQueue) => {
        const path = await startAlertPath(
          pair,
          ports,
          { taskQueue, metricsPort: worker.metricsPort },
          () => {},
        );
        try {
          await path.watching();
          const handle = temporal.client.workflow.getHandle<typeof failover>(pairMoveWorkflowId(pair.pair));
          const { report, writes, killedAt } = await killAndFailOver(temporal, pair, async () => {
            await untilStarted(handle);
            return handle;
          });
          const alert = await path.readings();
          const runStart = Date.parse(report.startedAt);
          const rtoMs = ms(killedAt, Date.parse(report.finishedAt));
          ctx.log(
            `alert path: ${report.outcome}, kill → traffic verified ${rtoMs} ms (alert active after ${ms(killedAt, alert.activeAt)} ms, fired ${ms(killedAt, alert.firedAt)}, run started ${ms(killedAt, runStart)}); outage ${writes.outageMs} ms`,
          );
          return {
            ...outcomeOf('alert path', report, {
              rto_ms: rtoMs,
              rto_detect_ms: ms(killedAt, alert.activeAt),
              rto_alert_for_ms: ms(alert.activeAt, alert.firedAt),
              rto_alertmanager_ms: ms(alert.firedAt, runStart) - alert.receiverMs,
              rto_receiver_ms: alert.receiverMs,
              ...workflowParts(report, 'rto_'),
              rto_outage_ms: writes.outageMs,
              ...(writes.lost !== undefined ? { rto_lost_writes: writes.lost } : {}),
            }),
            timelines: [timeline('unplanned, alert path', report, alertSteps(killedAt, alert, runStart))],
          };
        } finally {
          await path.stop();
        }
      }),
    {},
    alertRules(ports.receiver),
  );
}

export function unplannedFailoverScenario(temporal: BenchTemporal): Scenario {
  return {
    name: 'unplanned-failover',
    description:
      'unplanned failover after the primary site of a scratch DR pair is killed: started through the alert path, and at once by the bench',
    setup: (ctx) => temporal.setup(ctx.log),
    run: (ctx) =>
      inTurns(
        ctx,
        [throughAlertPath, directStart].map((contender) => () => contender(temporal, ctx)),
      ),
  };
}
