import { ActivityFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EsFollowerStatusReport, EsHealthObservation } from '../activities/elasticsearch';
import type { MysqlServerStatus } from '../activities/mysql/status';
import type { PgServerStatus } from '../activities/postgresql';
import type { PairSettings } from '../activities/pair-settings';
import type { TrafficState } from '../activities/traffic';
import { NON_RETRYABLE } from './activity-options';
import type { Check } from './checks/check';
import { evaluateEsReadiness } from './checks/es-readiness';
import { evaluateMysqlReadiness } from './checks/mysql-readiness';
import { evaluateTrafficReadiness } from './checks/traffic-readiness';
import type { Trigger } from './definitions';
import { recordReadiness } from './metrics';
import { Narrator } from './narrate';
import { evaluatePgReadiness } from './systems/postgresql';

export interface ReadinessInput {
  pair: string;
  trigger: Trigger;
}

export interface ReadinessReport {
  pair: string;
  workflowId: string;
  startedAt: string;
  finishedAt: string;
  ready: boolean;
  /** The verdict in one sentence. */
  verdict: string;
  checks: Check[];
  mysql: MysqlServerStatus[];
  /** The standby cluster's health and its followers (runbooks with an elasticsearch section). */
  elasticsearch?: { health: EsHealthObservation; followers?: EsFollowerStatusReport };
  /** Where traffic goes now (runbooks with a traffic section). */
  traffic?: TrafficState;
  /** Every PostgreSQL server (runbooks with a postgresql section). */
  postgresql?: PgServerStatus[];
  decisions: { phase: string; sentence: string }[];
}

/** Runs recorded before this patch read MySQL only; it keeps them replaying. */
export const READINESS_ES_TRAFFIC_PATCH = 'readiness-es-traffic';

const { pairSettings, mysqlServerStatuses } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: {
    initialInterval: '1s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/** A readiness check reports what does not answer rather than waiting long for it: few, short retries. */
const { esClusterHealth, esFollowerStatus, trafficCurrentTarget, pgServerStatuses } =
  proxyActivities<Activities>({
    startToCloseTimeout: '1m',
    retry: { initialInterval: '1s', maximumAttempts: 2, nonRetryableErrorTypes: NON_RETRYABLE },
  });

/**
 * Non-destructive readiness check of a DR pair (the seed of the readiness drill): reads the state of every
 * MySQL server, the standby Elasticsearch followers and the traffic switch, and says whether the standby could
 * take over now, and if not, why.
 */
export async function readinessCheck(input: ReadinessInput): Promise<ReadinessReport> {
  const narrator = new Narrator();
  const startedAt = new Date().toISOString();
  narrator.enterPhase('assess');
  narrator.say(`checking readiness of pair ${input.pair} (triggered by ${input.trigger}).`);

  const settings = await pairSettings({ pair: input.pair });
  const mysql = await mysqlServerStatuses({ pair: input.pair });
  const checks = evaluateMysqlReadiness(settings, mysql);
  const report: Pick<ReadinessReport, 'elasticsearch' | 'traffic' | 'postgresql'> = {};
  if (patched(READINESS_ES_TRAFFIC_PATCH)) {
    if (settings.elasticsearch) {
      report.elasticsearch = await assessElasticsearch(settings, checks);
    }
    if (settings.traffic) {
      report.traffic = await assessTraffic(settings, checks);
    }
  }
  // Only runbooks with a postgresql section read it, so the runs of every other runbook keep their commands.
  if (settings.postgresql) {
    report.postgresql = await pgServerStatuses({ pair: input.pair });
    const { primary, standby } = settings.sites;
    checks.push(...evaluatePgReadiness(settings, report.postgresql, primary, standby, true));
  }
  for (const check of checks.filter((c) => !c.ok)) narrator.say(`not ready: ${check.sentence}`);

  const failed = checks.filter((c) => !c.ok);
  const ready = failed.length === 0;
  const verdict = ready
    ? `ready: standby ${settings.sites.standby} could take over; all ${checks.length} checks pass.`
    : `not ready: ${failed.length} of ${checks.length} checks fail, first: ${failed[0]?.sentence}`;
  narrator.enterPhase('report');
  narrator.say(verdict);

  const result: ReadinessReport = {
    pair: input.pair,
    workflowId: workflowInfo().workflowId,
    startedAt,
    finishedAt: new Date().toISOString(),
    ready,
    verdict,
    checks,
    mysql,
    ...report,
    decisions: narrator.decisions,
  };
  recordReadiness(result, settings);
  return result;
}

/** The standby cluster's health and followers; a cluster that does not answer is a failed check, not an error. */
async function assessElasticsearch(
  settings: PairSettings,
  checks: Check[],
): Promise<ReadinessReport['elasticsearch']> {
  const site = settings.sites.standby;
  const health = await esClusterHealth({ pair: settings.pair, site });
  if (!health.reachable) {
    checks.push(...evaluateEsReadiness(health));
    return { health };
  }
  try {
    const followers = await esFollowerStatus({ pair: settings.pair, site });
    checks.push(...evaluateEsReadiness(health, followers));
    return { health, followers };
  } catch (err) {
    checks.push({
      name: `es-${site}.followers`,
      ok: false,
      sentence: `cannot read the followers on ${site}: ${failureText(err)}.`,
    });
    return { health };
  }
}

async function assessTraffic(settings: PairSettings, checks: Check[]): Promise<TrafficState | undefined> {
  try {
    const state = await trafficCurrentTarget({ pair: settings.pair });
    checks.push(...evaluateTrafficReadiness(settings.sites.primary, state));
    return state;
  } catch (err) {
    checks.push({
      name: 'traffic.target',
      ok: false,
      sentence: `the traffic switch does not answer: ${failureText(err)}.`,
    });
    return undefined;
  }
}

function failureText(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
