import { FENCE_WINDOW_PHASES } from '../../common/fence-window';
import type { Phase } from '../definitions';
import { view, type PlanStep } from '../steps';
import type { FailoverRun } from './run';

const PHASE_ORDER: Phase[] = ['warm-up', 'fence', 'prepare', 'promote', 'switch', 'verify'];

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
    sentence: `${run.steps.length} steps move ${ctx.settings.pair} from ${ctx.from} to ${ctx.to}; ${windowClause(run.steps)}the point of no return is the promotion. Data loss: ${loss}`,
  };
  run.book.plan(run.plan.steps);
  run.say(run.plan.sentence);
  for (const note of parts.flatMap((p) => p.notes ?? [])) run.say(note);
}

/**
 * What runs before the write outage and what runs inside the fence window, for a plan that warms up (runs with the
 * fence window); nothing for the others.
 */
function windowClause(steps: PlanStep[]): string {
  const warm = steps.filter((s) => s.phase === 'warm-up');
  if (warm.length === 0) return '';
  const inside = steps.filter((s) => FENCE_WINDOW_PHASES.includes(s.phase));
  const ids = (list: PlanStep[]) => list.map((s) => s.id).join(', ');
  return `before the fence, while the old site still takes writes: ${ids(warm)}; inside the fence window (writes refused): ${ids(inside)}; `;
}
