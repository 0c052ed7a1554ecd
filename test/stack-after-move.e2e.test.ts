/**
 * A real planned failover on a scratch DR pair (its own MariaDB trio, ES emulator, apps, HAProxy and worker; the
 * shared Temporal server), then its services stopped and started as `drctl stack down` / `up` stop and start the
 * stack's: the pair comes back as the move left it. Never the shared stack.
 */
import type { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esEmulator } from '../dev/stack/services/es-emulator';
import { haproxy } from '../dev/stack/services/haproxy';
import { MariadbCluster } from '../dev/stack/services/mariadb';
import { withEnv } from './helpers/env';
import { reportWithin, startPairFailover } from './helpers/failover-e2e';
import { temporalClient, testTaskQueue } from './helpers/local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type DrPairSnapshot,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';

describe('the stack after a real failover: stopped and started, it comes back as the move left it', () => {
  let pair: ScratchDrPair;
  let worker: WorkerProcess;
  let client: Client;
  let connection: Connection | undefined;
  const taskQueue = testTaskQueue('stack-after-move');
  const runs: { workflowId: string; runId: string }[] = [];

  beforeAll(async () => {
    pair = await startScratchDrPair({
      edit: (runbook) => {
        runbook.approval = { ...runbook.approval!, policy: 'auto' };
      },
    });
    worker = await startWorkerProcess({ runbookPath: pair.runbookPath, taskQueue });
    ({ client, connection } = await temporalClient());
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await pair?.close();
    await connection?.close();
  });

  it('MariaDB, Elasticsearch and HAProxy keep the moved state across a stop and a start; a reset returns to the initial one', async () => {
    const initial = await pair.snapshot();
    const report = await reportWithin(await startPairFailover(client, pair.pair, 'planned', taskQueue, runs));
    expect(report.outcome).toBe('completed');
    await worker.stop(); // as `stack down` stops the stack's worker first
    const moved = await pair.snapshot();
    expect(moved.mysql['db-rbx-1']).toMatchObject({ readOnly: false, replicatesFrom: null });

    // The pair's own services, found by its folder and ports, as the stack finds its own.
    const env = {
      DR_STACK_DIR: pair.dir,
      DR_STACK_PORT_ES_GRA: new URL(pair.esUrl('gra')).port,
      DR_STACK_PORT_ES_RBX: new URL(pair.esUrl('rbx')).port,
      DR_STACK_PORT_HAPROXY: new URL(pair.frontendUrl()).port,
      DR_STACK_PORT_APP_GRA: new URL(pair.appUrl('gra')).port,
      DR_STACK_PORT_APP_RBX: new URL(pair.appUrl('rbx')).port,
    };
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const es = await withEnv(env, async () => esEmulator(log));
    const proxy = await withEnv(env, async () => haproxy(log));
    const cluster = new MariadbCluster(pair.cluster.spec, log);

    await withEnv(env, () => proxy.down());
    await es.down();
    await cluster.down();
    await cluster.up();
    await es.up();
    await withEnv(env, () => proxy.up());

    expect(lines).toContainEqual(
      expect.stringMatching(/: db-rbx-1 is the primary, as the last move left it/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^es-emulator: restored the pair as the last stop left it/),
    );
    const restarted = await settled(pair, moved);
    expect(withoutApps(restarted)).toEqual(withoutApps(moved));
    expect(restarted.traffic.servers).toEqual({ 'app-gra': 'drain', 'app-rbx': 'ready' });

    // What `drctl stack reset` does to these services: stop, forget what the move left, start.
    await withEnv(env, () => proxy.down());
    await es.down();
    await cluster.reset();
    await es.forget!();
    await withEnv(env, () => proxy.forget!());
    await cluster.up();
    await es.up();
    await withEnv(env, () => proxy.up());
    const reset = await settled(pair, initial);
    expect(withoutApps(reset)).toEqual(withoutApps(initial));
    expect(reset.mysql['db-gra-1']).toMatchObject({ readOnly: false, replicatesFrom: null });
    expect(reset.traffic.servers).toEqual({ 'app-gra': 'ready', 'app-rbx': 'drain' });
  });
});

const withoutApps = (snapshot: DrPairSnapshot) => ({ ...snapshot, apps: undefined });

/** The pair's snapshot once it equals `expected` (replication threads reconnect), else the last one, within 20 s. */
async function settled(pair: ScratchDrPair, expected: DrPairSnapshot): Promise<DrPairSnapshot> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const snapshot = await pair.snapshot();
    if (JSON.stringify(withoutApps(snapshot)) === JSON.stringify(withoutApps(expected))) return snapshot;
    if (Date.now() > deadline) return snapshot;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
