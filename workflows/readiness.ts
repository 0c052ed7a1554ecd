import { ActivityFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EsFollowerStatusReport, EsHealthObservation } from '../activities/elasticsearch';
import type { MysqlServerStatus } from '../activities/mysql/status';
import type { OvhDbReadiness } from '../activities/ovh-database';
import type { PgServerStatus } from '../activities/postgresql';
import type { PairSettings } from '../activities/pair-settings';
import type { RedisServerStatus } from '../activities/redis';
import type { TrafficState } from '../activities/traffic';
import { NON_RETRYABLE } from './activity-options';
import type { Check } from './checks/check';
import { evaluateEsReadiness } from './checks/es-readiness';
import { evaluateMysqlReadiness } from './checks/mysql-readiness';
import { evaluateRedisReadiness } from './checks/redis-readiness';
import { evaluateTrafficReadiness } from './checks/traffic-readiness';
import type { Trigger } from './definitions';
import { recordReadiness } from './metrics';
import { Narrator } from './narrate';
import { APP_CONFIG_PATCH, writtenConfigs } from './systems/apps';
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
  /** Whether each OVH managed database can be restored into its DR region, and from when (ovhDatabases section). */
  ovhDatabases?: OvhDbReadiness[];
  /** Every Redis server's replication state (runbooks with a redis section). */
  redis?: RedisServerStatus[];
  /** Every PostgreSQL server (runbooks with a postgresql section). */
  postgresql?: PgServerStatus[];
  decisions: { phase: string; sentence: string }[];
}

/** Runs recorded before this patch read MySQL only; it keeps them replaying. */
export const READINESS_ES_TRAFFIC_PATCH = 'readiness-es-traffic';

/** Readiness of the OVH managed databases (only runbooks with an ovhDatabases section, which older runs never had). */
export const READINESS_OVH_DATABASE_PATCH = 'readiness-ovh-database';

const { pairSettings, mysqlServerStatuses } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: {
    initialInterval: '1s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/** A readiness check reports what does not answer rather than waiting long for it: few, short retries. */
const {
  esClusterHealth,
  esFollowerStatus,
  trafficCurrentTarget,
  appConfigRead,
  ovhDbReadiness,
  redisServerStatuses,
  pgServerStatuses,
} = proxyActivities<Activities>({
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
  const report: Pick<ReadinessReport, 'elasticsearch' | 'traffic' | 'ovhDatabases' | 'redis' | 'postgresql'> =
    {};
  if (patched(READINESS_ES_TRAFFIC_PATCH)) {
    if (settings.elasticsearch) {
      report.elasticsearch = await assessElasticsearch(settings, checks);
    }
    if (settings.traffic) {
      report.traffic = await assessTraffic(settings, checks);
    }
  }
  const configured = writtenConfigs(settings, settings.sites.standby);
  if (configured.length > 0 && patched(APP_CONFIG_PATCH))
    await assessAppConfigs(settings, configured, checks);
  if (settings.ovhDatabases && patched(READINESS_OVH_DATABASE_PATCH)) {
    report.ovhDatabases = await assessManagedDatabases(settings, checks);
  }
  // Runbooks without a redis section read exactly what they did.
  if (settings.redis) report.redis = await assessRedis(settings, checks);
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

/**
 * The standby apps whose configuration a move writes (a template, a DNS record): it must be readable (its template
 * rendering, its record found), or a failover would stop at its assessment.
 */
async function assessAppConfigs(
  settings: PairSettings,
  hosts: ReturnType<typeof writtenConfigs>,
  checks: Check[],
): Promise<void> {
  const results = await Promise.all(
    hosts.map(async (h): Promise<Check> => {
      try {
        const r = await appConfigRead({ pair: settings.pair, host: h.name });
        return { name: `app-${h.name}.config`, ok: true, sentence: r.description };
      } catch (err) {
        return {
          name: `app-${h.name}.config`,
          ok: false,
          sentence: `the configuration of standby app ${h.name} cannot be read: ${failureText(err)}.`,
        };
      }
    }),
  );
  checks.push(...results);
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

/** Each managed database restorable into its DR region from a recent backup; one that cannot be read fails its check. */
async function assessManagedDatabases(settings: PairSettings, checks: Check[]): Promise<OvhDbReadiness[]> {
  const results: OvhDbReadiness[] = [];
  for (const db of settings.ovhDatabases ?? []) {
    const name = `ovh-database.${db.name}.restorable`;
    try {
      const r = await ovhDbReadiness({ pair: settings.pair, name: db.name });
      checks.push({ name, ok: r.ok, sentence: r.sentence });
      results.push(r);
    } catch (err) {
      checks.push({
        name,
        ok: false,
        sentence: `managed database ${db.name} cannot be checked: ${failureText(err)}.`,
      });
    }
  }
  return results;
}

/** Whether the standby's Redis could take over now: the same checks as a planned move's assessment. */
async function assessRedis(settings: PairSettings, checks: Check[]): Promise<RedisServerStatus[]> {
  const statuses = await redisServerStatuses({ pair: settings.pair });
  checks.push(
    ...evaluateRedisReadiness(settings.redis!, statuses, {
      from: settings.sites.primary,
      to: settings.sites.standby,
      planned: true,
    }),
  );
  return statuses;
}

function failureText(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
