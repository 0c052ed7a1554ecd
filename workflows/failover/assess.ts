import { patched, sleep } from '@temporalio/workflow';
import {
  judgePrimaryDown,
  legacyJudgePrimaryDown,
  roundSummary,
  type PrimaryDownVerdict,
} from '../checks/primary-down';
import type { System } from '../definitions';
import type { Observation } from '../systems/system';
import type { FailoverRun } from './run';

/** Runs that judge each system of the primary by its own witnesses, and observe the traffic switch too. */
export const PER_SYSTEM_DETECTION_PATCH = 'per-system-detection';

export type Assessment = { go: true } | { go: false; outcome: 'not-needed' | 'refused'; sentence: string };

/**
 * Assess: in unplanned mode, is a critical system of the primary site really down (each system judged by the worker
 * and its own witnesses, over `probes.fall` rounds)? In any mode, can the standby take over (each system's checks)?
 */
export async function assess(run: FailoverRun): Promise<Assessment> {
  run.enter('assess');
  const { ctx } = run;
  run.say(
    `${run.title} of pair ${ctx.settings.pair} from ${ctx.from} to ${ctx.to} asked by ${run.input.requestedBy} (${run.input.trigger}): ${run.input.reason}`,
  );
  if (run.input.mode === 'unplanned') {
    const verdict = await detectPrimaryDown(run);
    if (!verdict.down)
      return { go: false, outcome: 'not-needed', sentence: `not failing over: ${verdict.sentence}` };
    run.say(verdict.sentence);
    run.seenDown = seenDownEverywhere(run.findings);
  }
  const checks = (await Promise.all(run.contributions.map((c) => c.assess(ctx)))).flat();
  run.checks.push(...checks);
  const failed = checks.filter((c) => !c.ok);
  for (const check of failed) run.say(`not ready: ${check.sentence}`);
  if (failed.length > 0)
    return {
      go: false,
      outcome: 'refused',
      sentence: `refusing to fail over: ${failed.length} of ${checks.length} checks fail, first: ${failed[0]!.sentence}`,
    };
  run.say(`the standby ${ctx.to} can take over: all ${checks.length} checks pass.`);
  return { go: true };
}

/**
 * Observes the primary site from every vantage, `fall` rounds `interval` apart, and judges each system by its own
 * witnesses; stops at the first round after which no critical system has been down in every round.
 */
async function detectPrimaryDown(run: FailoverRun): Promise<PrimaryDownVerdict> {
  if (!patched(PER_SYSTEM_DETECTION_PATCH)) return legacyDetectPrimaryDown(run);
  const { settings } = run.ctx;
  const { fall, intervalMs } = settings.probes;
  const critical = settings.detection?.critical ?? run.contributions.map((c) => c.system);
  const rounds: Observation[][] = [];
  let verdict: PrimaryDownVerdict | undefined;
  for (let i = 0; i < fall; i++) {
    if (i > 0) await sleep(intervalMs);
    const round = (
      await Promise.all(run.contributions.map((c) => c.observe(run.ctx, { perSystem: true })))
    ).flat();
    rounds.push(round);
    run.findings.push(round);
    verdict = judgePrimaryDown(rounds, rounds.length, critical);
    run.say(`detection round ${i + 1} of ${fall}: ${roundSummary(verdict.systems ?? [])}.`);
    if (!verdict.down) return verdict;
  }
  return verdict!;
}

/** Detection as runs started before per-system detection made it (one judgement for the whole site), kept for replay. */
async function legacyDetectPrimaryDown(run: FailoverRun): Promise<PrimaryDownVerdict> {
  const { fall, intervalMs } = run.ctx.settings.probes;
  const rounds: Observation[][] = [];
  for (let i = 0; i < fall; i++) {
    if (i > 0) await sleep(intervalMs);
    const round = (
      await Promise.all(run.contributions.map((c) => c.observe(run.ctx, { perSystem: false })))
    ).flat();
    rounds.push(round);
    run.findings.push(round);
    const thisRound = legacyJudgePrimaryDown([round], 1);
    run.say(`detection round ${i + 1} of ${fall}: ${thisRound.down ? 'primary down' : 'primary not down'}.`);
    if (!thisRound.down) return thisRound;
  }
  return legacyJudgePrimaryDown(rounds, fall);
}

/** The systems every vantage saw down in every round (a vantage that could not tell does not count as down). */
export function seenDownEverywhere(rounds: Observation[][]): System[] {
  const observations = rounds.flat();
  const systems = [...new Set(observations.flatMap((o) => (o.system ? [o.system] : [])))];
  return systems.filter((system) =>
    observations.filter((o) => o.system === system).every((o) => o.down === true),
  );
}
