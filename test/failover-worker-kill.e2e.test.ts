/**
 * A worker killed inside the fence window costs seconds: on a scratch DR pair served by two worker processes on one
 * task queue, a planned failover's MySQL fence is held inside the window (the old primary frozen with SIGSTOP, so
 * the fence's connect cannot end), the worker running it is SIGKILLed, the primary thawed. The run must complete,
 * the fence's next attempt running on the other worker once the heartbeat timeout passes. How long the fence step
 * and the window took is printed (a bench figure, not a pass/fail one).
 */
import type { Client, Connection } from '@temporalio/client';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportWithin, startPairFailover, timer, waitForStatus } from './helpers/failover-e2e';
import { temporalClient, testTaskQueue } from './helpers/local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';

/** Whether every thread of `pid` is stopped (SIGSTOP reached them all). */
function allThreadsStopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((tid) =>
    /^\S+ \(.*\) [Tt] /s.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')),
  );
}

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

  it('completes, the killed fence retried on the other worker', async () => {
    const handle = await startPairFailover(client, pair.pair, 'planned', taskQueue, runs);
    // Once the warm-up has read the primary for the last time, freeze it: the fence inside the window then hangs.
    await waitForStatus(
      handle,
      'the MySQL warm-up done',
      (s) => s.steps.find((step) => step.id === 'mysql.warm-up')?.state === 'done',
      60_000,
    );
    frozenPid = pair.cluster.pid('db-gra-1')!;
    process.kill(frozenPid, 'SIGSTOP');
    const deadline = Date.now() + 10_000;
    while (!allThreadsStopped(frozenPid) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));

    // The worker that runs the fence's first attempt.
    let identity: string | undefined;
    const found = Date.now() + 30_000;
    while (!identity && Date.now() < found) {
      const { raw } = await handle.describe();
      const fence = raw.pendingActivities?.find((a) => a.activityType?.name === 'mysqlFence');
      if (fence?.lastWorkerIdentity && fence.lastStartedTime) identity = fence.lastWorkerIdentity;
      else await new Promise((r) => setTimeout(r, 20));
    }
    expect(identity, 'a worker runs the fence').toBeDefined();
    const killed = workers.find((w) => identity!.startsWith(`${w.pid}@`))!;
    const other = workers.find((w) => w !== killed)!;
    expect(killed, `the worker ${identity} is one of the test's`).toBeDefined();
    killed.kill('SIGKILL');
    expect(await killed.stopped).toMatchObject({ signal: 'SIGKILL' });
    const killedAt = Date.now();
    process.kill(frozenPid, 'SIGCONT');
    frozenPid = undefined;

    const report = await reportWithin(handle, 120_000);
    expect(report.outcome).toBe('completed');
    const { events } = await handle.fetchHistory();
    const scheduled = events!.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'mysqlFence',
    )!;
    const starts = events!.filter(
      (e) =>
        e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString(),
    );
    // The history keeps the last attempt's start: on the other worker, not the first attempt.
    const last = starts.at(-1)!.activityTaskStartedEventAttributes!;
    expect(last.attempt).toBeGreaterThanOrEqual(2);
    expect(last.identity).toMatch(new RegExp(`^${other.pid}@`));
    const fence = report.steps.find((s) => s.id === 'mysql.fence')!;
    expect(fence.state).toBe('done');
    const time = starts.at(-1)!.eventTime!;
    const retryStartedAt = Number(String(time.seconds)) * 1000 + Math.round((time.nanos ?? 0) / 1e6);
    console.log(
      `[bench] worker killed inside the fence window: mysql.fence took ${fence.durationMs} ms (attempt ${last.attempt} on the other worker, started ${retryStartedAt - killedAt} ms after the kill); fence window ${report.fenceWindow?.ms} ms`,
    );
  }, 240_000);
});
