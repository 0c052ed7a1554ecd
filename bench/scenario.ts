import type { DrillStep } from '../common/drill-report';

export interface RunContext {
  /** One run, small sizes. */
  smoke: boolean;
  /** 0-based number of this run of the scenario. */
  run: number;
  log(line: string): void;
}

/** One contender's steps in one run, for the chart (the fence window is drawn behind them). */
export interface ContenderTimeline {
  contender: string;
  steps: DrillStep[];
  fenceWindow?: { from: string; to: string };
}

/** What one run of a scenario measured: its figures (ms, counts, MB), what went wrong, and its timelines. */
export interface Sample {
  figures: Record<string, number>;
  /** Each sentence makes the bench exit non-zero: a contender failed or lost a write it should not have. */
  failures: string[];
  /** What the JSON should say without failing the bench, e.g. a loss no larger than the reference tool's. */
  notes?: string[];
  timelines?: ContenderTimeline[];
}

/**
 * A bench scenario: `setup` once, `run` once per run (each run alternates the scenario's contenders inside it, so
 * that the machine's noise hits them alike), `teardown` once. `notMeasured` names the figures it cannot give, and why.
 */
export interface Scenario {
  name: string;
  description: string;
  setup?(ctx: RunContext): Promise<void>;
  run(ctx: RunContext): Promise<Sample>;
  teardown?(): Promise<void>;
  notMeasured?: Record<string, string>;
}

/**
 * Runs each of `moves` once, one after the other, starting with the next one at each run (so that none always runs
 * first on a cold machine), and merges their samples.
 */
export async function inTurns(ctx: RunContext, moves: (() => Promise<Sample>)[]): Promise<Sample> {
  const merged: Sample = { figures: {}, failures: [], timelines: [] };
  for (let i = 0; i < moves.length; i++) {
    const sample = await moves[(ctx.run + i) % moves.length]!();
    Object.assign(merged.figures, sample.figures);
    merged.failures.push(...sample.failures);
    merged.timelines!.push(...(sample.timelines ?? []));
  }
  return merged;
}

/** The peak resident set of a process so far (Linux `VmHWM`), in MB; undefined when it cannot be read. */
export async function peakRssMb(pid: number): Promise<number | undefined> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = status?.match(/^VmHWM:\s+(\d+) kB/m)?.[1];
  return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
}
