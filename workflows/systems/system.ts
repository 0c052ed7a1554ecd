import type { PairSettings } from '../../activities/pair-settings';
import type { ActivityCall } from '../activity-options';
import type { Check } from '../checks/check';
import type { DataLossEstimate, MoveInput, System } from '../definitions';
import type { PlanStep } from '../steps';

/**
 * Runs that warm the standby up before the fence (apps started, catch-up and follower lag brought near zero, the
 * traffic target checked), fence the databases in parallel once the old site is drained, and re-probe the apps
 * inside the window.
 */
export const FENCE_WINDOW_PATCH = 'fence-window';

/** Unplanned runs that do not try to fence a system every vantage saw down in every detection round. */
export const SEEN_DOWN_PATCH = 'fence-skips-seen-down';

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
  /** What the plan promotes, once a system's plan has chosen it (MySQL's plan runs before the apps'). */
  promoted?: { mysql?: string };
  /**
   * Asks the runbook's approvers a question of a step's own that only a human may answer (no automatic approval, no
   * approval by timeout); the run goes back to the step's phase afterwards. Absent where a run cannot ask.
   */
  approve?(question: string): Promise<{ approved: boolean; by: string; reason: string }>;
}

/** One vantage point's view of the primary site in one detection round. */
export interface Observation {
  /** The system of the primary site this vantage sees (absent from the reports of runs before per-system detection). */
  system?: System;
  vantage: string;
  /**
   * `worker`: the orchestrator's own view; `peer`: a witness of the same system that talks to the primary (a
   * replica's IO thread, the standby ES cluster's remote connection, the traffic switch's health check).
   */
  kind: 'worker' | 'peer';
  /** Undefined when this vantage could not tell (e.g. the replica itself did not answer). */
  down: boolean | undefined;
  sentence: string;
}

/**
 * How a run observes: `perSystem` for runs that judge each system by its own witnesses (patch
 * `per-system-detection`), which observe more (the traffic switch's view); false for runs started before it.
 */
export interface ObserveOptions {
  perSystem: boolean;
}

/** A system's part of a failover plan: its steps (each phase) and what it may lose. */
export interface SystemPlan {
  steps: PlanStep[];
  dataLoss?: DataLossEstimate;
  /** What the plan assumes or how it orders things, each in one sentence, said after the plan's. */
  notes?: string[];
}

/**
 * What one system (MySQL, Elasticsearch, the applications, the traffic switch) contributes to a run: what it
 * reads to judge the primary down, what it checks of the standby, and its steps with their compensations.
 * The phase code only runs steps by phase, so a new system plugs in here without touching it.
 */
export interface SystemContribution {
  system: System;
  observe(ctx: RunContext, options: ObserveOptions): Promise<Observation[]>;
  assess(ctx: RunContext): Promise<Check[]>;
  plan(ctx: RunContext): Promise<SystemPlan>;
}
