/**
 * rto_ms: the primary site of a scratch DR pair dies (its database, app and SSH server SIGKILLed, its ES cluster
 * down) under the one writer; the bench starts the unplanned failover at once (not through the alert path: see
 * `notMeasured`), approves each question as it opens (going on without fencing a dead site is a human's answer),
 * and measures the kill → run's end (traffic verified on the standby), and the writer's outage.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { startFailover } from '../client/failover';
import { answer } from '../test/helpers/answers';
import { TEST_APPROVER } from '../test/helpers/approver';
import type { failover, FailoverReport } from '../workflows';
import { drillMove, drillSteps, promotedServer } from '../workflows/checks/drill-figures';
import { approveUpdate, statusQuery } from '../workflows/definitions';
import type { Sample, Scenario } from './scenario';
import { BenchTemporal, withScratchPair, withWorker } from './temporal';
import { underWrites } from './writer';

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

export function unplannedFailoverScenario(temporal: BenchTemporal): Scenario {
  return {
    name: 'unplanned-failover',
    description:
      'unplanned failover after the primary site of a scratch DR pair is killed, started at once by the bench',
    notMeasured: {
      rto_ms_alert_path:
        'rto_ms is measured from a failover the bench starts right after the kill, not through Alertmanager → receiver → workflow',
    },
    setup: (ctx) => temporal.setup(ctx.log),
    run: (ctx) =>
      withScratchPair((pair) =>
        withWorker(temporal, pair, async (_worker, taskQueue): Promise<Sample> => {
          let killedAt = 0;
          const { result: report, writes } = await underWrites(pair, async () => {
            await pair.killPrimarySite();
            killedAt = Date.now();
            const handle = await startFailover(
              temporal.client,
              { pair: pair.pair, mode: 'unplanned', trigger: 'test', reason: 'bench', requestedBy: 'oncall' },
              { taskQueue },
            );
            const report = await approvingEachQuestion(handle);
            const promoted = promotedServer(report);
            return { result: report, ...(promoted ? { promoted } : {}) };
          });
          const rtoMs = Date.parse(report.finishedAt) - killedAt;
          const move = drillMove('failover', report);
          ctx.log(
            `unplanned: ${report.outcome}, kill → traffic verified ${rtoMs} ms; write outage ${writes.outageMs} ms`,
          );
          const completed = report.outcome === 'completed';
          return {
            figures: !completed
              ? {}
              : {
                  rto_ms: rtoMs,
                  unplanned_outage_ms: writes.outageMs,
                  ...(writes.lost !== undefined ? { unplanned_lost_writes: writes.lost } : {}),
                },
            failures:
              report.outcome === 'completed'
                ? []
                : [`the unplanned failover ended ${report.outcome}: ${report.sentence}`],
            timelines: [
              {
                contender: 'orchestrator unplanned',
                steps: drillSteps('failover', report.steps),
                ...(move.fenceWindow ? { fenceWindow: move.fenceWindow } : {}),
              },
            ],
          };
        }),
      ),
  };
}
