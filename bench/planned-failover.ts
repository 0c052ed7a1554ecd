/**
 * A planned failover of a scratch DR pair through Temporal (the real worker as a process, auto approval) under a
 * write load of 200 writes/s through the pair's public entry point: the run's time from approval to traffic
 * verified, the write outage the client saw (longest stretch without an acknowledged write), the acknowledged
 * writes missing on the promoted server (by id), the fence window, and the worker's peak RSS. A fresh pair per
 * run, so that every run moves the same way (gra → rbx).
 */
import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFailover } from '../client/failover';
import { waitFor } from '../dev/stack/daemon';
import type { FrontendWriteLoad } from '../dev/write-load';
import { startScratchDrPair, type ScratchDrPair } from '../test/helpers/scratch-dr-pair';
import { startWorkerProcess, temporalAddress, type WorkerProcess } from '../test/helpers/worker-process';
import { bundleWorkflows } from '../worker/bundle';
import { drillMove, drillSteps, promotedServer } from '../workflows/checks/drill-figures';
import type { FailoverReport } from '../workflows';
import { peakRssMb, type RunContext, type Sample, type Scenario } from './scenario';

const WRITES_PER_SECOND = 200;

const acknowledgedBy = (load: FrontendWriteLoad, site: string, since = 0) =>
  load.records.filter((r) => r.outcome === 'acknowledged' && r.server === site && r.at >= since).length;

export function plannedFailoverScenario(): Scenario {
  let bundle = '';
  let connection: Connection | undefined;
  let client: Client | undefined;
  return {
    name: 'planned-failover',
    description: `planned failover of a scratch DR pair through Temporal, ${WRITES_PER_SECOND} writes/s through its frontend`,
    async setup(ctx) {
      bundle = path.join(os.tmpdir(), `dr-bench-workflows-${randomUUID().slice(0, 8)}.js`);
      ctx.log(`bundling the workflows into ${bundle}`);
      await bundleWorkflows(bundle);
      connection = await Connection.connect({ address: temporalAddress() });
      client = new Client({ connection, namespace: 'default' });
    },
    run: (ctx) => runOnce(ctx, client!, bundle),
    async teardown() {
      await connection?.close();
      if (bundle) rmSync(bundle, { force: true });
    },
  };
}

async function runOnce(ctx: RunContext, client: Client, bundle: string): Promise<Sample> {
  let pair: ScratchDrPair | undefined;
  let worker: WorkerProcess | undefined;
  try {
    pair = await startScratchDrPair({
      edit: (runbook) => {
        runbook.approval = { ...runbook.approval!, policy: 'auto' };
      },
    });
    const taskQueue = `bench-${pair.pair}`;
    worker = await startWorkerProcess({ runbookPath: pair.runbookPath, taskQueue, workflowBundle: bundle });
    return await failoverUnderWrites(ctx, client, pair, worker, taskQueue);
  } finally {
    await worker?.stop();
    await pair?.close();
  }
}

async function failoverUnderWrites(
  ctx: RunContext,
  client: Client,
  pair: ScratchDrPair,
  worker: WorkerProcess,
  taskQueue: string,
): Promise<Sample> {
  const load = pair.writeLoad({
    ratePerSecond: WRITES_PER_SECOND,
    maxInFlight: 1000,
    requestTimeoutMs: 10_000,
  });
  load.start();
  try {
    await waitFor('gra acknowledges 100 writes', async () => acknowledgedBy(load, 'gra') >= 100, 30_000);
    const handle = await startFailover(
      client,
      { pair: pair.pair, mode: 'planned', trigger: 'test', reason: 'bench', requestedBy: 'oncall' },
      { taskQueue },
    );
    const report = (await handle.result()) as FailoverReport;
    const finishedAt = Date.now();
    if (report.outcome === 'completed')
      await waitFor(
        'rbx acknowledges 50 writes',
        async () => acknowledgedBy(load, 'rbx', finishedAt) >= 50,
        30_000,
      );
    const summary = await load.stop();
    const promoted = promotedServer(report);
    const lost = promoted ? (await load.verify(promoted)).lost.length : undefined;
    const move = drillMove('failover', report);
    const rss = await peakRssMb(worker.pid);
    ctx.log(
      `planned failover ${report.outcome} in ${move.rtoMs} ms; longest write gap ${summary.longestGapMs} ms; lost ${lost ?? '?'} of ${summary.acknowledged}`,
    );
    const figures: Record<string, number> = {
      failover_ms: move.rtoMs ?? NaN,
      outage_ms: summary.longestGapMs,
      write_rate_per_s: summary.achievedRatePerSecond,
      ...(lost !== undefined ? { planned_lost_writes: lost } : {}),
      ...(move.fenceWindow
        ? { fence_window_ms: Date.parse(move.fenceWindow.to) - Date.parse(move.fenceWindow.from) }
        : {}),
      ...(rss !== undefined ? { worker_peak_rss_mb: rss } : {}),
    };
    const failures = [
      ...(report.outcome === 'completed'
        ? []
        : [`the planned failover ended ${report.outcome}: ${report.sentence}`]),
      ...(lost === undefined ? ['the lost writes could not be counted (no promoted server)'] : []),
      ...(lost ? [`the planned failover lost ${lost} acknowledged writes`] : []),
    ];
    return {
      figures,
      failures,
      timelines: [
        {
          contender: 'orchestrator',
          steps: drillSteps('failover', report.steps),
          ...(move.fenceWindow ? { fenceWindow: move.fenceWindow } : {}),
        },
      ],
    };
  } finally {
    await load.stop();
  }
}
