import type { Phase } from '../definitions';
import { view } from '../steps';
import type { FailoverRun } from './run';

const PHASE_ORDER: Phase[] = ['fence', 'prepare', 'promote', 'switch', 'verify'];

/** Plan: every system's steps in phase order, and what the move may lose. */
export async function makePlan(run: FailoverRun): Promise<void> {
  run.enter('plan');
  const { ctx } = run;
  const parts = [];
  for (const contribution of run.contributions) parts.push(await contribution.plan(ctx));
  const steps = parts.flatMap((p) => p.steps);
  run.steps = PHASE_ORDER.flatMap((phase) => steps.filter((s) => s.phase === phase));
  run.dataLoss = parts.flatMap((p) => (p.dataLoss ? [p.dataLoss] : []));
  const loss = run.dataLoss.map((d) => `${d.system}: ${d.sentence}`).join(' ');
  run.plan = {
    pair: ctx.settings.pair,
    mode: run.input.mode,
    from: ctx.from,
    to: ctx.to,
    steps: run.steps.map(view),
    dataLoss: run.dataLoss,
    sentence: `${run.steps.length} steps move ${ctx.settings.pair} from ${ctx.from} to ${ctx.to}; the point of no return is the promotion. Data loss: ${loss}`,
  };
  run.book.plan(run.plan.steps);
  run.say(run.plan.sentence);
}
