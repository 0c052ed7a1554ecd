import {
  ApplicationFailure,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { PairSettings } from '../../activities/pair-settings';
import { textTooLong } from '../../common/text-limits';
import { FENCE_WINDOW_PHASES } from '../../common/fence-window';
import { activityCaller, LOCAL_WINDOW_PATCH } from '../activity-options';
import type { Check } from '../checks/check';
import {
  alertResolvedSignal,
  DrMode,
  DrPair,
  DrTrigger,
  pairMoveWorkflowId,
  planQuery,
  statusQuery,
  type AlertResolved,
  type DataLossEstimate,
  type MoveInput,
  type Phase,
  type RunPlan,
  type RunStatus,
  type System,
} from '../definitions';
import { Desk } from '../desk';
import { Narrator } from '../narrate';
import { Notifier } from '../notify';
import { Saga } from '../saga';
import { StepBook, type PlanStep } from '../steps';
import { appsContribution } from '../systems/apps';
import { ovhDatabaseContribution } from '../systems/ovh-database';
import { elasticsearchContribution } from '../systems/elasticsearch';
import { mysqlContribution } from '../systems/mysql';
import { redisContribution } from '../systems/redis';
import { postgresqlContribution } from '../systems/postgresql';
import {
  FENCE_WINDOW_PATCH,
  type Observation,
  type RunContext,
  type SystemContribution,
} from '../systems/system';
import { trafficContribution } from '../systems/traffic';
import { approve } from './approve';

/**
 * The systems a runbook declares, in the order their steps run within a phase: the traffic switch first, so that
 * fencing drains the old site's clients before it fences their databases.
 */
export function contributionsFor(settings: PairSettings): SystemContribution[] {
  return [
    ...(settings.traffic ? [trafficContribution()] : []),
    mysqlContribution(),
    ...(settings.postgresql ? [postgresqlContribution()] : []),
    ...(settings.elasticsearch ? [elasticsearchContribution()] : []),
    ...(settings.redis ? [redisContribution()] : []),
    ...(settings.apps.length > 0 ? [appsContribution()] : []),
    ...(settings.ovhDatabases ? [ovhDatabaseContribution()] : []),
  ];
}

/** The `alert-resolved` signal's handling (runs started before it ignore the signal, as they did). */
export const ALERT_RESOLVED_PATCH = 'alert-resolved-signal';

/** Everything one failover run keeps: its context, the humans' desk, the step records, the saga, the narration. */
export class FailoverRun {
  readonly narrator = new Narrator();
  readonly desk = new Desk();
  readonly book = new StepBook(this.narrator);
  readonly saga = new Saga();
  readonly startedAt = new Date();
  readonly checks: Check[] = [];
  readonly findings: Observation[][] = [];
  ctx!: RunContext;
  contributions: SystemContribution[] = [];
  plan: RunPlan | undefined;
  steps: PlanStep[] = [];
  dataLoss: DataLossEstimate[] = [];
  approvedAt: Date | undefined;
  phase: Phase | 'start' | 'done' = 'start';
  /** Sends the run's events to the runbook's webhooks; set with the context. */
  notifier: Notifier | undefined;
  /** Unplanned: the systems of the old primary every vantage saw down in every detection round. */
  seenDown: System[] = [];
  /** Set when Alertmanager says the alerts that started the run have resolved. */
  primaryRecovered: AlertResolved | undefined;

  constructor(readonly input: MoveInput) {
    setHandler(planQuery, () => this.plan);
    setHandler(statusQuery, (): RunStatus => ({
      phase: this.phase,
      sentence: this.narrator.decisions.at(-1)?.sentence ?? 'starting.',
      pastPointOfNoReturn: this.saga.pastPointOfNoReturn,
      steps: this.book.records,
      ...(this.desk.pending ? { pending: this.desk.pending } : {}),
      questions: this.desk.questions,
      ...(this.primaryRecovered ? { primaryRecovered: this.primaryRecovered } : {}),
    }));
    setHandler(alertResolvedSignal, (resolved) => this.alertResolved(resolved));
    this.desk.onAsk = (q) =>
      this.say(
        `question ${q.id} is open (${q.answers.join(' or ')}): answer it naming ${q.id}, e.g. drctl ${q.kind === 'approval' ? 'approve' : 'retry'} ${input.pair} --question ${q.id} --reason "…".`,
      );
  }

  get kind(): 'failover' | 'failback' {
    return this.input.mode === 'full' || this.input.mode === 'reprotect-only' ? 'failback' : 'failover';
  }

  /**
   * Alertmanager says the alerts that started this run have resolved: the run says so, and so does every approval it
   * asks from now on or has pending (their question text). Nothing else changes: a human still decides.
   */
  private alertResolved(resolved: AlertResolved): void {
    const valid =
      typeof resolved === 'object' &&
      resolved !== null &&
      Array.isArray(resolved.alerts) &&
      resolved.alerts.every((a) => typeof a === 'string') &&
      typeof resolved.resolvedAt === 'string';
    if (!valid) {
      log.warn('alert-resolved signal refused: it must be {alerts: string[], resolvedAt: string}');
      return;
    }
    if (!patched(ALERT_RESOLVED_PATCH)) return;
    const known = this.primaryRecovered;
    if (known && known.resolvedAt === resolved.resolvedAt && known.alerts.join() === resolved.alerts.join())
      return;
    this.primaryRecovered = { alerts: resolved.alerts, resolvedAt: resolved.resolvedAt };
    const alerts = resolved.alerts.slice(0, 10).join(', ').slice(0, 512);
    const note = `the primary site looks recovered: Alertmanager says ${alerts} resolved at ${resolved.resolvedAt.slice(0, 40)}; consider rejecting if it serves again.`;
    const pending = this.desk.annotateApprovals(note);
    this.say(`${note}${pending > 0 ? ` The pending approval says so.` : ''}`);
  }

  /** "planned failover", "full failback": what the run is, for its sentences. */
  get title(): string {
    return `${this.input.mode} ${this.kind}`;
  }

  get workflowId(): string {
    return workflowInfo().workflowId;
  }

  /** A planned move's steps inside the fence window run as local activities (runs since that patch). */
  private runsLocally(): boolean {
    return (
      this.input.mode !== 'unplanned' &&
      FENCE_WINDOW_PHASES.includes(this.phase) &&
      patched(FENCE_WINDOW_PATCH) &&
      patched(LOCAL_WINDOW_PATCH)
    );
  }

  setContext(settings: PairSettings, from: string, to: string): void {
    this.ctx = {
      input: this.input,
      settings,
      from,
      to,
      planned: this.input.mode !== 'unplanned',
      call: activityCaller(settings.timeouts, () => this.runsLocally()),
      reviseDataLoss: (estimate) => {
        this.dataLoss = [...this.dataLoss.filter((d) => d.system !== estimate.system), estimate];
      },
      approve: (question) => this.approveStep(question),
    };
    this.contributions = contributionsFor(settings);
    this.notifier = new Notifier({
      pair: settings.pair,
      webhooks: settings.notifications?.webhooks ?? [],
      title: this.title,
    });
    const narrate = this.desk.onAsk;
    this.desk.onAsk = (q) => {
      narrate(q);
      this.notifier?.question(q);
    };
    const { approvers, signers, unsigned, unsignedApprovers, signatureMaxAgeMs, fourEyes } =
      settings.approval;
    this.desk.rules = {
      approvers,
      ...(signers ? { signers, unsigned, unsignedApprovers, signatureMaxAgeMs, fourEyes } : {}),
      requestedBy: this.input.requestedBy,
      workflowId: workflowInfo().workflowId,
      runId: workflowInfo().runId,
    };
  }

  /** A step's own approval, which only a human may give; the run goes back to the step's phase afterwards. */
  private async approveStep(question: string): Promise<{ approved: boolean; by: string; reason: string }> {
    const phase = this.phase;
    const record = await approve(this, question, { humanOnly: true });
    if (phase !== 'start' && phase !== 'done') this.enter(phase);
    return record;
  }

  enter(phase: Phase): void {
    this.phase = phase;
    this.narrator.enterPhase(phase);
    this.notifier?.phase(
      phase,
      `${this.title} of ${this.input.pair} from ${this.ctx.from} to ${this.ctx.to}: phase ${phase} begins.`,
    );
  }

  say(sentence: string): void {
    this.narrator.say(sentence);
  }

  stepsOf(phase: Phase): PlanStep[] {
    return this.steps.filter((s) => s.phase === phase);
  }
}

const { pairSettings } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['UnknownPair'] },
});

