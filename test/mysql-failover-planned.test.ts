import mysql from 'mysql2/promise';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MysqlServerStatus } from '../activities/mysql/status';
import { MARIADB_ACCOUNTS } from '../dev/stack/services/mariadb';
import { stackDir } from '../dev/stack/settings';
import { startScratchPair, topologySnapshot, type ScratchPair } from './helpers/scratch-cluster';
import { failureOf } from './helpers/failures';

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

const secretOf = (file: string) => readFileSync(path.join(stackDir(), 'secrets', file), 'utf8').trim();
const orchestratorPassword = () => secretOf(MARIADB_ACCOUNTS.orchestrator.secretFile);
const replicationPassword = () => secretOf(MARIADB_ACCOUNTS.replication.secretFile);

/**
 * Planned switchover on a scratch MariaDB GTID cluster of its own (db-gra-1 → db-rbx-1, db-rbx-2 a second
 * replica), under continuous writes through the application account. Destructive: never the shared stack.
 */
describe('MySQL failover primitives: planned switchover on a scratch MariaDB cluster', () => {
  let s: ScratchPair;
  const statuses = () => s.act('mysqlServerStatuses', { pair: s.pair });
  const snapshot = async () => topologySnapshot(await statuses());
  const byName = (all: MysqlServerStatus[], name: string) =>
    all.find((x) => x.server === name) as MysqlServerStatus;
  const port = (name: string) => s.cluster.instance(name).port;

  // A fresh trio per test (db-gra-1 primary, both rbx servers replicating from it): no test starts from another's end.
  beforeEach(async () => {
    s = await startScratchPair({ maxLagSeconds: 2, killClientConnectionsOnFence: true });
  });
  afterEach(async () => s?.destroy());

  it('reads the replication status of each server: threads, lag, GTID positions, errors, read-only flags', async () => {
    const all = await statuses();
    expect(all.map((x) => x.server)).toEqual([GRA, RBX1, RBX2]);
    const primary = byName(all, GRA);
    expect(primary).toMatchObject({ reachable: true, dialect: 'mariadb', readOnly: false, serverId: '1' });
    expect(primary.replication).toBeUndefined();
    expect(primary.gtidBinlogPos).toMatch(/^0-1-\d+$/);
    for (const name of [RBX1, RBX2]) {
      const replica = byName(all, name);
      expect(replica).toMatchObject({ reachable: true, readOnly: true });
      expect(replica.replication).toMatchObject({
        ioRunning: 'Yes',
        sqlRunning: 'Yes',
        lagSeconds: 0,
        sourcePort: port(GRA),
        gtidPositioning: 'Slave_Pos',
        lastIoErrno: 0,
        lastSqlErrno: 0,
        lastSqlError: '',
        pendingTransactions: 0,
        sourceServerId: 1,
      });
      expect(replica.gtidSlavePos).toBe(primary.gtidBinlogPos);
    }
  });

  it('refuses a candidate lagging more than the runbook allows (CandidateTooFarBehind); catch-up heartbeats, or times out (ReplicaNotCaughtUp)', async () => {
    await s.cluster.sql(
      GRA,
      'CREATE TABLE app.lag_probe (id INT PRIMARY KEY, v INT NOT NULL); INSERT INTO app.lag_probe VALUES (1, 0)',
    );
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX1, untilServer: GRA });
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX2, untilServer: GRA });
    // A session on each replica holds the row the next replicated update needs: the appliers wait, lag grows.
    const lockers = await Promise.all(
      [RBX1, RBX2].map((name) =>
        mysql.createConnection({
          host: '127.0.0.1',
          port: port(name),
          user: MARIADB_ACCOUNTS.orchestrator.user,
          password: orchestratorPassword(),
        }),
      ),
    );
    try {
      for (const c of lockers) {
        await c.query('START TRANSACTION');
        await c.query('SELECT * FROM app.lag_probe WHERE id = 1 FOR UPDATE');
      }
      await s.cluster.sql(GRA, 'UPDATE app.lag_probe SET v = v + 1 WHERE id = 1');
      const deadline = Date.now() + 10_000;
      let lags: (number | null | undefined)[] = [];
      while (Date.now() < deadline) {
        const all = await statuses();
        lags = [RBX1, RBX2].map((n) => byName(all, n).replication?.lagSeconds);
        if (lags.every((l) => typeof l === 'number' && l > 2)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(lags.every((l) => typeof l === 'number' && l > 2)).toBe(true);
      const failure = await failureOf(s.act('mysqlSelectCandidate', { pair: s.pair, exclude: [GRA] }));
      expect(failure.type).toBe('CandidateTooFarBehind');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toMatch(/db-rbx-\d is \d+s behind, more than the 2s allowed/);
      // A human may accept more lag: the same call with a larger allowance chooses a replica.
      const accepted = await s.act('mysqlSelectCandidate', {
        pair: s.pair,
        exclude: [GRA],
        maxLagSeconds: 3600,
      });
      expect(accepted.candidate).toMatch(/^db-rbx-/);

      // Catch-up gives up after its timeout with a typed failure…
      const late = await failureOf(
        s.act('mysqlCatchUp', {
          pair: s.pair,
          server: RBX1,
          untilServer: GRA,
          timeoutSeconds: 1,
          sliceSeconds: 1,
        }),
      );
      expect(late).toMatchObject({ type: 'ReplicaNotCaughtUp', nonRetryable: true });
      expect(late.message).toMatch(/db-rbx-1 still lacks 1 transaction\(s\) of db-gra-1 after 1s/);

      // …and, given time, waits in slices, heartbeating between them, until the applier is through.
      const beats: unknown[] = [];
      const onBeat = (details: unknown) => beats.push(details);
      s.env.on('heartbeat', onBeat);
      const waiting = s.act('mysqlCatchUp', {
        pair: s.pair,
        server: RBX1,
        untilServer: GRA,
        sliceSeconds: 1,
      });
      await new Promise((r) => setTimeout(r, 2_500));
      await lockers[0]?.query('ROLLBACK');
      const caught = await waiting;
      s.env.off('heartbeat', onBeat);
      expect(caught.waitedMs).toBeGreaterThanOrEqual(2_000);
      expect(beats.length).toBeGreaterThanOrEqual(2);
      expect(beats[0]).toMatchObject({ server: RBX1, target: caught.target });
    } finally {
      for (const c of lockers) {
        await c.query('ROLLBACK').catch(() => undefined);
        await c.end();
      }
    }
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX1, untilServer: GRA });
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX2, untilServer: GRA });
  });

  it('switches over under continuous writes, fencing first: zero acknowledged writes lost; every step is idempotent', async () => {
    const load = s.writeLoad(200);
    await load.prepare();
    load.start();
    await load.waitForAcknowledged(100);

    // Fence the old primary first: read-only, and the application's sessions are ended.
    const fence = await s.act('mysqlFence', { pair: s.pair, server: GRA });
    expect(fence).toMatchObject({ server: GRA, alreadyFenced: false, readOnly: true });
    expect(fence.killedConnections).toBeGreaterThanOrEqual(1);
    const afterFence = await snapshot();
    const fenceAgain = await s.act('mysqlFence', { pair: s.pair, server: GRA });
    expect(fenceAgain).toMatchObject({ alreadyFenced: true, gtidBinlogPos: fence.gtidBinlogPos });
    expect(await snapshot()).toEqual(afterFence);

    // Everything the old primary acknowledged is in its binlog: wait until the replicas have applied it.
    for (const server of [RBX1, RBX2]) {
      const caught = await s.act('mysqlCatchUp', { pair: s.pair, server, untilServer: GRA });
      expect(caught).toMatchObject({ target: fence.gtidBinlogPos, targetFrom: GRA });
      expect(await s.act('mysqlCatchUp', { pair: s.pair, server, untilServer: GRA })).toMatchObject({
        alreadyCaughtUp: true,
        target: fence.gtidBinlogPos,
      });
    }

    // Candidate selection: both replicas are level, so the runbook's order decides; asking twice, same answer.
    for (let i = 0; i < 2; i++) {
      const choice = await s.act('mysqlSelectCandidate', { pair: s.pair, exclude: [GRA], site: 'rbx' });
      expect(choice.candidate).toBe(RBX1);
      expect(choice.ranking.map((r) => [r.server, r.behindBest])).toEqual([
        [RBX1, 0],
        [RBX2, 0],
      ]);
    }

    const promoted = await s.act('mysqlPromote', { pair: s.pair, server: RBX1 });
    expect(promoted).toMatchObject({
      alreadyPromoted: false,
      steps: ['STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only=OFF'],
      unreachableOthers: [],
    });
    const afterPromote = await snapshot();
    expect(await s.act('mysqlPromote', { pair: s.pair, server: RBX1 })).toMatchObject({
      alreadyPromoted: true,
      steps: [],
    });
    expect(await snapshot()).toEqual(afterPromote);

    // The other replica, then the old primary, follow the new primary.
    const rbx2 = await s.act('mysqlRepoint', { pair: s.pair, server: RBX2, source: RBX1 });
    expect(rbx2).toMatchObject({
      alreadyReplicating: false,
      mode: 'slave_pos',
      ioRunning: 'Yes',
      sqlRunning: 'Yes',
    });
    expect(rbx2.steps.find((x) => x.startsWith('CHANGE MASTER'))).toMatch(/MASTER_PASSWORD='\*\*\*'/);
    const gra = await s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 });
    expect(JSON.stringify([rbx2, gra])).not.toContain(replicationPassword());
    expect(gra).toMatchObject({
      alreadyReplicating: false,
      mode: 'demote',
      ioRunning: 'Yes',
      sqlRunning: 'Yes',
    });
    expect(gra.steps.find((x) => x.startsWith('CHANGE MASTER'))).toContain('MASTER_DEMOTE_TO_SLAVE=1');
    const afterRepoint = await snapshot();
    for (const server of [RBX2, GRA]) {
      expect(await s.act('mysqlRepoint', { pair: s.pair, server, source: RBX1 })).toMatchObject({
        alreadyReplicating: true,
        steps: [],
      });
    }
    expect(await snapshot()).toEqual(afterRepoint);

    // Writes resume on the new primary; then stop and count.
    await load.waitForAcknowledged(100);
    const summary = await load.stop();
    for (const server of [RBX2, GRA])
      await s.act('mysqlCatchUp', { pair: s.pair, server, untilServer: RBX1 });
    const verified = await Promise.all([RBX1, RBX2, GRA].map((server) => load.verify(server)));
    console.log(
      `planned switchover: ${summary.acknowledged} acknowledged writes (${summary.failed} refused, ${summary.unknown} unknown) ` +
        `at ${summary.achievedRatePerSecond}/s; lost: ${verified.map((v) => `${v.server} ${v.lost.length}`).join(', ')}; ` +
        `write outage ${summary.longestGapMs} ms; target ${summary.targetChanges.map((c) => c.to ?? 'none').join(' → ')}`,
    );
    for (const v of verified) expect(v.lost).toEqual([]);
    expect(summary.acknowledgedBy[GRA]).toBeGreaterThan(0);
    expect(summary.acknowledgedBy[RBX1]).toBeGreaterThan(0);
    expect(summary.multipleWritable).toEqual([]);

    const all = await statuses();
    expect(byName(all, RBX1)).toMatchObject({ readOnly: false, replication: undefined });
    for (const name of [GRA, RBX2]) {
      expect(byName(all, name)).toMatchObject({
        readOnly: true,
        replication: {
          sourcePort: port(RBX1),
          ioRunning: 'Yes',
          sqlRunning: 'Yes',
          gtidPositioning: 'Slave_Pos',
        },
      });
    }
  });

  it('lists an errant transaction written on a replica, and repointing refuses it (ErrantTransactions)', async () => {
    await s.cluster.sql(GRA, 'CREATE TABLE app.errant_probe (id INT PRIMARY KEY)');
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX2, untilServer: GRA });
    await s.cluster.sql(RBX2, 'STOP SLAVE');
    // Someone with administrative rights writes on the replica: it gets a GTID of its own (server_id 3).
    await s.cluster.sql(RBX2, 'INSERT INTO app.errant_probe VALUES (1)');
    const [[errantGtid] = []] = await s.cluster.sql(RBX2, 'SELECT @@global.gtid_binlog_pos');
    expect(errantGtid).toMatch(/^0-3-\d+$/);

    const report = await s.act('mysqlFindErrantTransactions', {
      pair: s.pair,
      server: RBX2,
      reference: GRA,
    });
    expect(report).toMatchObject({ count: 1, gtids: [errantGtid], truncated: false });
    expect(report.sentence).toContain(errantGtid as string);
    expect(
      (await s.act('mysqlFindErrantTransactions', { pair: s.pair, server: RBX1, reference: GRA })).count,
    ).toBe(0);

    const before = await snapshot();
    const failure = await failureOf(s.act('mysqlRepoint', { pair: s.pair, server: RBX2, source: GRA }));
    expect(failure.type).toBe('ErrantTransactions');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(errantGtid as string);
    expect(failure.details?.[0]).toMatchObject({ gtids: [errantGtid], server: RBX2, reference: GRA });
    expect(JSON.stringify(failure.details) + failure.message).not.toContain(replicationPassword());
    expect(await snapshot()).toEqual(before); // nothing was changed
  });

  it('finishes a promotion that crashed between its statements when it is retried', async () => {
    // Switch over to db-rbx-1; the "crash" left it after STOP SLAVE.
    await s.act('mysqlFence', { pair: s.pair, server: GRA });
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX1, untilServer: GRA });
    await s.cluster.sql(RBX1, 'STOP SLAVE');
    const retried = await s.act('mysqlPromote', { pair: s.pair, server: RBX1 });
    expect(retried).toMatchObject({
      alreadyPromoted: false,
      steps: ['RESET SLAVE ALL', 'SET GLOBAL read_only=OFF'],
    });

    // And back to db-gra-1, the "crash" this time after RESET SLAVE ALL.
    await s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 });
    await s.act('mysqlFence', { pair: s.pair, server: RBX1 });
    await s.act('mysqlCatchUp', { pair: s.pair, server: GRA, untilServer: RBX1 });
    await s.cluster.sql(GRA, 'STOP SLAVE; RESET SLAVE ALL');
    const finished = await s.act('mysqlPromote', { pair: s.pair, server: GRA });
    expect(finished).toMatchObject({ alreadyPromoted: false, steps: ['SET GLOBAL read_only=OFF'] });
    expect(await s.act('mysqlPromote', { pair: s.pair, server: GRA })).toMatchObject({
      alreadyPromoted: true,
    });

    const all = await statuses();
    expect(all.filter((x) => !x.readOnly).map((x) => x.server)).toEqual([GRA]);
    expect(byName(all, GRA).replication).toBeUndefined();
  });

  it('refuses to promote while another server is writable (SplitBrainRisk)', async () => {
    await s.act('mysqlRepoint', { pair: s.pair, server: RBX1, source: GRA });
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX1, untilServer: GRA });
    const failure = await failureOf(s.act('mysqlPromote', { pair: s.pair, server: RBX1 }));
    expect(failure).toMatchObject({ type: 'SplitBrainRisk', nonRetryable: true });
    expect(failure.message).toContain(`${GRA} is writable`);
    expect(byName(await statuses(), RBX1).replication).toMatchObject({ ioRunning: 'Yes', sqlRunning: 'Yes' });
  });
});
