import type { PairSettings } from '../../activities/pair-settings';
import type { ActivityCall } from '../activity-options';
import type { Check } from '../checks/check';
import type { DataLossEstimate, MoveInput, System } from '../definitions';
import type { PlanStep } from '../steps';

/** What a run knows while it moves a pair: the input, the pair's settings, the direction, and the activities. */
export interface RunContext {
  input: MoveInput;
  settings: PairSettings;
  /** The site the pair leaves and the one it moves to. */
  from: string;
  to: string;
  planned: boolean;
  call: ActivityCall;
  /** Replaces the system's data-loss estimate with what a step measured (e.g. what a salvage recovered). */
  reviseDataLoss(estimate: DataLossEstimate): void;
}

/** One vantage point's view of the primary site in one detection round. */
export interface Observation {
  vantage: string;
  /** `worker`: the orchestrator's own view; `peer`: a system of the standby site that talks to the primary. */
  kind: 'worker' | 'peer';
  /** Undefined when this vantage could not tell (e.g. the replica itself did not answer). */
  down: boolean | undefined;
  sentence: string;
}

/** A system's part of a failover plan: its steps (each phase) and what it may lose. */
export interface SystemPlan {
  steps: PlanStep[];
  dataLoss?: DataLossEstimate;
}

/**
 * What one system (MySQL, Elasticsearch, the applications, the traffic switch) contributes to a run: what it
 * reads to judge the primary down, what it checks of the standby, and its steps with their compensations.
 * The phase code only runs steps by phase, so a new system plugs in here without touching it.
 */
export interface SystemContribution {
  system: System;
  observe(ctx: RunContext): Promise<Observation[]>;
  assess(ctx: RunContext): Promise<Check[]>;
  plan(ctx: RunContext): Promise<SystemPlan>;
}
