/**
 * A worker SIGKILLed inside the fence window of a planned failover (gra → rbx), two workers on the task queue as
 * production runs them: what the kill adds to the write outage, against the same failover without a kill in the
 * same run. Both contenders run on a fresh scratch pair with two worker processes, under the one writer (200 writes/s
 * through its public entry point), taking turns inside each run. The window's steps are local activities of one
 * workflow task: the killed run holds before its fence, its old primary is frozen (SIGSTOP), the go is given, the
 * worker running the window's workflow task is killed once it has held it 300 ms, and the primary thawed; the other
 * worker takes the run over once the move's workflow task timeout passes.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { sleep } from '../dev/stack/daemon';
import { answer } from '../test/helpers/answers';
import { TEST_APPROVER } from '../test/helpers/approver';
import type { ScratchDrPair } from '../test/helpers/scratch-dr-pair';
import { afterTheKill, freeze, workerHoldingTheRun } from '../test/helpers/worker-kill';
import type { WorkerProcess } from '../test/helpers/worker-process';
import type { failover, FailoverReport } from '../workflows';
import { approveUpdate, statusQuery } from '../workflows/definitions';
import { orchestratedFailover, orchestratedRun, type ContenderRun } from './planned-failover';
import { BenchTemporal, withScratchPair, withWorkers } from './temporal';
import type { RunContext, Sample, Scenario } from './scenario';
import { WRITES_PER_SECOND } from './writer';

/** What the kill hit: the worker, and when. */
interface Kill {
  workerPid: number;
  at: number;
}

/** Where a kill's time went, read from the run's history. */
interface KillCost {
  /** From the kill to the other worker's start of the run's next workflow task. */
  retryAfterMs?: number;
  /** How many workflow tasks timed out (the dead worker's). */
  workflowTaskTimeouts: number;
}

/**
 * Waits for the hold before the fence, freezes the old primary, gives the go, kills the worker that runs the
 * window's workflow task and thaws the primary; undefined when no worker was seen holding the run.
 */
async function killInsideFenceWindow(
  handle: WorkflowHandle<typeof failover>,
  workers: WorkerProcess[],
  pair: ScratchDrPair,
): Promise<Kill | undefined> {
  const deadline = Date.now() + 60_000;
  while ((await handle.query(statusQuery)).pending?.question.includes('is warm') !== true) {
    if (Date.now() > deadline) return undefined;
    await sleep(20);
  }
  const primary = pair.cluster.pid('db-gra-1')!;
  await freeze(primary);
  try {
    await answer(handle, approveUpdate, TEST_APPROVER.name, 'bench: cut over now');
    const worker = await workerHoldingTheRun(handle, workers);
    if (!worker) return undefined;
    worker.kill('SIGKILL');
    const at = Date.now();
    await worker.stopped;
    return { workerPid: worker.pid, at };
  } finally {
    process.kill(primary, 'SIGCONT');
  }
}

interface KillRun {
  run: ContenderRun;
  kill?: Kill;
  /** Whether the kill fell inside the run's fence window as its report measured it. */
  insideWindow?: boolean;
  cost?: KillCost;
}

async function failoverWithTwoWorkers(temporal: BenchTemporal, kill: boolean): Promise<KillRun> {
  const contender = kill ? 'orchestrator, worker killed' : 'orchestrator, two workers';
  return withScratchPair((pair) =>
    withWorkers(temporal, pair, 2, async (workers, taskQueue) => {
      const { report, writes, meanwhile } = await orchestratedFailover(
        temporal,
        pair,
        taskQueue,
        async (handle) => {
          const hit = kill ? await killInsideFenceWindow(handle, workers, pair) : undefined;
          return hit && { hit, handle };
        },
        { holdBeforeFence: kill },
      );
      if (!meanwhile) return { run: orchestratedRun(contender, report, writes) };
      const { hit, handle } = meanwhile;
      const after = await afterTheKill(handle, hit.at);
      return {
        run: orchestratedRun(contender, report, writes),
        kill: hit,
        insideWindow: insideWindow(report, hit.at),
        cost: {
          ...(after.resumedAfterMs !== undefined ? { retryAfterMs: after.resumedAfterMs } : {}),
          workflowTaskTimeouts: after.workflowTaskTimeouts,
        },
      };
    }),
  );
}

function insideWindow(report: FailoverReport, at: number): boolean | undefined {
  const w = report.fenceWindow;
  return w ? Date.parse(w.startedAt) <= at && at <= Date.parse(w.endedAt) : undefined;
}

/** Correctness only: a run that did not complete, or lost an acknowledged write. */
function failuresOf(name: string, run: ContenderRun): string[] {
  return [
    ...run.failures,
    ...(run.writes.lost === undefined ? ['the lost writes could not be counted'] : []),
    ...(run.writes.lost ? [`lost ${run.writes.lost} acknowledged writes`] : []),
  ].map((f) => `${name}: ${f}`);
}

export function workerKillScenario(temporal: BenchTemporal): Scenario {
  return {
    name: 'worker-kill',
    description: `planned failover of a scratch DR pair at ${WRITES_PER_SECOND} writes/s with two workers on its queue: the worker running the fence window SIGKILLed vs no kill`,
    setup: (ctx) => temporal.setup(ctx.log),
    async run(ctx: RunContext): Promise<Sample> {
      const sample: Sample = { figures: {}, failures: [], timelines: [] };
      const outages: { baseline?: number; killed?: number } = {};
      // Each run starts with the other contender, so that neither always runs first on a cold machine.
      for (const kill of ctx.run % 2 === 0 ? [true, false] : [false, true]) {
        const { run, kill: hit, insideWindow, cost } = await failoverWithTwoWorkers(temporal, kill);
        const name = run.timeline.contender;
        ctx.log(
          `${name}: ${run.ms} ms; longest write gap ${run.writes.outageMs} ms; lost ${run.writes.lost ?? '?'} of ${run.writes.acknowledged}` +
            (kill
              ? hit
                ? `; killed worker ${hit.workerPid} running the window's workflow task (${insideWindow ? 'inside' : 'outside'} the fence window); the other worker took the run over ${cost?.retryAfterMs ?? '?'} ms after the kill; workflow tasks timed out: ${cost?.workflowTaskTimeouts ?? 0}`
                : '; no worker seen holding the run inside the fence window: nothing killed, no figure'
              : ''),
        );
        sample.failures.push(...failuresOf(name, run));
        sample.timelines!.push(run.timeline);
        // A run that did not complete gives no figure, nor one whose kill missed the window.
        if (run.failures.length > 0 || (kill && !(hit && insideWindow))) continue;
        const prefix = kill ? 'worker_kill_' : 'worker_kill_baseline_';
        sample.figures[`${prefix}failover_ms`] = run.ms;
        sample.figures[`${prefix}lost_writes`] = run.writes.lost ?? NaN;
        sample.figures[`${prefix}fence_window_ms`] = run.extra.fence_window_ms ?? NaN;
        if (kill) {
          sample.figures.outage_worker_kill_ms = outages.killed = run.writes.outageMs;
          if (cost?.retryAfterMs !== undefined) sample.figures.worker_kill_retry_after_ms = cost.retryAfterMs;
        } else sample.figures.worker_kill_baseline_outage_ms = outages.baseline = run.writes.outageMs;
      }
      if (outages.baseline !== undefined && outages.killed !== undefined)
        sample.figures.worker_kill_added_ms = outages.killed - outages.baseline;
      return sample;
    },
  };
}
