/**
 * A worker killed inside the fence window costs seconds: on a scratch DR pair served by two worker processes on one
 * task queue, a planned failover's MySQL fence is held inside the window (the old primary frozen with SIGSTOP, so
 * the fence's connect cannot end), the worker running the window (its steps are local activities of one workflow
 * task) is SIGKILLed, the primary thawed. The run must complete, the other worker taking the window over once the
 * move's workflow task timeout passes. How long that took is printed (a bench figure, not a pass/fail one).
 */
import type { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approve, pendingDecision, reportWithin, startPairFailover, timer } from './helpers/failover-e2e';
import { temporalClient, testTaskQueue } from './helpers/local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';
import { afterTheKill, freeze, workerHoldingTheRun } from './helpers/worker-kill';

describe('failover end to end: a worker SIGKILLed inside the fence window, another on the queue', () => {
  let pair: ScratchDrPair;
  let workers: WorkerProcess[] = [];
  let client: Client;
  let connection: Connection | undefined;
  let frozenPid: number | undefined;
  const taskQueue = testTaskQueue('e2e-worker-kill');
  const runs: { workflowId: string; runId: string }[] = [];

  beforeAll(async () => {
    const done = timer('worker kill: scratch pair and two workers up');
    pair = await startScratchDrPair({
      edit: (runbook) => {
        runbook.approval = { ...runbook.approval!, policy: 'auto' };
      },
    });
    workers = await Promise.all(
      [1, 2].map(() => startWorkerProcess({ runbookPath: pair.runbookPath, taskQueue })),
    );
    ({ client, connection } = await temporalClient());
    done();
  }, 180_000);

  afterAll(async () => {
    if (frozenPid !== undefined) process.kill(frozenPid, 'SIGCONT');
    await Promise.all(workers.map((w) => w.stop()));
    await pair?.close();
    await connection?.close();
  });

  it('completes, the window taken over by the other worker', async () => {
    const handle = await startPairFailover(client, pair.pair, 'planned', taskQueue, runs, {
      holdBeforeFence: true,
    });
    // Once warm, the run waits for the go: the old primary is frozen then, so the fence inside the window hangs.
    const hold = await pendingDecision(handle, 'approval', 60_000);
    expect(hold.question).toMatch(/is warm .*drain and fence gra now\?/);
    frozenPid = pair.cluster.pid('db-gra-1')!;
    await freeze(frozenPid);
    await approve(handle, 'cut over now');

    // The worker whose workflow task runs the window, held by the frozen fence.
    const killed = await workerHoldingTheRun(handle, workers);
    expect(killed, 'one of the two workers runs the fence window').toBeDefined();
    const other = workers.find((w) => w !== killed)!;
    killed!.kill('SIGKILL');
    expect(await killed!.stopped).toMatchObject({ signal: 'SIGKILL' });
    const killedAt = Date.now();
    process.kill(frozenPid, 'SIGCONT');
    frozenPid = undefined;

    const report = await reportWithin(handle, 120_000);
    expect(report.outcome).toBe('completed');
    expect(report.steps.find((s) => s.id === 'mysql.fence')?.state).toBe('done');
    const after = await afterTheKill(handle, killedAt);
    // The dead worker's workflow task timed out; the other worker took the run over and did the window again.
    expect(after.workflowTaskTimeouts).toBeGreaterThanOrEqual(1);
    expect(after.resumedBy).toMatch(new RegExp(`^${other.pid}@`));
    console.log(
      `[bench] worker killed inside the fence window: the other worker took the run over ${after.resumedAfterMs} ms after the kill; fence window ${report.fenceWindow?.ms} ms`,
    );
  }, 240_000);
});