/**
 * The opening of a move (failover or failback): its run with queries and handlers, its search attributes and first
 * details set, and the pair's settings read from the worker's runbook. `mode` is how the search attribute shows it.
 */
export async function openRun(
  input: MoveInput,
  kind: 'failover' | 'failback',
  mode: string,
): Promise<{ run: FailoverRun; settings: PairSettings }> {
  const run = new FailoverRun(input);
  upsertSearchAttributes([
    { key: DrPair, value: input.pair },
    { key: DrMode, value: mode },
    { key: DrTrigger, value: input.trigger },
  ]);
  setCurrentDetails(
    `**start**: ${input.mode} ${kind} of ${input.pair} asked by ${input.requestedBy}: ${input.reason}`,
  );
  return { run, settings: await pairSettings({ pair: input.pair }) };
}

/**
 * Refuses a move's input that is not what the workflow takes, naming each bad field in one sentence; before
 * anything is read or changed. `modes` are the modes this kind of move has.
 */
export function validateMoveInput(input: MoveInput, kind: 'failover' | 'failback', modes: string[]): void {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null)
    throw ApplicationFailure.nonRetryable(
      'the input must be an object {pair, mode, trigger, reason, requestedBy}',
      'InvalidInput',
    );
  if (typeof input.pair !== 'string' || input.pair === '') problems.push('pair: a pair name is required');
  if (!modes.includes(input.mode)) {
    const quoted = modes.map((m) => `"${m}"`);
    problems.push(
      `mode: must be ${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)} (got ${JSON.stringify(input.mode)})`,
    );
  }
  if (!['cli', 'ui', 'alertmanager', 'schedule', 'test'].includes(input.trigger))
    problems.push(
      `trigger: must be one of cli, ui, alertmanager, schedule, test (got ${JSON.stringify(input.trigger)})`,
    );
  if (typeof input.reason !== 'string' || input.reason.trim() === '') problems.push('reason: say why');
  if (typeof input.requestedBy !== 'string' || input.requestedBy.trim() === '')
    problems.push('requestedBy: say who asks');
  if (input.drill !== undefined && (typeof input.drill !== 'string' || input.drill === ''))
    problems.push("drill: the drill's workflow ID, when given, is a non-empty string");
  const holdProblem = holdBeforeFenceProblem(input);
  if (holdProblem) problems.push(holdProblem);
  const dryRunProblem = dryRunFlagProblem(input, kind);
  if (dryRunProblem) problems.push(dryRunProblem);
  for (const field of ['pair', 'reason', 'requestedBy'] as const) {
    const tooLong = typeof input[field] === 'string' ? textTooLong(field, input[field]) : undefined;
    if (tooLong) problems.push(tooLong);
  }
  if (problems.length > 0)
    throw ApplicationFailure.nonRetryable(`invalid ${kind} input: ${problems.join('; ')}`, 'InvalidInput');
  refuseForeignWorkflowId(input.pair, kind);
}

