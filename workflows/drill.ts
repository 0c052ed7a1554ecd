import {
  ApplicationFailure,
  executeChild,
  proxyActivities,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PairSettings } from '../activities/pair-settings';
import type { DrillCheck, DrillMode, DrillOutcome, DrillReport, DrillStep } from '../common/drill-report';
import { textTooLong } from '../common/text-limits';
import { NON_RETRYABLE } from './activity-options';
import { expectedRto } from './checks/expected-rto';
import { DrMode, DrPair, DrPhase, DrTrigger, type Trigger } from './definitions';
import { gameDay, type GameDayResult } from './drill/game-day';
import { Narrator } from './narrate';
import { readinessCheck, type ReadinessReport } from './readiness';
import { errorText } from './steps';
import { recordDrill } from './metrics';

export type { DrillReport } from '../common/drill-report';

export interface DrillInput {
  pair: string;
  mode: DrillMode;
  trigger: Trigger;
  /** Who asked: an operator's name, or "schedule <id>". */
  requestedBy: string;
}

const TRIGGERS: Trigger[] = ['cli', 'ui', 'alertmanager', 'schedule', 'test'];

const { pairSettings, drillSystemAccess, drillWriteReport } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * A DR drill of a pair. `readiness`: every readiness check (the readinessCheck workflow, as a child), credentials and
 * API reachability of each system, the measured lags and the RTO the runbook's probes and timeouts lead one to
 * expect; nothing is changed. `game-day`: the same, then, on a ready pair, a real planned failover and a full
 * failback (the failover and failback workflows, as children under the pair's move ID), while the drill's writer
 * writes through the entry point: the report gives the measured RTO, the write outage and the lost writes. Either
 * way the report is written (JSON, Markdown, SVG timeline) to the runbook's drills.reports folder.
 */
export async function drill(input: DrillInput): Promise<DrillReport> {
  validateDrillInput(input);
  const narrator = new Narrator();
  const startedAt = new Date().toISOString();
  const { workflowId } = workflowInfo();
  upsertSearchAttributes([
    { key: DrPair, value: input.pair },
    { key: DrMode, value: `drill-${input.mode}` },
    { key: DrTrigger, value: input.trigger },
  ]);
  narrator.enterPhase('assess');
  narrator.say(`${input.mode} drill of ${input.pair} asked by ${input.requestedBy} (${input.trigger}).`);
  const settings = await pairSettings({ pair: input.pair });

  const assessed = await assess(input, settings, narrator);
  const { checks, lags, rto } = assessed;
  const steps = [...assessed.steps];
  let verdict = verdictBeforeMoving(input, settings, checks, rto.sentence);
  let game: GameDayResult | undefined;
  if (verdict === undefined) {
    game = await gameDay(input, settings, narrator, rto.boundMs);
    verdict = game.verdict;
    steps.push(...game.steps);
  }
  narrator.enterPhase('report');
  narrator.say(verdict.sentence);

  const report: DrillReport = {
    pair: input.pair,
    workflowId,
    mode: input.mode,
    trigger: input.trigger,
    requestedBy: input.requestedBy,
    startedAt,
    finishedAt: new Date().toISOString(),
    outcome: verdict.outcome,
    sentence: verdict.sentence,
    checks,
    lags,
    expectedRto: { boundMs: rto.boundMs, sentence: rto.sentence, parts: rto.parts },
    ...(game?.measuredRtoMs !== undefined ? { measuredRtoMs: game.measuredRtoMs } : {}),
    ...(game ? { moves: game.moves } : {}),
    ...(game?.writes ? { writes: game.writes } : {}),
    steps,
    decisions: narrator.decisions,
  };
  return finish(report, narrator);
}

/** Writes the report's files (a failure to write them is said in the report, never fails the drill) and its memo. */
async function finish(report: DrillReport, narrator: Narrator): Promise<DrillReport> {
  let done = report;
  try {
    const written = await drillWriteReport({ pair: report.pair, report });
    narrator.say(written.description);
    if (written.files) done = { ...report, files: written.files };
  } catch (err) {
    narrator.say(`the report files could not be written: ${errorText(err)}`);
  }
  upsertMemo({
    drill: {
      outcome: done.outcome,
      sentence: done.sentence,
      expectedRtoMs: done.expectedRto.boundMs,
      ...(done.measuredRtoMs !== undefined ? { measuredRtoMs: done.measuredRtoMs } : {}),
      ...(done.writes
        ? { writeOutageMs: done.writes.writeOutageMs, lostWrites: done.writes.lostWrites }
        : {}),
      ...(done.files ? { report: done.files.markdown } : {}),
    },
  });
  upsertSearchAttributes([{ key: DrPhase, value: 'done' }]);
  recordDrill({
    pair: done.pair,
    mode: done.mode,
    outcome: done.outcome,
    succeeded: done.outcome === 'passed',
  });
  return { ...done, decisions: narrator.decisions };
}

/** Every readiness check (a child workflow) and every access check, side by side; the lags and the expected RTO. */
async function assess(input: DrillInput, settings: PairSettings, narrator: Narrator) {
  const startedAt = new Date().toISOString();
  const [readiness, access] = await Promise.all([
    executeChild(readinessCheck, {
      workflowId: `${workflowInfo().workflowId}-readiness`,
      args: [{ pair: input.pair, trigger: input.trigger }],
      typedSearchAttributes: [
        { key: DrPair, value: input.pair },
        { key: DrMode, value: 'readiness' },
        { key: DrTrigger, value: input.trigger },
      ],
    }),
    drillSystemAccess({ pair: input.pair }),
  ]);
  const endedAt = new Date().toISOString();
  const lags = measuredLags(readiness);
  const worstLag = Math.max(0, ...lags.mysql.map((l) => l.seconds ?? 0));
  const rto = expectedRto(settings, input.mode === 'game-day' ? 'planned' : 'unplanned', worstLag);
  narrator.say(readiness.verdict);
  for (const c of access.filter((a) => !a.ok)) narrator.say(`no access: ${c.sentence}`);
  narrator.say(`expected RTO: ${rto.sentence}`);
  const steps: DrillStep[] = [
    ownStep('readiness', 'readiness checks (child workflow)', readiness.ready, startedAt, endedAt),
    ownStep(
      'access',
      `credentials and API reachability (${access.length} endpoints)`,
      access.every((a) => a.ok),
      startedAt,
      endedAt,
    ),
  ];
  return { checks: [...readiness.checks, ...access], lags, rto, steps };
}

/**
 * The verdict of a readiness drill, or of a game-day drill that must not move the pair (not ready, or no writer to
 * measure lost writes with); undefined when a game-day drill may go on.
 */
function verdictBeforeMoving(
  input: DrillInput,
  settings: PairSettings,
  checks: DrillCheck[],
  rtoSentence: string,
): { outcome: DrillOutcome; sentence: string } | undefined {
  const failed = checks.filter((c) => !c.ok);
  const failing = `${failed.length} of ${checks.length} checks fail, first: ${failed[0]?.sentence}`;
  if (input.mode === 'readiness')
    return failed.length === 0
      ? {
          outcome: 'passed',
          sentence: `readiness drill of ${input.pair} passed: all ${checks.length} checks pass; ${rtoSentence}`,
        }
      : { outcome: 'failed', sentence: `readiness drill of ${input.pair} failed: ${failing}` };
  if (failed.length > 0)
    return {
      outcome: 'refused',
      sentence: `refusing the game-day drill of ${input.pair}: the pair is not ready (${failing}); nothing was moved.`,
    };
  if (!settings.drills?.writer)
    return {
      outcome: 'refused',
      sentence: `refusing the game-day drill of ${input.pair}: its runbook has no drills.gameDay.writer, so lost writes could not be measured; nothing was moved.`,
    };
  return undefined;
}

function ownStep(id: string, title: string, ok: boolean, startedAt: string, endedAt: string): DrillStep {
  return {
    move: 'drill',
    id,
    title,
    phase: 'assess',
    state: ok ? 'done' : 'failed',
    startedAt,
    endedAt,
    durationMs: Date.parse(endedAt) - Date.parse(startedAt),
  };
}

function measuredLags(readiness: ReadinessReport): DrillReport['lags'] {
  return {
    mysql: readiness.mysql
      .filter((s) => s.replication)
      .map((s) => ({
        server: s.server,
        ...(s.replication!.lagSeconds !== null ? { seconds: s.replication!.lagSeconds } : {}),
      })),
    elasticsearch: (readiness.elasticsearch?.followers?.indices ?? []).map((i) => ({
      index: i.index,
      ...(i.lagOperations !== undefined ? { operations: i.lagOperations } : {}),
    })),
  };
}

/** Refuses a drill input that is not what the workflow takes, naming each bad field, before anything is read. */
export function validateDrillInput(input: DrillInput): void {
  if (typeof input !== 'object' || input === null)
    throw ApplicationFailure.nonRetryable(
      'the input must be an object {pair, mode, trigger, requestedBy}',
      'InvalidInput',
    );
  const problems: string[] = [];
  if (typeof input.pair !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(input.pair))
    problems.push('pair: a pair name (lower-case letters, digits and dashes) is required');
  if (input.mode !== 'readiness' && input.mode !== 'game-day')
    problems.push(`mode: must be "readiness" or "game-day" (got ${JSON.stringify(input.mode)})`);
  if (!TRIGGERS.includes(input.trigger))
    problems.push(`trigger: must be one of ${TRIGGERS.join(', ')} (got ${JSON.stringify(input.trigger)})`);
  if (typeof input.requestedBy !== 'string' || input.requestedBy.trim() === '')
    problems.push('requestedBy: say who asks');
  const tooLong =
    typeof input.requestedBy === 'string' ? textTooLong('requestedBy', input.requestedBy) : undefined;
  if (tooLong) problems.push(tooLong);
  if (problems.length > 0)
    throw ApplicationFailure.nonRetryable(`invalid drill input: ${problems.join('; ')}`, 'InvalidInput');
}
