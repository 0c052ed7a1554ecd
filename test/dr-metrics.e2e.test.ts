/**
 * The DR metrics on a real worker's /metrics (worker/metrics.ts): on a scratch DR pair, a readiness check sets the
 * pair's gauges; a replica whose replication is stopped changes them at the next check.
 */
import type { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readinessCheck } from '../workflows';
import type { ReadinessReport } from '../workflows/readiness';
import { temporalClient, testTaskQueue } from './helpers/local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';

/** Each sample of the exposition text whose name is `name`, by its label set as written. */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) found.set(match[2] ?? '', Number(match[3]));
  }
  return found;
}

/** The value of `name` whose labels include each of `labels`; undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const [set, value] of samples(text, name))
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) return value;
  return undefined;
}

describe('DR metrics on the worker /metrics (scratch DR pair)', () => {
  let pair: ScratchDrPair;
  let worker: WorkerProcess;
  let client: Client;
  let connection: Connection | undefined;
  const taskQueue = testTaskQueue('dr-metrics');

  beforeAll(async () => {
    pair = await startScratchDrPair();
    worker = await startWorkerProcess({ runbookPath: pair.runbookPath, taskQueue });
    ({ client, connection } = await temporalClient());
  }, 180_000);

  afterAll(async () => {
    await worker?.stop();
    await pair?.close();
    await connection?.close();
  });

  const metrics = async () => (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();

  async function readiness(): Promise<ReadinessReport> {
    return client.workflow.execute(readinessCheck, {
      args: [{ pair: pair.pair, trigger: 'test' }],
      taskQueue,
      workflowId: `dr-metrics-readiness-${pair.pair}-${Date.now()}`,
    });
  }

  /** The exposition text once the gauge of the check that ended at `finishedAt` is there (bounded wait). */
  async function metricsAfter(report: ReadinessReport): Promise<string> {
    const checkedAt = Date.parse(report.finishedAt) / 1000;
    for (let i = 0; i < 100; i++) {
      const text = await metrics();
      const at = sample(text, 'dr_readiness_last_check_timestamp_seconds', { pair: pair.pair });
      if (at !== undefined && Math.abs(at - checkedAt) < 0.01) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the worker's /metrics never showed the check that ended at ${report.finishedAt}`);
  }

  it('a readiness check sets the gauges, and a replica that stops replicating changes them at the next', async () => {
    const p = { pair: pair.pair };
    const before = await metrics();
    expect(sample(before, 'dr_pair_info', p)).toBe(1);
    expect(sample(before, 'dr_standby_ready', p)).toBeUndefined();

    const ready = await readiness();
    expect(ready.ready).toBe(true);
    const first = await metricsAfter(ready);
    expect(sample(first, 'dr_standby_ready', p)).toBe(1);
    expect(sample(first, 'dr_readiness_failing_checks', p)).toBe(0);
    expect(sample(first, 'dr_readiness_last_ready_timestamp_seconds', p)).toBe(
      Date.parse(ready.finishedAt) / 1000,
    );
    for (const server of ['db-rbx-1', 'db-rbx-2']) {
      expect(sample(first, 'dr_mysql_replica_replicating', { ...p, server })).toBe(1);
      expect(sample(first, 'dr_mysql_replica_lag_seconds', { ...p, server })).toBe(0);
    }
    expect(sample(first, 'dr_mysql_replica_replicating', { ...p, server: 'db-gra-1' })).toBeUndefined();
    expect(sample(first, 'dr_mysql_max_lag_seconds', p)).toBeGreaterThan(0);
    expect(sample(first, 'dr_traffic_target', { ...p, site: 'gra' })).toBe(1);
    expect(sample(first, 'dr_traffic_target', { ...p, site: 'rbx' })).toBe(0);
    expect(sample(first, 'dr_es_follower_lag_operations', { ...p, index: 'orders' })).toBe(0);

    await pair.cluster.sql('db-rbx-1', 'STOP SLAVE');
    const notReady = await readiness();
    expect(notReady.ready).toBe(false);
    const second = await metricsAfter(notReady);
    expect(sample(second, 'dr_standby_ready', p)).toBe(0);
    expect(sample(second, 'dr_readiness_failing_checks', p)).toBeGreaterThan(0);
    expect(sample(second, 'dr_mysql_replica_replicating', { ...p, server: 'db-rbx-1' })).toBe(0);
    expect(sample(second, 'dr_mysql_replica_lag_seconds', { ...p, server: 'db-rbx-1' })).toBeNaN();
    expect(sample(second, 'dr_mysql_replica_replicating', { ...p, server: 'db-rbx-2' })).toBe(1);
    // The last time it was ready stays that of the first check: the alert rules compare the two.
    expect(sample(second, 'dr_readiness_last_ready_timestamp_seconds', p)).toBe(
      Date.parse(ready.finishedAt) / 1000,
    );
    expect(sample(second, 'dr_readiness_last_check_timestamp_seconds', p)).toBeGreaterThan(
      Date.parse(ready.finishedAt) / 1000,
    );
  });
});
