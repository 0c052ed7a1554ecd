import { proxySinks, type Sinks } from '@temporalio/workflow';
import type { PairSettings } from '../activities/pair-settings';
import type { FailoverReport } from './failover/report';
import type { ReadinessReport } from './readiness';

/**
 * The DR figures of a pair as workflows learn them, handed to the worker's /metrics (worker/metrics.ts) through a
 * sink: no command, nothing in history, and nothing sent while a run is replayed, so old runs replay unchanged.
 */
export interface ReadinessFacts {
  pair: string;
  ready: boolean;
  /** Unix seconds. */
  checkedAt: number;
  failingChecks: number;
  /** The runbook's `mysql.maxLagSeconds`. */
  maxLagSeconds: number;
  /** Each server that replicates (or should: one that does not answer), with its lag when known. */
  replicas: { server: string; site: string; replicating: boolean; lagSeconds: number | null }[];
  /** Each follower index of the standby cluster, with its lag in operations when known. */
  followers?: { index: string; lagOperations: number | null }[];
  /** The pair's sites, each with whether it receives traffic now. */
  traffic?: { site: string; serving: boolean }[];
}

export interface MoveFacts {
  pair: string;
  type: 'failover' | 'failback';
  mode: string;
  outcome: string;
  /** Unix seconds. */
  endedAt: number;
  /** Measured from the start of the run (moves that completed). */
  rtoSeconds?: number;
  /** From the MySQL fence to the end of the traffic switch (moves that fenced and switched). */
  writeOutageSeconds?: number;
}

export interface DrillFacts {
  pair: string;
  /** `readiness`, `game-day`. */
  mode: string;
  /** The drill's outcome as its report says it (`passed`, `failed`…). */
  outcome: string;
  /** Whether the drill showed the pair can fail over. */
  succeeded: boolean;
  /** Unix seconds. */
  endedAt: number;
}

export interface DrMetricsSinks extends Sinks {
  drMetrics: {
    readiness(facts: ReadinessFacts): void;
    move(facts: MoveFacts): void;
    drill(facts: DrillFacts): void;
  };
}

const { drMetrics } = proxySinks<DrMetricsSinks>();

const unixSeconds = (iso: string) => Date.parse(iso) / 1000;

/** What a readiness check found, as figures per pair. */
export function readinessFacts(report: ReadinessReport, settings: PairSettings): ReadinessFacts {
  const replicas = report.mysql
    .filter((s) => s.replication || !s.reachable)
    .map((s) => ({
      server: s.server,
      site: s.site,
      replicating: s.replication?.ioRunning === 'Yes' && s.replication.sqlRunning === 'Yes',
      lagSeconds: s.replication?.lagSeconds ?? null,
    }));
  const followers = report.elasticsearch?.followers?.indices.map((i) => ({
    index: i.index,
    lagOperations: i.lagOperations ?? null,
  }));
  const serving = report.traffic?.sites;
  return {
    pair: report.pair,
    ready: report.ready,
    checkedAt: unixSeconds(report.finishedAt),
    failingChecks: report.checks.filter((c) => !c.ok).length,
    maxLagSeconds: settings.mysql.maxLagSeconds,
    replicas,
    ...(followers ? { followers } : {}),
    ...(serving
      ? {
          traffic: [settings.sites.primary, settings.sites.standby].map((site) => ({
            site,
            serving: serving.includes(site),
          })),
        }
      : {}),
  };
}

/** A move's figures: its outcome, and for one that completed its RTO and write outage. */
export function moveFacts(report: FailoverReport, type: MoveFacts['type']): MoveFacts {
  const outage = writeOutageSeconds(report);
  return {
    pair: report.pair,
    type,
    mode: report.mode,
    outcome: report.outcome,
    endedAt: unixSeconds(report.finishedAt),
    ...(report.outcome === 'completed' ? { rtoSeconds: report.rto.fromStartMs / 1000 } : {}),
    ...(outage !== undefined ? { writeOutageSeconds: outage } : {}),
  };
}

/**
 * How long the application could not write: from the start of the fence phase (the old site drained, its primary
 * fenced) to the end of the last step of the switch phase (clients reach the new primary). Unknown unless both
 * happened.
 */
function writeOutageSeconds(report: FailoverReport): number | undefined {
  if (report.outcome !== 'completed') return undefined;
  const times = (phase: string, field: 'startedAt' | 'endedAt') =>
    report.steps
      .filter((s) => s.phase === phase && s[field] && s.state !== 'skipped')
      .map((s) => Date.parse(s[field]!));
  const fenced = times('fence', 'startedAt');
  const switched = times('switch', 'endedAt');
  if (fenced.length === 0 || switched.length === 0) return undefined;
  return Math.max(0, Math.max(...switched) - Math.min(...fenced)) / 1000;
}

/** Records a readiness check's figures on the worker's /metrics. */
export function recordReadiness(report: ReadinessReport, settings: PairSettings): void {
  drMetrics.readiness(readinessFacts(report, settings));
}

/** Records a move's end on the worker's /metrics. */
export function recordMove(facts: MoveFacts): void {
  drMetrics.move(facts);
}

/**
 * Records a drill's end on the worker's /metrics (`dr_last_drill_timestamp_seconds`, `dr_last_drill_success`,
 * `dr_drills_total`): the drill workflow calls it once its outcome is known, with the time it ended.
 */
export function recordDrill(facts: Omit<DrillFacts, 'endedAt'> & { endedAt?: Date }): void {
  const { endedAt, ...rest } = facts;
  drMetrics.drill({ ...rest, endedAt: (endedAt ?? new Date()).getTime() / 1000 });
}
