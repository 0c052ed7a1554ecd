/**
 * A failover started as the Temporal UI's "Start Workflow" form does it — by workflow type name, on the stack's
 * task queue, with a JSON input — is run by the stack's own worker. A dry run: it reads the local pair and
 * changes nothing.
 */
import type { Client, Connection } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FailoverReport } from '../workflows';
import { pairMoveWorkflowId, planQuery, TASK_QUEUE } from '../workflows/definitions';
import { LOCAL_PAIR, temporalClient } from './helpers/local-stack';
import { takeTurns } from './helpers/turns';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

describe('failover started like the Temporal UI does', () => {
  let client: Client;
  let connection: Connection;
  beforeAll(async () => {
    ({ client, connection } = await temporalClient());
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('a dry run by type name and JSON input returns the plan of the local pair, and a second start joins it', async () => {
    const options = {
      workflowId: pairMoveWorkflowId(LOCAL_PAIR),
      taskQueue: TASK_QUEUE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      args: [
        { pair: LOCAL_PAIR, mode: 'dry-run', trigger: 'ui', reason: 'UI form test', requestedBy: 'tester' },
      ],
    };
    const [first, second] = await Promise.all([
      client.workflow.start('failover', options),
      client.workflow.start('failover', options),
    ]);
    expect(second.firstExecutionRunId).toBe(first.firstExecutionRunId);
    const report = (await first.result()) as FailoverReport;
    expect(report.outcome).toBe('dry-run');
    expect(report.plan?.steps.map((s) => s.id)).toEqual(
      expect.arrayContaining([
        'mysql.fence',
        'mysql.promote',
        'es.promote',
        'traffic.switch',
        'traffic.verify',
      ]),
    );
    expect(report.plan?.steps.find((s) => s.id === 'mysql.promote')?.target).toBe('db-rbx-1');
    expect(await first.query(planQuery)).toEqual(report.plan);
    expect(report.steps.every((s) => s.state === 'pending')).toBe(true);
  });
});
