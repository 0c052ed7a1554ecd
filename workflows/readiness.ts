import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { MysqlServerStatus } from '../activities/mysql/status';
import { evaluateMysqlReadiness, type Check } from './checks/mysql-readiness';
import type { Trigger } from './definitions';
import { Narrator } from './narrate';

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
  decisions: { phase: string; sentence: string }[];
}

const { pairSettings, mysqlServerStatuses } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: {
    initialInterval: '1s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['UnknownPair', 'InvalidCredentials'],
  },
});

/**
 * Non-destructive readiness check of a DR pair (the seed of the readiness drill): reads the state
 * of every MySQL server and says whether the standby could take over now, and if not, why.
 */
export async function readinessCheck(input: ReadinessInput): Promise<ReadinessReport> {
  const narrator = new Narrator();
  const startedAt = new Date().toISOString();
  narrator.enterPhase('assess');
  narrator.say(`checking readiness of pair ${input.pair} (triggered by ${input.trigger}).`);

  const settings = await pairSettings({ pair: input.pair });
  const mysql = await mysqlServerStatuses({ pair: input.pair });
  const checks = evaluateMysqlReadiness(settings, mysql);
  for (const check of checks.filter((c) => !c.ok)) narrator.say(`not ready: ${check.sentence}`);

  const failed = checks.filter((c) => !c.ok);
  const ready = failed.length === 0;
  const verdict = ready
    ? `ready: standby ${settings.sites.standby} could take over; all ${checks.length} MySQL checks pass.`
    : `not ready: ${failed.length} of ${checks.length} MySQL checks fail, first: ${failed[0]?.sentence}`;
  narrator.enterPhase('report');
  narrator.say(verdict);

  return {
    pair: input.pair,
    workflowId: workflowInfo().workflowId,
    startedAt,
    finishedAt: new Date().toISOString(),
    ready,
    verdict,
    checks,
    mysql,
    decisions: narrator.decisions,
  };
}
