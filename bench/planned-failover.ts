/**
 * The planned failover (gra → rbx) of a scratch DR pair under the one writer (200 writes/s through its public
 * entry point), by three contenders taking turns inside each run, each on a fresh pair: the orchestrator through
 * Temporal (its worker as a process, auto approval), the hand script (the same activity functions called one after
 * the other, no Temporal), and the direct critical path (the same functions, independent ones in parallel).
 */
import type { WorkflowHandle } from '@temporalio/client';
import { startFailover } from '../client/failover';
import { currentBuild } from '../dev/stack/daemon';
import type { ScratchDrPair } from '../test/helpers/scratch-dr-pair';
import type { failover, FailoverReport } from '../workflows';
import { drillMove, drillSteps, promotedServer } from '../workflows/checks/drill-figures';
import { directFailover } from './hand-script';
import { BenchTemporal, withScratchPair, withWorker, type PairShape } from './temporal';
import {
  inTurns,
  peakRssMb,
  type ContenderTimeline,
  type RunContext,
  type Sample,
  type Scenario,
} from './scenario';
import { underWrites, WRITES_PER_SECOND, type WritesDuringMove } from './writer';

export interface ContenderRun {
  ms: number;
  /** Figures of this contender only (e.g. the worker's peak RSS). */
  extra: Record<string, number>;
  timeline: ContenderTimeline;
  failures: string[];
  writes: WritesDuringMove;
}

export interface Contender {
  name: string;
  /** Prefix of its figures: `<prefix>ms`, `<prefix>outage_ms`, `<prefix>lost_writes`. */
  prefix: string;
  move(pair: ScratchDrPair): Promise<ContenderRun>;
}

/**
 * The planned failover of `pair` through Temporal (auto approval) under the writer; `meanwhile` runs beside the run
 * from its start (e.g. a worker killed inside its fence window) and the run's end is awaited after it.
 */
export async function orchestratedFailover<M>(
  temporal: BenchTemporal,
  pair: ScratchDrPair,
  taskQueue: string,
  meanwhile: (handle: WorkflowHandle<typeof failover>) => Promise<M>,
  options: { holdBeforeFence?: boolean } = {},
): Promise<{ report: FailoverReport; writes: WritesDuringMove; meanwhile: M }> {
  const { result, writes } = await underWrites(pair, async () => {
    const handle = await startFailover(
      temporal.client,
      {
        pair: pair.pair,
        mode: 'planned',
        trigger: 'test',
        reason: 'bench',
        requestedBy: 'oncall',
        ...options,
      },
      { taskQueue },
    );
    const during = await meanwhile(handle);
    const report = (await handle.result()) as FailoverReport;
    const promoted = promotedServer(report);
    return { result: { report, during }, ...(promoted ? { promoted } : {}) };
  });
  return { report: result.report, writes, meanwhile: result.during };
}

/** A contender's run from an orchestrated failover's report: its time, fence window, timeline and failure. */
export function orchestratedRun(
  contender: string,
  report: FailoverReport,
  writes: WritesDuringMove,
  extra: Record<string, number> = {},
): ContenderRun {
  const move = drillMove('failover', report);
  return {
    ms: move.rtoMs ?? NaN,
    extra: { ...extra, ...(move.fenceWindow ? { fence_window_ms: windowMs(move.fenceWindow) } : {}) },
    timeline: {
      contender,
      steps: drillSteps('failover', report.steps),
      ...(move.fenceWindow ? { fenceWindow: move.fenceWindow } : {}),
    },
    failures: report.outcome === 'completed' ? [] : [`ended ${report.outcome}: ${report.sentence}`],
    writes,
  };
}

/**
 * The worker's peak RSS is `worker_peak_rss_mb` when it runs compiled (dist/ current), as operators run it; from its
 * TypeScript sources (tsx compiling each module as it loads) it holds about 45 MB more, and the figure says so.
 */
const workerRssFigure = () =>
  currentBuild() === undefined ? 'worker_peak_rss_mb_from_sources' : 'worker_peak_rss_mb';

/** Why `worker_peak_rss_mb` is missing when the bench starts without a current build. */
export function workerRssNotMeasured(): Record<string, string> {
  return currentBuild() === undefined
    ? {
        worker_peak_rss_mb:
          'no current build (npm run build): the worker ran from its sources under tsx, given as worker_peak_rss_mb_from_sources',
      }
    : {};
}

