/**
 * A worker SIGKILLed inside the fence window of a planned failover (gra → rbx), two workers on the task queue as
 * production runs them: what the kill adds to the write outage, against the same failover without a kill in the
 * same run. Both contenders run on a fresh scratch pair with two worker processes, under the one writer (200 writes/s
 * through its public entry point), taking turns inside each run. The kill hits the worker that runs an activity
 * once the traffic drain is done (writes refused): its attempt is retried on the other worker once the heartbeat
 * timeout passes.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { sleep } from '../dev/stack/daemon';
import type { WorkerProcess } from '../test/helpers/worker-process';
import type { failover, FailoverReport } from '../workflows';
import { statusQuery, type Phase } from '../workflows/definitions';
import { FENCE_WINDOW_PHASES } from '../common/fence-window';
import { orchestratedFailover, orchestratedRun, type ContenderRun } from './planned-failover';
import { BenchTemporal, withScratchPair, withWorkers } from './temporal';
import type { RunContext, Sample, Scenario } from './scenario';
import { WRITES_PER_SECOND } from './writer';

/** What the kill hit: the activity, its worker, and when. */
interface Kill {
  activity: string;
  activityId: string;
  workerPid: number;
  at: number;
}

/** Where a kill's time went, read from the run's history. */
interface KillCost {
  /** The killed activity's last attempt (2 or more when it was retried on the other worker). */
  attempt?: number;
  /**
   * From the kill to the start of that attempt (heartbeat timeout, retry backoff, the other worker's poll); absent
   * when the activity had ended before the kill landed.
   */
  retryAfterMs?: number;
  /**
   * The workflow tasks the dead worker held, each as the timeout that freed it: `schedule-to-start` (waiting on its
   * sticky queue, 2 s) or `start-to-close` (it was running the task: the workflow task timeout, 10 s by default).
   */
  workflowTaskTimeouts: string[];
}

const { TimeoutType } = temporal.api.enums.v1;

const eventMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t ? Number(String(t.seconds)) * 1000 + Math.round((t.nanos ?? 0) / 1e6) : undefined;

async function killCost(handle: WorkflowHandle<typeof failover>, kill: Kill): Promise<KillCost> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityId === kill.activityId,
  );
  const started = events
    .filter(
      (e) =>
        scheduled &&
        e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString(),
    )
    .at(-1);
  const attempt = started?.activityTaskStartedEventAttributes?.attempt ?? undefined;
  // Attempt 1: the activity ended on the killed worker before the kill landed; nothing was retried.
  const retriedAt = attempt !== undefined && attempt > 1 ? eventMs(started?.eventTime) : undefined;
  return {
    ...(attempt !== undefined ? { attempt } : {}),
    ...(retriedAt !== undefined ? { retryAfterMs: retriedAt - kill.at } : {}),
    workflowTaskTimeouts: events.flatMap((e) => {
      const type = e.workflowTaskTimedOutEventAttributes?.timeoutType;
      if (type === undefined || type === null) return [];
      if (type === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START) return ['schedule-to-start'];
      return [type === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE ? 'start-to-close' : String(type)];
    }),
  };
}

/** The step the traffic drain is: once done, the old site takes no writes and the fence window has begun. */
const DRAIN_STEP = 'traffic.drain';

/**
 * Waits for the drain to be done, then SIGKILLs the worker that runs an activity (the first Temporal shows started
 * on a worker) while the run is inside the fence window; undefined when the window ended before one was seen.
 */
async function killInsideFenceWindow(
  handle: WorkflowHandle<typeof failover>,
  workers: WorkerProcess[],
): Promise<Kill | undefined> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await handle.query(statusQuery);
    if (status.steps.find((s) => s.id === DRAIN_STEP)?.state === 'done') break;
    if (status.phase === 'done' || Date.now() > deadline) return undefined;
    await sleep(10);
  }
  while (Date.now() < deadline) {
    const { raw } = await handle.describe();
    const running = raw.pendingActivities?.find((a) => a.lastStartedTime && a.lastWorkerIdentity);
    const worker = running && workers.find((w) => running.lastWorkerIdentity!.startsWith(`${w.pid}@`));
    if (worker) {
      worker.kill('SIGKILL');
      const at = Date.now();
      await worker.stopped;
      return {
        activity: running.activityType?.name ?? '?',
        activityId: running.activityId ?? '',
        workerPid: worker.pid,
        at,
      };
    }
    const { phase } = await handle.query(statusQuery);
    if (!FENCE_WINDOW_PHASES.includes(phase as Phase)) return undefined;
  }
  return undefined;
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
          const hit = kill ? await killInsideFenceWindow(handle, workers) : undefined;
          return hit && { hit, handle };
        },
      );
      if (!meanwhile) return { run: orchestratedRun(contender, report, writes) };
      const { hit, handle } = meanwhile;
      return {
        run: orchestratedRun(contender, report, writes),
        kill: hit,
        insideWindow: insideWindow(report, hit.at),
        cost: await killCost(handle, hit),
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
    description: `planned failover of a scratch DR pair at ${WRITES_PER_SECOND} writes/s with two workers on its queue: the worker running an activity inside the fence window SIGKILLed vs no kill`,
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
                ? `; killed worker ${hit.workerPid} running ${hit.activity} (${insideWindow ? 'inside' : 'outside'} the fence window); ${cost?.retryAfterMs !== undefined ? `its attempt ${cost.attempt} started ${cost.retryAfterMs} ms after the kill` : 'it had ended before the kill landed'}; workflow tasks freed from the dead worker by timeout: ${cost?.workflowTaskTimeouts.join(', ') || 'none'}`
                : '; no activity seen running inside the fence window: nothing killed, no figure'
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
