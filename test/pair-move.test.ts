import type { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFailback } from '../client/failback';
import { startFailover } from '../client/failover';
import { pairMoveWorkflowId } from '../workflows/definitions';
import { temporalClient, testTaskQueue } from './helpers/local-stack';

/**
 * One move per pair: the client starts a failover or a failback under the pair's move ID. Against the stack's
 * Temporal server, on a task queue no worker serves (the runs stay queued) and a pair no runbook names.
 */
describe('starting a move of a pair', () => {
  let client: Client;
  let connection: Connection;
  const pair = `move-test-${randomUUID().slice(0, 8)}`;
  const taskQueue = testTaskQueue('pair-move');
  const asked = { trigger: 'cli', reason: 'test', requestedBy: 'alice' } as const;

  beforeAll(async () => {
    ({ client, connection } = await temporalClient());
  });
  afterAll(async () => {
    await client?.workflow
      .getHandle(pairMoveWorkflowId(pair))
      .terminate('test over')
      .catch(() => undefined);
    await connection?.close();
  });

  it('joins the failover already running, and refuses a failback or another mode while it runs, saying why', async () => {
    const first = await startFailover(client, { pair, mode: 'planned', ...asked }, { taskQueue });
    const second = await startFailover(client, { pair, mode: 'planned', ...asked }, { taskQueue });
    expect(first.workflowId).toBe(pairMoveWorkflowId(pair));
    expect((await second.describe()).runId).toBe((await first.describe()).runId);
    expect(await (await first.describe()).staticSummary()).toBe(`planned failover of DR pair ${pair}`);

    await expect(startFailback(client, { pair, mode: 'full', ...asked }, { taskQueue })).rejects.toThrow(
      `refusing to start a full failback of ${pair}: a planned failover of this pair is running (workflow ${pairMoveWorkflowId(pair)}, run ${(await first.describe()).runId}); wait for it or cancel it first.`,
    );
    await expect(startFailover(client, { pair, mode: 'unplanned', ...asked }, { taskQueue })).rejects.toThrow(
      `refusing to start an unplanned failover of ${pair}: a planned failover of this pair is running (workflow ${pairMoveWorkflowId(pair)}, run ${(await first.describe()).runId}); wait for it or cancel it first.`,
    );
  });
});
