/**
 * Every store of a pair that declares them all, end to end: a scratch DR pair whose runbook has MySQL, Elasticsearch,
 * the apps, HAProxy, a Redis session store and a PostgreSQL streaming pair (real redis-server and PostgreSQL 15), the
 * real worker as a process. A planned failover then a full failback, under three loads at once: orders through the
 * public entry point (MySQL), logins through it (Redis sessions) and rows written into PostgreSQL. No acknowledged
 * write is lost in any store, a session made before the moves is valid after each, and every system ends in forward
 * replication.
 */
import { describe, expect, it } from 'vitest';
import { waitUntil } from './helpers/apps-traffic';
import { reportWithin, startPairFailback, startPairFailover } from './helpers/failover-e2e';
import { PgWriter } from './helpers/pg-writer';
import { expectEveryAcknowledgedSessionOn, login, sessionLoad, sessionSeen } from './helpers/redis-sessions';
import { PG_APP, type PgSite } from './helpers/scratch-postgresql';
import { takeTurns } from './helpers/turns';
import { pairWithWorker } from './helpers/pair-with-worker';

takeTurns('write-load', 'exclusive');

describe('Redis sessions and PostgreSQL beside MySQL and Elasticsearch, end to end', () => {
  const t = pairWithWorker('e2e-other-systems', {
    redis: true,
    postgresql: true,
    autoApprove: true,
    setupTimeoutMs: 240_000,
  });

  const pgIds = async (site: PgSite) => {
    const c = await t.pair.postgresql!.client(site, PG_APP);
    try {
      return new Set((await c.query('SELECT id FROM writes')).rows.map((r) => Number(r.id)));
    } finally {
      await c.end();
    }
  };
  const stepsOf = (report: { steps: { system: string; state: string }[] }, system: string) =>
    report.steps.filter((s) => s.system === system).map((s) => s.state);

  it('planned failover then failback under orders, logins and PostgreSQL writes: nothing acknowledged lost anywhere, the session survives, forward replication everywhere', async () => {
    const before = await t.pair.snapshot();
    const alice = await login(t.pair, 'alice');
    const orders = t.pair.writeLoad({ ratePerSecond: 50 });
    const logins = sessionLoad(t.pair.frontendUrl(''));
    const pgWriter = new PgWriter(t.pair.postgresql!);
    orders.start();
    pgWriter.start();
    const ordersOn = (site: string, since: number) =>
      orders.records.filter((r) => r.outcome === 'acknowledged' && r.server === site && r.at >= since).length;
    const everyStoreWrites = (site: PgSite, since: number) =>
      waitUntil(`${site} acknowledges orders, logins and PostgreSQL writes`, async () => {
        return (
          ordersOn(site, since) >= 20 &&
          logins.acknowledgedBy(site, since).length >= 20 &&
          pgWriter.ackedOn(site, since) >= 20
        );
      });
    try {
      await everyStoreWrites('gra', 0);

      const failover = await reportWithin(
        await startPairFailover(t.client, t.pair.pair, 'planned', t.taskQueue, t.runs),
        240_000,
      );
      expect(failover.outcome, failover.sentence).toBe('completed');
      for (const system of ['mysql', 'redis', 'postgresql'])
        expect(
          stepsOf(failover, system).every((state) => state === 'done'),
          system,
        ).toBe(true);
      expect(failover.dataLoss.filter((d) => d.count !== 0)).toEqual([]);
      expect(await sessionSeen(t.pair, alice)).toMatchObject({ status: 200, valid: true, site: 'rbx' });
      await everyStoreWrites('rbx', Date.now());

      const failback = await reportWithin(
        await startPairFailback(t.client, t.pair.pair, 'full', t.taskQueue, t.runs),
        300_000,
      );
      expect(failback.outcome, failback.sentence).toBe('completed');
      expect(failback.dataLoss.filter((d) => d.count !== 0)).toEqual([]);
      expect(await sessionSeen(t.pair, alice)).toMatchObject({ status: 200, valid: true, site: 'gra' });
      await everyStoreWrites('gra', Date.now());
    } finally {
      await Promise.all([orders.stop(), logins.stop(), pgWriter.stop()]);
    }

    // MySQL: every acknowledged order on db-gra-1, the servers as before the moves.
    const verification = await orders.verify('db-gra-1');
    expect(verification.lost).toEqual([]);
    // Redis: every acknowledged login's session on gra's master, rbx its replica again.
    await expectEveryAcknowledgedSessionOn(t.pair, 'gra', logins.records);
    await t.pair.redis!.waitSynced('rbx');
    expect(await t.pair.redis!.info('rbx')).toMatchObject({
      role: 'slave',
      master_port: String(t.pair.redis!.gra.port),
      master_link_status: 'up',
    });
    // PostgreSQL: every acknowledged row on pg-gra, pg-rbx streaming from it.
    const onGra = await pgIds('gra');
    expect(pgWriter.acknowledged.filter((a) => !onGra.has(a.id))).toEqual([]);
    const streaming = await t.pair.postgresql!.sql(
      'gra',
      'SELECT application_name, state FROM pg_stat_replication',
    );
    expect(streaming).toEqual([expect.objectContaining({ application_name: 'pg-rbx', state: 'streaming' })]);
    const after = await t.pair.snapshot();
    expect(after.mysql).toEqual(before.mysql);
    expect(after.traffic).toEqual(before.traffic);
    console.log(
      `[e2e] every store: ${verification.acknowledged} orders, ${logins.acknowledgedBy('gra').length + logins.acknowledgedBy('rbx').length} logins, ${pgWriter.acknowledged.length} PostgreSQL rows acknowledged over both moves, none lost`,
    );
  }, 700_000);
});