/** `holdBeforeFence` is a boolean, and only for a move that warms up before its fence (a planned one). */
function holdBeforeFenceProblem(input: MoveInput): string | undefined {
  const hold: unknown = input.holdBeforeFence;
  if (hold === undefined) return undefined;
  if (typeof hold !== 'boolean') return `holdBeforeFence: true or false (got ${JSON.stringify(hold)})`;
  if (hold && !['planned', 'full'].includes(input.mode))
    return `holdBeforeFence: only a planned move (failover mode "planned", failback mode "full") warms up and can hold before its fence (mode is ${JSON.stringify(input.mode)})`;
  return undefined;
}

/** `dryRun` is a failback's boolean; a failover's dry run is its mode. */
function dryRunFlagProblem(input: MoveInput, kind: 'failover' | 'failback'): string | undefined {
  const dryRun: unknown = (input as { dryRun?: unknown }).dryRun;
  if (dryRun === undefined) return undefined;
  if (kind === 'failover') return 'dryRun: a failover has none; its dry run is mode "dry-run"';
  if (typeof dryRun !== 'boolean') return `dryRun: true or false (got ${JSON.stringify(dryRun)})`;
  if (dryRun && input.holdBeforeFence === true)
    return 'holdBeforeFence: a dry run changes nothing, so there is no fence to hold before';
  return undefined;
}

/**
 * One move per pair: a move runs only under the pair's move ID, the one ID Temporal keeps at most one open run of.
 * A start under another ID (the UI's start form lets anyone type one) would be a second concurrent move of the pair.
 */
function refuseForeignWorkflowId(pair: string, kind: 'failover' | 'failback'): void {
  const expected = pairMoveWorkflowId(pair);
  const actual = workflowInfo().workflowId;
  if (actual !== expected && patched('move-id-enforced'))
    throw ApplicationFailure.nonRetryable(
      `refusing to run a ${kind} of ${pair} under the workflow ID "${actual}": a move of ${pair} runs only as "${expected}", so that two moves of one pair never run at once; start it with that ID.`,
      'InvalidInput',
    );
}
