import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  patched,
} from '@temporalio/workflow';
import type { Phase } from '../definitions';
import { watchOldSiteIfUnfenced } from '../fence-old-site';
import type { UnwindResult } from '../saga';
import { errorText, errorType, view, type PlanStep } from '../steps';
import { approve } from './approve';
import { report, type FailoverReport } from './report';
import type { FailoverRun } from './run';
import { FENCE_WINDOW_PATCH, SEEN_DOWN_PATCH } from '../systems/system';

/** A step before the point of no return: its compensation is registered first, so a half-done step is undone too. */
async function compensable(run: FailoverRun, step: PlanStep): Promise<void> {
  if (step.undo) run.saga.register(view(step), step.undo);
  await run.book.run(step);
}

/**
 * Fence the old primary where reachable. Planned: every fence must hold; the drain and the fences run in parallel
 * (runs with the fence window). Unplanned: a fence that fails (the primary is gone) needs an
 * approval to go on without it, stated as such.
 */
export async function fence(run: FailoverRun): Promise<void> {
  run.enter('fence');
  const steps = run.stepsOf('fence');
  if (run.ctx.planned && patched(FENCE_WINDOW_PATCH)) {
    // The drain and the fences are independent: together, they start the write outage one step later.
    await runInParallel(run, steps);
    return;
  }
  for (const step of steps) {
    try {
      await compensable(run, notTriedWhenSeenDown(run, step));
    } catch (err) {
      if (run.ctx.planned || isCancellation(err)) throw err;
      const record = await approve(
        run,
        `${step.title} failed (${errorText(err)}); go on without this fence, accepting that ${step.target} could take writes if it comes back?`,
        { humanOnly: true },
      );
      run.enter('fence');
      if (!record.approved)
        throw ApplicationFailure.nonRetryable(
          `going on without fencing ${step.target} was not approved`,
          'FenceNotApproved',
        );
      run.say(
        `going on without fencing ${step.target}: once ${run.ctx.to} is promoted, a watcher fences it as soon as it answers again.`,
      );
    }
  }
}

/**
 * Unplanned: a fence of a system every vantage saw down in every detection round is not tried (it would only wait
 * for a connect timeout); the step fails at once saying so, and the human is asked as for any failed fence.
 */
function notTriedWhenSeenDown(run: FailoverRun, step: PlanStep): PlanStep {
  if (run.ctx.planned || step.system === 'traffic' || !run.seenDown.includes(step.system)) return step;
  if (!patched(SEEN_DOWN_PATCH)) return step;
  return {
    ...step,
    run: () =>
      Promise.reject(
        ApplicationFailure.nonRetryable(
          `not tried: every vantage saw ${step.system} of ${run.ctx.from} down in every detection round, so ${step.target} cannot be reached to be fenced`,
          'SeenDown',
        ),
      ),
  };
}

