/**
 * Cancellation of a failover on the real dev server (the time-skipping test server does not handle a cancel of a
 * running activity that the workflow waits for): the workflow's activities replaced by the in-memory pair, run by
 * a worker in this process on a task queue of its own.
 */
import type { Client, Connection } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failover } from '../workflows';
import { pairMoveWorkflowId, type FailoverInput } from '../workflows/definitions';
import { FakePair, fakeSettings } from './helpers/fake-pair';
import {
  quietRuntime,
  temporalClient,
  testTaskQueue,
  testWorkflowBundle,
  workerConnection,
} from './helpers/local-stack';

describe('failover cancellation (dev server, in-memory pair)', () => {
  let client: Client;
  let clientConnection: Connection;
  let nativeConnection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = testTaskQueue('failover-cancel');
  const pair = new FakePair(
    fakeSettings({
      approval: { policy: 'auto', approvers: ['alice'], timeoutMs: 1_800_000, onTimeout: 'reject' },
    }),
  );

  beforeAll(async () => {
    quietRuntime();
    ({ client, connection: clientConnection } = await temporalClient());
    nativeConnection = await workerConnection();
    worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: { codePath: testWorkflowBundle() },
      activities: pair.activities(),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await nativeConnection?.close();
    await clientConnection?.close();
  });

  it('a cancel while a step runs waits for that step to end before anything is undone', async () => {
    pair.settings.timeouts.heartbeatMs = 1000;
    pair.slow('appStart', 30_000);
    const input: FailoverInput = {
      pair: 'fake',
      mode: 'planned',
      trigger: 'test',
      reason: 'cancel test',
      requestedBy: 'tester',
    };
    const handle = await client.workflow.start(failover, {
      args: [input],
      taskQueue,
      workflowId: pairMoveWorkflowId(input.pair),
    });
    const deadline = Date.now() + 20_000;
    while (!pair.calls.includes('appStart app-rbx-1') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    expect(pair.calls).toContain('appStart app-rbx-1');
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    const ended = pair.calls.indexOf('appStart app-rbx-1 ended');
    expect(ended).toBeGreaterThan(-1);
    expect(pair.calls.indexOf('appStop app-rbx-1')).toBeGreaterThan(ended);
    // The app starts in the warm-up: the cancel came before the drain, so nothing of gra was touched.
    expect(pair.changes()).toEqual(['appStart app-rbx-1', 'appStart app-rbx-1 ended', 'appStop app-rbx-1']);
    expect(pair.state.mysql['db-gra-1']!.readOnly).toBe(false);
  }, 40_000);
});
