/**
 * End to end with a Redis session store (a scratch DR pair with `redis: true`: redis-gra the master, redis-rbx its
 * replica, each site's Perl app keeping its login sessions in its site's Redis; the real worker as a process; the
 * shared Temporal dev server). A session created through the public entry point before a move is still valid after
 * it, no acknowledged login is lost, and the pair ends in forward replication. Unplanned, the dead site's Redis,
 * when it comes back, is fenced by the failover's watcher.
 */
import { describe, expect, it } from 'vitest';
import type { fenceOldSite } from '../workflows';
import { fenceWatchWorkflowId } from '../workflows/definitions';
import { waitUntil } from './helpers/apps-traffic';
import {
  historyText,
  leakedSecrets,
  reportApprovingEachQuestion,
  runbookSecrets,
  reportWithin,
  startPairFailback,
  startPairFailover,
  timer,
} from './helpers/failover-e2e';
import { pairWithWorker } from './helpers/pair-with-worker';
import { expectEveryAcknowledgedSessionOn, login, sessionLoad, sessionSeen } from './helpers/redis-sessions';

describe('Redis sessions end to end: planned failover then failback', () => {
  const ctx = pairWithWorker('e2e-redis-planned', { redis: true, autoApprove: true });

  it('a session survives both moves, no acknowledged login is lost, and Redis ends in forward replication', async () => {
    const done = timer('redis: planned failover then failback with sessions');
    const { pair, client, taskQueue, runs } = ctx;
    const alice = await login(pair, 'alice');
    expect(await sessionSeen(pair, alice)).toMatchObject({
      status: 200,
      valid: true,
      user: 'alice',
      site: 'gra',
    });
    const load = sessionLoad(pair.frontendUrl(''));
    await waitUntil('gra acknowledges logins', async () => load.acknowledgedBy('gra').length >= 50);

    const failover = await reportWithin(
      await startPairFailover(client, pair.pair, 'planned', taskQueue, runs),
    );
    expect(failover.outcome, failover.sentence).toBe('completed');
    expect(failover.steps.filter((s) => s.system === 'redis').map((s) => [s.id, s.state])).toEqual([
      ['redis.fence', 'done'],
      ['redis.catch-up', 'done'],
      ['redis.promote', 'done'],
      ['redis.repoint', 'done'],
    ]);
    expect(failover.steps.find((s) => s.id === 'redis.promote')?.sentence).toMatch(
      /^redis-rbx is the master with everything redis-gra held \(offset \d+; FAILOVER handed over/,
    );
    expect(await sessionSeen(pair, alice)).toMatchObject({
      status: 200,
      valid: true,
      user: 'alice',
      site: 'rbx',
    });
    const failedOverAt = Date.now();
    await waitUntil(
      'rbx acknowledges logins',
      async () => load.acknowledgedBy('rbx', failedOverAt).length >= 50,
    );
    expect(await pair.redis!.info('gra')).toMatchObject({
      role: 'slave',
      master_port: String(pair.redis!.rbx.port),
    });

    const failback = await reportWithin(
      await startPairFailback(client, pair.pair, 'full', taskQueue, runs),
      120_000,
    );
    expect(failback.outcome, failback.sentence).toBe('completed');
    expect(failback.steps.find((s) => s.id === 'redis.promote')?.sentence).toMatch(
      /^redis-gra is the master with everything redis-rbx held \(offset \d+; FAILOVER handed over/,
    );
    expect(await sessionSeen(pair, alice)).toMatchObject({
      status: 200,
      valid: true,
      user: 'alice',
      site: 'gra',
    });
    const failedBackAt = Date.now();
    await waitUntil(
      'gra acknowledges logins again',
      async () => load.acknowledgedBy('gra', failedBackAt).length >= 50,
    );
    await load.stop();

    await expectEveryAcknowledgedSessionOn(pair, 'gra', load.records);
    await pair.redis!.waitSynced('rbx');
    expect(await pair.redis!.info('gra')).toMatchObject({ role: 'master', connected_slaves: '1' });
    expect(await pair.redis!.info('rbx')).toMatchObject({
      role: 'slave',
      master_port: String(pair.redis!.gra.port),
      master_link_status: 'up',
    });
    console.log(
      `[e2e] redis sessions: ${load.records.filter((r) => r.outcome === 'acknowledged').length} logins acknowledged, ${load.records.filter((r) => r.outcome !== 'acknowledged').length} refused or unanswered, none lost`,
    );
    done();
  }, 240_000);

  it('the Redis password appears in no run history and no worker output', async () => {
    const secrets = runbookSecrets(ctx.pair.runbooks.get(ctx.pair.pair)!);
    expect(secrets.map((s) => s.value)).toContain(ctx.pair.redis!.password);
    expect(ctx.runs).toHaveLength(2);
    for (const run of ctx.runs)
      expect(leakedSecrets(await historyText(ctx.client, run), secrets)).toEqual([]);
    expect(leakedSecrets(ctx.worker.output(), secrets)).toEqual([]);
  });
});

describe('Redis sessions end to end: unplanned failover after the primary site is killed', () => {
  const ctx = pairWithWorker('e2e-redis-unplanned', { redis: true, autoApprove: true });

  it('promotes redis-rbx; redis-gra coming back is fenced by the watcher: a read-only replica of redis-rbx', async () => {
    const done = timer('redis: unplanned failover, then the watcher fences the returning master');
    const { pair, client, taskQueue, runs } = ctx;
    const bob = await login(pair, 'bob');
    await pair.redis!.waitSynced('rbx');
    await pair.killPrimarySite();
    await waitUntil('the replicas lose db-gra-1', async () => {
      const { mysql } = await pair.snapshot();
      return ['db-rbx-1', 'db-rbx-2'].every((s) => mysql[s]?.ioRunning === 'Connecting');
    });
    const report = await reportApprovingEachQuestion(
      await startPairFailover(client, pair.pair, 'unplanned', taskQueue, runs),
      'gra is gone',
    );
    expect(report.outcome, report.sentence).toBe('completed');
    expect(report.steps.find((s) => s.id === 'redis.fence')?.state).toBe('failed');
    expect(report.steps.find((s) => s.id === 'redis.promote')?.sentence).toMatch(
      /^redis-rbx is the master \(REPLICAOF NO ONE\)/,
    );
    expect(await pair.redis!.info('rbx')).toMatchObject({ role: 'master' });
    // The session written before the site died was replicated: still valid on rbx.
    expect(await sessionSeen(pair, bob)).toMatchObject({
      status: 200,
      valid: true,
      user: 'bob',
      site: 'rbx',
    });

    const watcher = client.workflow.getHandle<typeof fenceOldSite>(fenceWatchWorkflowId(pair.pair));
    await pair.revivePrimarySite();
    // gra's Redis came back as a master, empty: the watcher makes it a replica of redis-rbx.
    const watch = await watcher.result();
    expect(watch.outcome).toBe('fenced');
    expect(watch.fenced.map((f) => f.system)).toContain('redis');
    const gra = pair.redis!.client('gra');
    await expect(gra.set('session:intruder', 'x')).rejects.toThrow(/READONLY/);
    expect(await pair.redis!.info('gra')).toMatchObject({
      role: 'slave',
      master_port: String(pair.redis!.rbx.port),
    });
    await pair.redis!.waitSynced('gra');
    expect(await gra.get(`session:${bob}`)).toBe('bob');
    done();
  }, 240_000);
});
