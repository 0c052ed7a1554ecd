import { Client, WorkflowIdReusePolicy } from '@temporalio/client';
import { DrMode, DrPair, DrPhase, DrTrigger, TASK_QUEUE, type Trigger } from '../workflows/definitions';
import type { ReadinessReport } from '../workflows/readiness';

/**
 * Starts a readiness check of a pair. With `workflowId` (an alert's own ID), a second start of that ID is refused by
 * Temporal (WorkflowExecutionAlreadyStartedError) even once the first has ended: one check per alert.
 */
export async function startReadinessCheck(
  client: Client,
  pair: string,
  trigger: Trigger,
  taskQueue: string = TASK_QUEUE,
  workflowId = `readiness-${pair}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
) {
  return client.workflow.start('readinessCheck', {
    workflowId,
    taskQueue,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    args: [{ pair, trigger }],
    staticSummary: `Readiness check of DR pair ${pair}`,
    staticDetails: `Non-destructive: reads every MySQL server's replication state, the standby Elasticsearch followers and the traffic switch of **${pair}**, and reports whether the standby could take over.`,
    typedSearchAttributes: [
      { key: DrPair, value: pair },
      { key: DrTrigger, value: trigger },
      { key: DrMode, value: 'readiness' },
      { key: DrPhase, value: 'queued' },
    ],
  });
}

export function formatReadinessReport(report: ReadinessReport): string {
  const lines = [
    `Readiness of pair ${report.pair}: ${report.ready ? 'READY' : 'NOT READY'}`,
    `  ${report.verdict}`,
    '',
    ...report.checks.map((c) => `  [${c.ok ? ' ok ' : 'FAIL'}] ${c.sentence}`),
    '',
    '  servers:',
    ...report.mysql.map((s) =>
      s.reachable
        ? `    ${s.server} (${s.site}) ${s.dialect} ${s.version} read_only=${s.readOnly} gtid=${s.gtidExecuted || '-'}` +
          (s.replication
            ? ` replica of ${s.replication.sourceHost}:${s.replication.sourcePort} io=${s.replication.ioRunning} sql=${s.replication.sqlRunning} lag=${s.replication.lagSeconds ?? '-'}s`
            : '')
        : `    ${s.server} (${s.site}) unreachable: ${s.error?.message}`,
    ),
    '',
    `  workflow ${report.workflowId}, ${report.startedAt} → ${report.finishedAt}`,
  ];
  return lines.join('\n');
}
