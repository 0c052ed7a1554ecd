import type { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll } from 'vitest';
import { timer } from './failover-e2e';
import { temporalClient, testTaskQueue } from './local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type ScratchDrPair,
  type ScratchDrPairOptions,
  type WorkerProcess,
} from './scratch-dr-pair';

/** What an end-to-end file moves: a scratch DR pair, a worker of its own for it, and a Temporal client. */
export interface PairWithWorker {
  pair: ScratchDrPair;
  worker: WorkerProcess;
  client: Client;
  /** The worker's task queue, of this file alone. */
  taskQueue: string;
  /** The runs the file's tests started, for what they assert over them afterwards. */
  runs: { workflowId: string; runId: string }[];
}

export interface PairWithWorkerOptions extends ScratchDrPairOptions {
  /** The runbook's approval policy is `auto`: the runs move without waiting for a human. */
  autoApprove?: boolean;
  /** How long the pair and its worker may take to start (default 180 s). */
  setupTimeoutMs?: number;
  /** Prints how long the setup took, under this name (`[e2e] <name>: 8.4 s`). */
  timed?: string;
}

/**
 * Starts a scratch DR pair, a worker on a task queue named after `name` and a Temporal client before the file's
 * tests (a `beforeAll` of the describe it is called in), and stops all three after them, whatever the tests did.
 * The returned object's fields are set once the setup ran.
 */
export function pairWithWorker(name: string, options: PairWithWorkerOptions = {}): PairWithWorker {
  const { autoApprove, setupTimeoutMs = 180_000, timed, ...pairOptions } = options;
  const t = { taskQueue: testTaskQueue(name), runs: [] } as unknown as PairWithWorker;
  let connection: Connection | undefined;
  beforeAll(async () => {
    const done = timed ? timer(timed) : undefined;
    t.pair = await startScratchDrPair(autoApprove ? autoApproving(pairOptions) : pairOptions);
    t.worker = await startWorkerProcess({ runbookPath: t.pair.runbookPath, taskQueue: t.taskQueue });
    ({ client: t.client, connection } = await temporalClient());
    done?.();
  }, setupTimeoutMs);
  afterAll(async () => {
    await t.worker?.stop();
    await t.pair?.close();
    await connection?.close();
  });
  return t;
}

function autoApproving(options: ScratchDrPairOptions): ScratchDrPairOptions {
  return {
    ...options,
    edit: (runbook) => {
      runbook.approval = { ...runbook.approval!, policy: 'auto' };
      options.edit?.(runbook);
    },
  };
}