/** Waits for every one of `work` to settle, then throws the first failure, if any. */
async function allSettledOrThrow(work: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * Warm-up, before the fence (runs with the fence window): what does not need the old primary fenced (the standby's
 * apps started and healthy, catch-up and follower lag brought near zero, the traffic target's health) is done
 * while the old site still takes writes, so the write outage holds only the fence, the final catch-up, the
 * promotions and the switch.
 */
export async function warmUp(run: FailoverRun): Promise<void> {
  run.enter('warm-up');
  await runInParallel(run, run.stepsOf('warm-up'));
}

/**
 * Planned, when the input asks for it: the standby is warm; a human says when the old site is drained and fenced,
 * which starts the write outage. No go (a rejection, or none within the approval timeout) undoes the warm-up.
 */
async function holdBeforeFence(run: FailoverRun): Promise<void> {
  if (!run.input.holdBeforeFence) return;
  const record = await approve(
    run,
    `${run.ctx.to} is warm (${run.stepsOf('warm-up').length} warm-up step(s) done); drain and fence ${run.ctx.from} now? Writes are refused from the drain until the traffic switch`,
    { humanOnly: true },
  );
  if (!record.approved)
    throw ApplicationFailure.nonRetryable(
      `the cut-over was not given its go (${record.reason}), so ${run.ctx.from} was never drained`,
      'CutOverNotGiven',
    );
}

/**
 * Prepare the standby, independent steps in parallel (a step with `after` waits for that one, and does not run
 * when it fails); all of them settle before a failure is raised.
 */
export async function prepare(run: FailoverRun): Promise<void> {
  run.enter('prepare');
  await runInParallel(run, run.stepsOf('prepare'));
}

/**
 * Runs compensable steps in parallel (a step with `after` waits for that one, and does not run when it fails); all
 * of them settle before a failure is raised.
 */
async function runInParallel(run: FailoverRun, steps: PlanStep[]): Promise<void> {
  const started = new Map<string, Promise<void>>();
  for (const step of steps) {
    const before = step.after === undefined ? undefined : started.get(step.after);
    started.set(step.id, before ? before.then(() => compensable(run, step)) : compensable(run, step));
  }
  await allSettledOrThrow([...started.values()]);
}

/**
 * A step past the point of no return rolls forward: its activity retries, then on a lasting failure the run
 * waits for an operator's `retry` or `abort`. It is never compensated.
 */
export async function rollForward(run: FailoverRun, step: PlanStep): Promise<void> {
  for (;;) {
    try {
      await run.book.run(step);
      return;
    } catch (err) {
      const phase = run.phase;
      const decision = await run.desk.operator(
        `${step.title} failed past the point of no return: ${errorText(err)}. Fix the cause and retry, or abort (the pair is then half-moved and needs hand work).`,
      );
      run.say(`${decision.action} asked by ${decision.by}: ${decision.reason}.`);
      if (decision.action === 'abort')
        throw ApplicationFailure.nonRetryable(
          `aborted by ${decision.by} after "${step.title}" failed past the point of no return: ${decision.reason}`,
          'AbortedByOperator',
        );
      run.phase = phase;
    }
  }
}

/** Runs a phase past the point of no return; its steps are independent and run in parallel. */
export async function rollForwardPhase(run: FailoverRun, phase: Phase): Promise<void> {
  run.enter(phase);
  await allSettledOrThrow(run.stepsOf(phase).map((step) => rollForward(run, step)));
}

/**
 * Promote: the point of no return. From here nothing is undone. Once the standby is promoted, an old site left
 * unfenced is watched, to be fenced as soon as it answers again.
 */
export async function promote(run: FailoverRun): Promise<void> {
  run.saga.passPointOfNoReturn();
  run.enter('promote');
  run.say(`point of no return: promoting ${run.ctx.to}; from here the run only rolls forward.`);
  await rollForwardPhase(run, 'promote');
  await watchOldSiteIfUnfenced(run);
}

/** Undo what was done before the point of no return, newest first; a failed undo waits for a human. */
export async function compensate(run: FailoverRun, cause: string): Promise<UnwindResult> {
  run.enter('compensate');
  run.say(`undoing ${run.saga.pending} step(s) because ${cause}.`);
  const result = await run.saga.unwind(
    (c, sentence) => {
      run.book.compensated(c.step.id, sentence);
    },
    async (c, err) => {
      const decision = await run.desk.operator(
        `undoing "${c.step.title}" failed: ${errorText(err)}. Fix the cause and retry, or abort (the step stays in effect).`,
      );
      run.say(`${decision.action} of the compensation asked by ${decision.by}: ${decision.reason}.`);
      return decision.action === 'retry' ? 'retry' : 'abort';
    },
  );
  run.say(
    result.leftInPlace.length > 0
      ? `compensation aborted: ${result.leftInPlace.join(', ')} left in effect for hand work.`
      : `every step before the point of no return is undone (${result.undone.length} compensation(s)).`,
  );
  return result;
}

/** How the steps before the point of no return ended: all done, or undone (after a failure or a cancel). */
export type BeforeTheMove = { done: true } | { done: false; cause: string; undone: UnwindResult };

/**
 * Warm up (runs with the fence window), fence, then prepare; on a failure or a cancel, undo what was done. A cancel first waits for the running
 * activities to end (they are cancelled with WAIT_CANCELLATION_COMPLETED and heartbeat), so nothing is undone while
 * it is still being done; a cancel that arrived while the last step was finishing is honoured before the point of
 * no return too. A cancelled run ends cancelled once everything is undone.
 */
export async function fenceAndPrepare(run: FailoverRun): Promise<BeforeTheMove> {
  try {
    if (patched(FENCE_WINDOW_PATCH)) {
      await warmUp(run);
      await holdBeforeFence(run);
    }
    await fence(run);
    await prepare(run);
    const scope = CancellationScope.current();
    if (scope.consideredCancelled && patched('no-cancel-past-point-of-no-return'))
      throw new CancelledFailure('the run was cancelled before the point of no return');
    return { done: true };
  } catch (err) {
    const cancelled = isCancellation(err);
    const cause = cancelled ? 'the run was cancelled' : errorText(err);
    const undone = await compensate(run, cause);
    if (cancelled) throw err;
    return { done: false, cause, undone };
  }
}

/**
 * Past the point of no return the run cannot be cancelled: stopping half way would strand the pair (a promoted
 * replica without traffic, say). A cancel request is answered with a sentence in the run's details and ignored;
 * `abort`, answered to a question the run asks when a step keeps failing, is the way out. Runs that passed the
 * point of no return before this rule stay cancellable, as they were.
 */
export async function pastPointOfNoReturn<T>(run: FailoverRun, work: () => Promise<T>): Promise<T> {
  if (!patched('no-cancel-past-point-of-no-return')) return work();
  CancellationScope.current().cancelRequested.catch(() =>
    run.say(
      'a cancel request arrived past the point of no return: it is ignored, since stopping now would strand the pair; answer abort to a question of the run to stop it.',
    ),
  );
  return CancellationScope.nonCancellable(work);
}

/** The report of a move undone before the point of no return: rolled back only when every step was undone. */
export function undoneReport(
  run: FailoverRun,
  before: { cause: string; undone: UnwindResult },
  what: string,
  after: string,
) {
  const left = before.undone.leftInPlace;
  return left.length === 0
    ? report(
        run,
        'rolled-back',
        `${what} rolled back before the point of no return: ${before.cause}${after}`,
        before.undone,
      )
    : report(
        run,
        'partly-rolled-back',
        `${what} partly rolled back before the point of no return: ${before.cause}; NOT undone, left in effect for hand work: ${left.join(', ')}${after}`,
        before.undone,
      );
}

/**
 * The move itself, past the point of no return (not cancellable): promote, switch, verify, then `finish` (the
 * report of a failover; forward replication first for a failback). An operator's abort ends it as aborted.
 */
export function promoteAndSwitch(
  run: FailoverRun,
  finish: () => Promise<FailoverReport>,
): Promise<FailoverReport> {
  return pastPointOfNoReturn(run, async () => {
    try {
      await promote(run);
      await rollForwardPhase(run, 'switch');
      await rollForwardPhase(run, 'verify');
    } catch (err) {
      if (errorType(err) !== 'AbortedByOperator') throw err;
      return report(run, 'aborted', `${errorText(err)}; the pair needs hand work (see the steps).`);
    }
    return finish();
  });
}
