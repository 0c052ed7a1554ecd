import { setHandler, workflowInfo } from '@temporalio/workflow';
import type { PairSettings } from '../../activities/pair-settings';
import { activityCaller } from '../activity-options';
import type { Check } from '../checks/check';
import {
  planQuery,
  statusQuery,
  type DataLossEstimate,
  type MoveInput,
  type Phase,
  type RunPlan,
  type RunStatus,
} from '../definitions';
import { Desk } from '../desk';
import { Narrator } from '../narrate';
import { Saga } from '../saga';
import { StepBook, type PlanStep } from '../steps';
import { appsContribution } from '../systems/apps';
import { elasticsearchContribution } from '../systems/elasticsearch';
import { mysqlContribution } from '../systems/mysql';
import type { Observation, RunContext, SystemContribution } from '../systems/system';
import { trafficContribution } from '../systems/traffic';

/**
 * The systems a runbook declares, in the order their steps run within a phase: the traffic switch first, so that
 * fencing drains the old site's clients before it fences their databases.
 */
export function contributionsFor(settings: PairSettings): SystemContribution[] {
  return [
    ...(settings.traffic ? [trafficContribution()] : []),
    mysqlContribution(),
    ...(settings.elasticsearch ? [elasticsearchContribution()] : []),
    ...(settings.apps.length > 0 ? [appsContribution()] : []),
  ];
}

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

  constructor(readonly input: MoveInput) {
    setHandler(planQuery, () => this.plan);
    setHandler(statusQuery, (): RunStatus => ({
      phase: this.phase,
      sentence: this.narrator.decisions.at(-1)?.sentence ?? 'starting.',
      pastPointOfNoReturn: this.saga.pastPointOfNoReturn,
      steps: this.book.records,
      ...(this.desk.pending ? { pending: this.desk.pending } : {}),
    }));
  }

  /** "planned failover", "full failback": what the run is, for its sentences. */
  get title(): string {
    const failback = this.input.mode === 'full' || this.input.mode === 'reprotect-only';
    return `${this.input.mode} ${failback ? 'failback' : 'failover'}`;
  }

  get workflowId(): string {
    return workflowInfo().workflowId;
  }

  setContext(settings: PairSettings, from: string, to: string): void {
    this.ctx = {
      input: this.input,
      settings,
      from,
      to,
      planned: this.input.mode !== 'unplanned',
      call: activityCaller(settings.timeouts),
      reviseDataLoss: (estimate) => {
        this.dataLoss = [...this.dataLoss.filter((d) => d.system !== estimate.system), estimate];
      },
    };
    this.contributions = contributionsFor(settings);
  }

  enter(phase: Phase): void {
    this.phase = phase;
    this.narrator.enterPhase(phase);
  }

  say(sentence: string): void {
    this.narrator.say(sentence);
  }

  stepsOf(phase: Phase): PlanStep[] {
    return this.steps.filter((s) => s.phase === phase);
  }
}
