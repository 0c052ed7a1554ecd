import { isCancellation, patched } from '@temporalio/workflow';
import { failbackModeName, type FailbackInput, type Phase } from './definitions';
import { finishSwitchSteps, unfinished } from './failback/finish';
import { observeStanding, type Standing } from './failback/roles';
import {
  esAutoFollowBackStep,
  esCatchUpStep,
  esFollowSteps,
  mysqlCatchUpSteps,
  mysqlRepointSteps,
  mysqlReprotectSteps,
  redisRepointStep,
  redisReprotectStep,
  pgCatchUpStep,
  pgFollowStep,
} from './failback/steps';
import { approve } from './failover/approve';
import { assess } from './failover/assess';
import {
  fenceAndPrepare,
  pastPointOfNoReturn,
  promoteAndSwitch,
  rollForward,
  undoneReport,
} from './failover/execute';
import { makePlan } from './failover/plan';
import { report, toldIfItEndsEarly, type FailoverReport } from './failover/report';
import { FailoverRun, openRun, validateMoveInput } from './failover/run';
import { activityCaller } from './activity-options';
import type { PairSettings } from '../activities/pair-settings';
import { errorText, errorType, view, type PlanStep } from './steps';

export type FailbackReport = FailoverReport;

/**
 * Failback of a DR pair to its runbook's primary site, the roles read from the systems: reprotect (the old
 * primary site's MySQL servers replicate from the current primary after an errant-transaction check that stops
 * for a human; its ES indices, once what they would lose is counted and approved, follow the current site's),
 * catch up, then (mode `full`) a planned move back with the failover's own phases, approvals, compensation and
 * point of no return, and forward replication re-established. A pair that is not failed over is refused; a
 * pair left half failed back (its switch back aborted past the point of no return) is finished: the switch first,
 * then forward replication.
 */
export async function failback(input: FailbackInput): Promise<FailbackReport> {
  validateMoveInput(input, 'failback', ['full', 'reprotect-only']);
  const { run, settings } = await openRun(input, 'failback', failbackModeName(input));
  return toldIfItEndsEarly(run, () => failbackOf(input, run, settings));
}

async function failbackOf(
  input: FailbackInput,
  run: FailoverRun,
  settings: PairSettings,
): Promise<FailbackReport> {
  const home = settings.sites.primary;
  const away = settings.sites.standby;
  run.setContext(settings, away, home);
  run.enter('assess');
  run.say(
    `${input.mode} failback of ${input.pair} to ${home} asked by ${input.requestedBy} (${input.trigger}): ${input.reason}`,
  );
  const standing = await observeStanding(settings, activityCaller(settings.timeouts));
  run.say(standing.sentence);
  if (standing.kind === 'refused') return report(run, 'refused', standing.sentence);
  if (standing.kind === 'half-failed-back' && input.mode === 'reprotect-only')
    return report(
      run,
      'refused',
      `refusing to reprotect: ${home} is the primary site again. ${standing.sentence}`,
    );
  if (input.dryRun) return dryRun(run, standing);
  if (standing.kind === 'half-failed-back') {
    // Runs started before it only re-established forward replication, whatever else was missing.
    if (patched('failback-resume-finishes-switch')) return finishSwitchBack(run, standing);
    return reestablish(run, standing.primary, standing.missing);
  }

  try {
    run.say(`reprotect: ${home} is made to replicate from ${away}.`);
    const reprotect = reprotectSteps(run, standing.primary);
    await runPhase(run, 'reprotect', reprotect.steps);
    await runPhase(run, 'catch-up', catchUpSteps(run, standing.primary, reprotect.esIndices));
  } catch (err) {
    if (isCancellation(err)) throw err;
    const outcome = errorType(err) === 'DivergenceNotApproved' ? 'rejected' : 'aborted';
    return report(
      run,
      outcome,
      `failback stopped while reprotecting, before any switch: ${errorText(err)}; ${away} still serves. Start the failback again once the cause is fixed: it goes on from where it stopped.`,
    );
  }
  if (input.mode === 'reprotect-only')
    return report(
      run,
      'reprotected',
      `${home} replicates from ${away} and has caught up; the pair stays on ${away} (reprotect-only).`,
    );
  return switchBack(run);
}

