/**
 * A real planned failover on a scratch DR pair (its own MariaDB trio, ES emulator, apps, HAProxy and worker; the
 * shared Temporal server), then its services stopped and started as `drctl stack down` / `up` stop and start the
 * stack's: the pair comes back as the move left it. Never the shared stack.
 */
import { describe, expect, it } from 'vitest';
import { esEmulator } from '../dev/stack/services/es-emulator';
import { haproxy } from '../dev/stack/services/haproxy';
import { MariadbCluster } from '../dev/stack/services/mariadb';
import { withEnv } from './helpers/env';
import { reportWithin, startPairFailover } from './helpers/failover-e2e';
import { type DrPairSnapshot, type ScratchDrPair } from './helpers/scratch-dr-pair';
import { pairWithWorker } from './helpers/pair-with-worker';

describe('the stack after a real failover: stopped and started, it comes back as the move left it', () => {
  const t = pairWithWorker('stack-after-move', { autoApprove: true });

  it('MariaDB, Elasticsearch and HAProxy keep the moved state across a stop and a start; a reset returns to the initial one', async () => {
    const initial = await t.pair.snapshot();
    const report = await reportWithin(
      await startPairFailover(t.client, t.pair.pair, 'planned', t.taskQueue, t.runs),
    );
    expect(report.outcome).toBe('completed');
    await t.worker.stop(); // as `stack down` stops the stack's worker first
    const moved = await t.pair.snapshot();
    expect(moved.mysql['db-rbx-1']).toMatchObject({ readOnly: false, replicatesFrom: null });

    // The pair's own services, found by its folder and ports, as the stack finds its own.
    const env = {
      DR_STACK_DIR: t.pair.dir,
      DR_STACK_PORT_ES_GRA: new URL(t.pair.esUrl('gra')).port,
      DR_STACK_PORT_ES_RBX: new URL(t.pair.esUrl('rbx')).port,
      DR_STACK_PORT_HAPROXY: new URL(t.pair.frontendUrl()).port,
      DR_STACK_PORT_APP_GRA: new URL(t.pair.appUrl('gra')).port,
      DR_STACK_PORT_APP_RBX: new URL(t.pair.appUrl('rbx')).port,
    };
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const es = await withEnv(env, async () => esEmulator(log));
    const proxy = await withEnv(env, async () => haproxy(log));
    const cluster = new MariadbCluster(t.pair.cluster.spec, log);

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
    const restarted = await settled(t.pair, moved);
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
    const reset = await settled(t.pair, initial);
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
