/**
 * A worker killed inside a planned failover's fence window, for the end-to-end test and the bench: the window's
 * steps run as local activities inside one workflow task, so the window is held open by freezing the old primary
 * (its fence cannot end), and the worker that runs that workflow task is the one killed.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { readdirSync, readFileSync } from 'node:fs';
import type { WorkerProcess } from './worker-process';

const { PendingWorkflowTaskState } = temporal.api.enums.v1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether every thread of `pid` is stopped (SIGSTOP reached them all). */
function allThreadsStopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((tid) =>
    /^\S+ \(.*\) [Tt] /s.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')),
  );
}

/** SIGSTOPs `pid` and waits (up to 10 s) until every thread of it is stopped. */
export async function freeze(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const deadline = Date.now() + 10_000;
  while (!allThreadsStopped(pid) && Date.now() < deadline) await sleep(10);
}

/**
 * The worker running the run's workflow task once that task has run for `heldMs` (it waits for a step that cannot
 * end, e.g. the fence of a frozen primary): the identity of the task's start in the history. Undefined if none
 * within `timeoutMs`.
 */
export async function workerHoldingTheRun(
  handle: WorkflowHandle,
  workers: WorkerProcess[],
  heldMs = 300,
  timeoutMs = 30_000,
): Promise<WorkerProcess | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const task = (await handle.describe()).raw.pendingWorkflowTask;
    const startedAt = optionalTsToMs(task?.startedTime);
    if (task?.state === PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED && startedAt)
      if (Date.now() - startedAt >= heldMs) {
        const events = (await handle.fetchHistory()).events ?? [];
        const identity = events.filter((e) => e.workflowTaskStartedEventAttributes).at(-1)
          ?.workflowTaskStartedEventAttributes?.identity;
        return workers.find((w) => identity?.startsWith(`${w.pid}@`));
      }
    await sleep(20);
  }
  return undefined;
}

/**
 * After a worker was killed at `killedAt`: when the next workflow task started (on another worker), and by whom; the
 * timeouts that freed the tasks the dead worker held.
 */
export async function afterTheKill(
  handle: WorkflowHandle,
  killedAt: number,
): Promise<{ resumedAfterMs?: number; resumedBy?: string; workflowTaskTimeouts: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const resumed = events.find(
    (e) => e.workflowTaskStartedEventAttributes && (optionalTsToMs(e.eventTime) ?? 0) > killedAt,
  );
  const at = optionalTsToMs(resumed?.eventTime);
  return {
    ...(at !== undefined ? { resumedAfterMs: at - killedAt } : {}),
    ...(resumed ? { resumedBy: resumed.workflowTaskStartedEventAttributes!.identity ?? '' } : {}),
    workflowTaskTimeouts: events.filter((e) => e.workflowTaskTimedOutEventAttributes).length,
  };
}