function reprotectSteps(
  run: FailoverRun,
  primary: string,
): { steps: PlanStep[]; esIndices?: () => string[] } {
  const home = run.ctx.to;
  const steps = mysqlReprotectSteps(run, primary, home);
  // Runbooks without a redis section plan exactly the steps they did.
  if (run.ctx.settings.redis) steps.push(redisReprotectStep(run, home));
  if (run.ctx.settings.postgresql) steps.push(pgFollowStep(run, home, 'reprotect'));
  if (!run.ctx.settings.elasticsearch) return { steps };
  const es = esFollowSteps(run, home, 'reprotect');
  return { steps: [...steps, ...es.steps], esIndices: es.indices };
}

function catchUpSteps(run: FailoverRun, primary: string, esIndices?: () => string[]): PlanStep[] {
  const steps = mysqlCatchUpSteps(run, primary, run.ctx.to);
  if (run.ctx.settings.postgresql) steps.push(pgCatchUpStep(run, run.ctx.to));
  if (esIndices) steps.push(esCatchUpStep(run, run.ctx.to, esIndices));
  return steps;
}

/** Records and runs the steps of a phase before the switch, one after the other. */
async function runPhase(run: FailoverRun, phase: Phase, steps: PlanStep[]): Promise<void> {
  run.enter(phase);
  run.book.plan(steps.map(view));
  run.steps.push(...steps);
  for (const step of steps) await run.book.run(step);
}

/** The planned move from the standby site back to the primary site: the failover's phases, reversed. */
async function switchBack(run: FailoverRun): Promise<FailbackReport> {
  const { from: away, to: home } = run.ctx;
  const pair = run.ctx.settings.pair;
  const reprotect = run.steps;
  const discarded = run.dataLoss;
  const assessment = await assess(run);
  if (!assessment.go) return report(run, assessment.outcome, assessment.sentence);
  try {
    await makePlan(run);
  } catch (err) {
    return report(run, 'refused', `refusing to switch back: no plan can be made: ${errorText(err)}`);
  }
  run.steps = [...reprotect, ...run.steps];
  run.dataLoss = [...discarded, ...run.dataLoss];
  const approval = await approve(run, `planned switch back of ${pair} from ${away} to ${home}`);
  if (!approval.approved)
    return report(
      run,
      'rejected',
      `the switch back was not approved (${approval.reason}); ${home} replicates from ${away}, which still serves.`,
    );
  run.approvedAt = new Date();
  const before = await fenceAndPrepare(run);
  if (!before.done)
    return undoneReport(run, before, 'switch back', `; ${away} still serves, ${home} replicates from it.`);
  return promoteAndSwitch(run, () => reestablish(run, undefined, []));
}

/**
 * A failback resumed on a pair whose MySQL primary is home again but whose switch back was not finished: home's
 * indices that still follow are promoted, the traffic goes to home and is verified through the entry point, and
 * only then is forward replication re-established. Past the point of no return (not cancellable): a step that keeps
 * failing waits for an operator's retry or abort, and an abort ends the run saying what is still missing.
 */
async function finishSwitchBack(
  run: FailoverRun,
  standing: Extract<Standing, { kind: 'half-failed-back' }>,
): Promise<FailbackReport> {
  return pastPointOfNoReturn(run, async () => {
    run.saga.passPointOfNoReturn();
    const finish = await finishSwitchSteps(run, standing.trafficHome);
    run.book.plan(finish.map((f) => view(f.step)));
    run.steps.push(...finish.map((f) => f.step));
    try {
      for (const { step } of finish) {
        run.enter(step.phase);
        await rollForward(run, step);
      }
    } catch (err) {
      if (errorType(err) !== 'AbortedByOperator') throw err;
      return report(
        run,
        'aborted',
        `${errorText(err)}; the failback is not finished: ${unfinished(run, finish).join('; ')}; forward replication is not re-established. Start the failback again once the cause is fixed: it goes on from where it stopped.`,
      );
    }
    return reestablish(run, standing.primary, standing.missing);
  });
}

/**
 * Forward replication again: the standby's ES indices follow the primary site's, auto-follow runs from the
 * standby again; MySQL servers of the standby that do not replicate from the primary (a resumed run) are repointed.
 * Past the point of no return: a step that keeps failing waits for an operator's retry or abort.
 */