export function orchestrator(temporal: BenchTemporal): Contender {
  return {
    name: 'orchestrator',
    prefix: 'failover_',
    move: (pair) =>
      withWorker(temporal, pair, async (worker, taskQueue) => {
        const { report, writes } = await orchestratedFailover(
          temporal,
          pair,
          taskQueue,
          async () => undefined,
        );
        const rss = await peakRssMb(worker.pid);
        return orchestratedRun(
          'orchestrator',
          report,
          writes,
          rss !== undefined ? { [workerRssFigure()]: rss } : {},
        );
      }),
  };
}

export function direct(name: string, prefix: string, parallel: boolean): Contender {
  return {
    name,
    prefix,
    async move(pair) {
      const { result, writes } = await underWrites(pair, async () => {
        const result = await directFailover(pair, parallel);
        return { result, promoted: result.promoted };
      });
      return {
        ms: result.ms,
        extra: { [`${prefix}fence_window_ms`]: windowMs(result.fenceWindow) },
        timeline: { contender: name, steps: result.steps, fenceWindow: result.fenceWindow },
        failures: [],
        writes,
      };
    },
  };
}

const windowMs = (w: { from: string; to: string }) => Date.parse(w.to) - Date.parse(w.from);

/** Figure names: the orchestrator's keep the names (failover_ms, outage_ms, planned_lost_writes). */
function figuresOf(contender: Contender, run: ContenderRun): Record<string, number> {
  const own = contender.prefix === 'failover_';
  return {
    [own ? 'failover_ms' : `${contender.prefix}ms`]: run.ms,
    [own ? 'outage_ms' : `${contender.prefix}outage_ms`]: run.writes.outageMs,
    [own ? 'planned_lost_writes' : `${contender.prefix}lost_writes`]: run.writes.lost ?? NaN,
    [`${contender.prefix}write_rate_per_s`]: run.writes.ratePerSecond,
    ...run.extra,
  };
}

/**
 * One contender's move on a fresh pair of `shape`; its figures carry `suffix` (e.g. `_200`: failover_ms_200), so
 * that moves of pairs of several shapes can be told apart in one report.
 */
export async function runContender(
  ctx: RunContext,
  contender: Contender,
  shape: PairShape,
  suffix = '',
): Promise<Sample> {
  return withScratchPair(async (pair) => {
    const run = await contender.move(pair);
    ctx.log(
      `${contender.name}${suffix}: ${run.ms} ms; longest write gap ${run.writes.outageMs} ms; lost ${run.writes.lost ?? '?'} of ${run.writes.acknowledged}`,
    );
    const failures = [
      ...run.failures,
      ...(run.writes.lost === undefined ? ['the lost writes could not be counted'] : []),
      ...(run.writes.lost ? [`lost ${run.writes.lost} acknowledged writes`] : []),
    ].map((f) => `${contender.name}${suffix}: ${f}`);
    // A run that did not complete gives no figure: its time and outage are not a failover's.
    const figures = run.failures.length > 0 ? {} : figuresOf(contender, run);
    return {
      figures: Object.fromEntries(
        Object.entries(figures).map(([name, value]) => [`${name}${suffix}`, value]),
      ),
      failures,
      timelines: [{ ...run.timeline, contender: `${run.timeline.contender}${suffix}` }],
    };
  }, shape);
}

/** Runs each contender once, on a fresh pair of its shape each, taking turns (see inTurns). */
export function takingTurns(
  ctx: RunContext,
  turns: { contender: Contender; shape: PairShape; suffix?: string }[],
): Promise<Sample> {
  return inTurns(
    ctx,
    turns.map((t) => () => runContender(ctx, t.contender, t.shape, t.suffix)),
  );
}

/** The planned failover's pair: 2 follower indices (the small size), the scratch pair's 2 standby replicas. */
const PLANNED_PAIR: PairShape = { followerIndices: 2 };

export function plannedFailoverScenario(temporal: BenchTemporal): Scenario {
  const contenders = [
    orchestrator(temporal),
    direct('hand script', 'script_', false),
    direct('direct critical path', 'direct_critical_path_', true),
  ];
  return {
    name: 'planned-failover',
    description: `planned failover of a scratch DR pair (2 follower indices) at ${WRITES_PER_SECOND} writes/s through its frontend: orchestrator vs hand script vs direct critical path`,
    notMeasured: {
      ...workerRssNotMeasured(),
    },
    setup: (ctx) => temporal.setup(ctx.log),
    run: (ctx) =>
      takingTurns(
        ctx,
        contenders.map((contender) => ({ contender, shape: PLANNED_PAIR })),
      ),
  };
}
