import { sleep } from '@temporalio/workflow';
import { judgePrimaryDown, type PrimaryDownVerdict } from '../checks/primary-down';
import type { Observation } from '../systems/system';
import type { FailoverRun } from './run';

export type Assessment = { go: true } | { go: false; outcome: 'not-needed' | 'refused'; sentence: string };

/**
 * Assess: in unplanned mode, is the primary really down (holistic detection over `probes.fall` rounds)? In any
 * mode, can the standby take over (each system's checks)?
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

/** Observes the primary from every vantage, `fall` rounds `interval` apart; stops at the first round that is not "down". */
async function detectPrimaryDown(run: FailoverRun): Promise<PrimaryDownVerdict> {
  const { fall, intervalMs } = run.ctx.settings.probes;
  const rounds: Observation[][] = [];
  for (let i = 0; i < fall; i++) {
    if (i > 0) await sleep(intervalMs);
    const round = (await Promise.all(run.contributions.map((c) => c.observe(run.ctx)))).flat();
    rounds.push(round);
    run.findings.push(round);
    const thisRound = judgePrimaryDown([round], 1);
    run.say(`detection round ${i + 1} of ${fall}: ${thisRound.down ? 'primary down' : 'primary not down'}.`);
    if (!thisRound.down) return thisRound;
  }
  return judgePrimaryDown(rounds, fall);
}