async function reestablish(
  run: FailoverRun,
  primary: string | undefined,
  missing: string[],
): Promise<FailbackReport> {
  const { from: away, to: home } = run.ctx;
  const steps = reestablishSteps(run, primary, missing);
  run.book.plan(steps.map(view));
  run.steps.push(...steps);
  try {
    run.enter('reestablish');
    run.say(`forward replication: ${away} replicates from ${home} again.`);
    // In order: each step needs the one before (the remote connection before the followers).
    for (const step of steps) await rollForward(run, step);
  } catch (err) {
    if (errorType(err) !== 'AbortedByOperator') throw err;
    return report(run, 'aborted', `${errorText(err)}; forward replication needs hand work (see the steps).`);
  }
  return report(
    run,
    'completed',
    `failback of ${run.ctx.settings.pair} completed: ${home} is the primary site and serves the traffic, ${away} replicates from it.`,
  );
}

/** The steps of forward replication again; with `primary` (a resumed run), the standby's stores repointed first. */
function reestablishSteps(run: FailoverRun, primary: string | undefined, missing: string[]): PlanStep[] {
  const { from: away, to: home } = run.ctx;
  const steps: PlanStep[] = [];
  if (primary) {
    const servers = run.ctx.settings.mysql.servers
      .filter((s) => s.name !== primary && missing.some((m) => m.startsWith(`${s.name} does not replicate`)))
      .map((s) => s.name);
    steps.push(...mysqlRepointSteps(run, primary, servers));
    if (run.ctx.settings.redis) steps.push(redisRepointStep(run, away));
    // A resumed run: the standby's PostgreSQL server follows the primary site's again (nothing to do when it does).
    if (run.ctx.settings.postgresql) steps.push(pgFollowStep(run, away, 'reestablish'));
  }
  if (run.ctx.settings.elasticsearch) {
    steps.push(...esFollowSteps(run, away, 'reestablish').steps);
    if (run.ctx.settings.elasticsearch.autoFollowPatterns.length > 0)
      steps.push(esAutoFollowBackStep(run, home, away));
  }
  if (run.ctx.settings.appsAfterFailback === 'stop') steps.push(...appStopSteps(run, away));
  return steps;
}

/** The runbook's `apps.afterFailback: stop`: the apps of the site left are stopped once it replicates again. */
function appStopSteps(run: FailoverRun, site: string): PlanStep[] {
  const pair = run.ctx.settings.pair;
  return run.ctx.settings.apps
    .filter((h) => h.site === site)
    .map((h) => ({
      id: `apps.stop.${h.name}`,
      phase: 'reestablish' as const,
      system: 'apps' as const,
      title: `stop ${h.name}, as the runbook's apps.afterFailback asks`,
      target: h.name,
      run: async () =>
        (await run.ctx.call('apps', 'appStop', { pair, host: h.name }, `stop ${h.name}`)).description,
    }));
}

/**
 * A dry run: the steps the failback would run from where the pair stands, made from the declared systems as a real
 * run makes them, and the phases after them; nothing is changed. A failed-over pair gets its reprotect and catch-up
 * steps (the switch back is planned only once the old primary site has caught up); a half failed back pair, the
 * steps that finish the switch and re-establish forward replication.
 */
async function dryRun(
  run: FailoverRun,
  standing: Exclude<Standing, { kind: 'refused' }>,
): Promise<FailbackReport> {
  const { from: away, to: home, settings } = run.ctx;
  run.enter('plan');
  let steps: PlanStep[];
  let then: string;
  if (standing.kind === 'half-failed-back') {
    const finish = await finishSwitchSteps(run, standing.trafficHome);
    steps = [...finish.map((f) => f.step), ...reestablishSteps(run, standing.primary, standing.missing)];
    then = `they finish the switch back to ${home} and re-establish forward replication (${away} replicates from ${home}).`;
  } else {
    const reprotect = reprotectSteps(run, standing.primary);
    steps = [...reprotect.steps, ...catchUpSteps(run, standing.primary, reprotect.esIndices)];
    then =
      run.input.mode === 'full'
        ? `they reprotect ${home} and let it catch up; then a planned switch back (its own plan and approval, fence, promote: the point of no return, switch, verify) and forward replication again (${away} replicates from ${home}).`
        : `they reprotect ${home} and let it catch up; the pair then stays on ${away} (reprotect-only).`;
  }
  run.plan = {
    pair: settings.pair,
    mode: run.input.mode,
    from: away,
    to: home,
    steps: steps.map(view),
    dataLoss: [],
    sentence: `${steps.length} steps: ${then} Data loss: none from the switch back, which waits for the catch-up; what only ${home} holds is counted and asked about while reprotecting.`,
  };
  run.book.plan(run.plan.steps);
  run.say(run.plan.sentence);
  return report(run, 'dry-run', `dry run: ${run.plan.sentence}`);
}
