/** What the bench's Temporal contenders share: the workflows bundled once, and one client of the stack's server. */
import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startScratchDrPair,
  type ScratchDrPair,
  type ScratchDrPairOptions,
} from '../test/helpers/scratch-dr-pair';
import { startWorkerProcess, temporalAddress, type WorkerProcess } from '../test/helpers/worker-process';
import { bundleWorkflows } from '../worker/bundle';

export class BenchTemporal {
  bundle = '';
  private connection?: Connection;
  private ownClient?: Client;

  get client(): Client {
    if (!this.ownClient) throw new Error('bench: Temporal used before setup()');
    return this.ownClient;
  }

  async setup(log: (line: string) => void): Promise<void> {
    if (this.ownClient) return;
    this.bundle = path.join(os.tmpdir(), `dr-bench-workflows-${randomUUID().slice(0, 8)}.js`);
    log(`bundling the workflows into ${this.bundle}`);
    await bundleWorkflows(this.bundle);
    this.connection = await Connection.connect({ address: temporalAddress() });
    this.ownClient = new Client({ connection: this.connection, namespace: 'default' });
  }

  async teardown(): Promise<void> {
    await this.connection?.close();
    if (this.bundle) rmSync(this.bundle, { force: true });
    this.ownClient = undefined;
  }
}

/** The size of a scratch pair: its follower indices and standby MySQL replicas (the scratch pair's defaults: 3, 2). */
export type PairShape = Pick<ScratchDrPairOptions, 'followerIndices' | 'standbyReplicas'>;

/**
 * A fresh scratch pair of `shape` whose runbook approves the move by policy (and takes `edit`'s changes), closed
 * after `use`.
 */
export async function withScratchPair<T>(
  use: (pair: ScratchDrPair) => Promise<T>,
  shape: PairShape = {},
  edit?: ScratchDrPairOptions['edit'],
): Promise<T> {
  const pair = await startScratchDrPair({
    ...shape,
    edit: (runbook) => {
      runbook.approval = { ...runbook.approval!, policy: 'auto' };
      edit?.(runbook);
    },
  });
  try {
    return await use(pair);
  } finally {
    await pair.close();
  }
}

/** The orchestrator's worker as a process serving `pair` on a task queue of its own, stopped after `use`. */
export async function withWorker<T>(
  temporal: BenchTemporal,
  pair: ScratchDrPair,
  use: (worker: WorkerProcess, taskQueue: string) => Promise<T>,
): Promise<T> {
  return withWorkers(temporal, pair, 1, ([worker], taskQueue) => use(worker!, taskQueue));
}

/**
 * `count` worker processes serving `pair` on one task queue of its own (as production runs one per site), all
 * stopped after `use` (a worker `use` killed is already gone).
 */
export async function withWorkers<T>(
  temporal: BenchTemporal,
  pair: ScratchDrPair,
  count: number,
  use: (workers: WorkerProcess[], taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `bench-${pair.pair}`;
  const started = await Promise.allSettled(
    Array.from({ length: count }, () =>
      startWorkerProcess({ runbookPath: pair.runbookPath, taskQueue, workflowBundle: temporal.bundle }),
    ),
  );
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return await use(workers, taskQueue);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
