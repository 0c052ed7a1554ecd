import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { loadRunbooks } from '../config/load';
import { WriteLoad } from '../dev/write-load';
import { runActivity } from './helpers/local-stack';

/**
 * The failover primitives against a real MySQL 8 pair, when one is given:
 *   MYSQL8_PRIMARY_URL=mysql://user:password@host:port/database   (a GTID primary, gtid_mode=ON)
 *   MYSQL8_REPLICA_URL=mysql://user:password@host:port/database   (its replica, SOURCE_AUTO_POSITION=1)
 * The account needs the privileges of an orchestrator (SUPER or SYSTEM_VARIABLES_ADMIN, REPLICATION_SLAVE_ADMIN,
 * REPLICATION CLIENT, CONNECTION_ADMIN, CREATE/INSERT/SELECT on the database). The replication account is
 * MYSQL8_REPLICATION_USER / MYSQL8_REPLICATION_PASSWORD (default: the same account). Each server must reach the
 * other at the host:port of the URLs. The suite switches over and back, leaving the pair as it found it.
 */
const primaryUrl = process.env.MYSQL8_PRIMARY_URL;
const replicaUrl = process.env.MYSQL8_REPLICA_URL;
const skip = !primaryUrl || !replicaUrl;
if (skip) {
  console.log(
    '[mysql8] MySQL 8 suite skipped: MYSQL8_PRIMARY_URL and MYSQL8_REPLICA_URL are not set ' +
      '(mysql://user:password@host:port/database of a MySQL 8 GTID primary and its replica). ' +
      'Its statements are still covered by test/mysql-dialect.test.ts.',
  );
}

const PRIMARY = 'mysql8-primary';
const REPLICA = 'mysql8-replica';

describe('MySQL failover primitives against a real MySQL 8 pair', () => {
  let clients: ActivityClients;
  let activities: ReturnType<typeof createActivities>;
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const pair = 'mysql8';
  let database = 'dr_test';
  let user = '';
  let password = '';
  const targets: { name: string; host: string; port: number }[] = [];
  const act = <K extends keyof typeof activities>(name: K, ...args: Parameters<(typeof activities)[K]>) =>
    runActivity(env, activities[name] as (...a: unknown[]) => Promise<unknown>, ...args) as ReturnType<
      (typeof activities)[K]
    >;

  beforeAll(async () => {
    if (skip) return;
    const [p, r] = [new URL(primaryUrl as string), new URL(replicaUrl as string)];
    user = decodeURIComponent(p.username);
    password = decodeURIComponent(p.password);
    database = p.pathname.replace(/^\//, '') || database;
    process.env.DR_MYSQL8_PASSWORD = password;
    process.env.DR_MYSQL8_REPLICATION_PASSWORD = process.env.MYSQL8_REPLICATION_PASSWORD ?? password;
    targets.push(
      { name: PRIMARY, host: p.hostname, port: Number(p.port || 3306) },
      { name: REPLICA, host: r.hostname, port: Number(r.port || 3306) },
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mysql8-'));
    const file = path.join(dir, 'runbook.yaml');
    writeFileSync(
      file,
      stringify({
        pair,
        sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
        mysql: {
          user,
          password: 'env:DR_MYSQL8_PASSWORD',
          replicationUser: process.env.MYSQL8_REPLICATION_USER ?? user,
          replicationPassword: 'env:DR_MYSQL8_REPLICATION_PASSWORD',
          servers: [
            { name: PRIMARY, site: 'gra', host: targets[0]?.host, port: targets[0]?.port, role: 'primary' },
            { name: REPLICA, site: 'rbx', host: targets[1]?.host, port: targets[1]?.port, role: 'replica' },
          ],
          maxLagSeconds: 30,
          killClientConnectionsOnFence: false,
        },
        approval: { policy: 'auto' },
        timeouts: { replicaCatchUp: '60s' },
      }),
    );
    clients = createClients(loadRunbooks([file]));
    activities = createActivities(clients);
    const conn = await mysql.createConnection({
      host: targets[0]?.host,
      port: targets[0]?.port,
      user,
      password,
    });
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
    await conn.end();
  });
  afterAll(async () => {
    await clients?.close();
    delete process.env.DR_MYSQL8_PASSWORD;
    delete process.env.DR_MYSQL8_REPLICATION_PASSWORD;
  });

  it.skipIf(skip)(
    'reads both servers as MySQL, the replica auto-positioned with both threads running',
    async () => {
      const all = await act('mysqlServerStatuses', { pair });
      expect(all.map((s) => [s.server, s.dialect, s.reachable])).toEqual([
        [PRIMARY, 'mysql', true],
        [REPLICA, 'mysql', true],
      ]);
      expect(all[1]?.replication).toMatchObject({
        ioRunning: 'Yes',
        sqlRunning: 'Yes',
        gtidPositioning: 'auto_position',
      });
      expect(
        (await act('mysqlFindErrantTransactions', { pair, server: REPLICA, reference: PRIMARY })).count,
      ).toBe(0);
    },
  );

  it.skipIf(skip)('switches over and back under writes with zero acknowledged writes lost', async () => {
    const load = new WriteLoad({ targets, user, password, database, ratePerSecond: 50 });
    await load.prepare();
    load.start();
    try {
      await load.waitForAcknowledged(25);
      for (const [from, to] of [
        [PRIMARY, REPLICA],
        [REPLICA, PRIMARY],
      ] as const) {
        await act('mysqlFence', { pair, server: from });
        await act('mysqlCatchUp', { pair, server: to, untilServer: from });
        expect((await act('mysqlSelectCandidate', { pair, exclude: [from] })).candidate).toBe(to);
        await act('mysqlPromote', { pair, server: to });
        const repointed = await act('mysqlRepoint', { pair, server: from, source: to });
        expect(repointed).toMatchObject({ mode: 'auto_position', ioRunning: 'Yes', sqlRunning: 'Yes' });
        await load.waitForAcknowledged(25, 30_000);
      }
    } finally {
      await load.stop();
    }
    await act('mysqlCatchUp', { pair, server: REPLICA, untilServer: PRIMARY });
    for (const server of [PRIMARY, REPLICA]) expect((await load.verify(server)).lost).toEqual([]);
    await load.close();
    const all = await act('mysqlServerStatuses', { pair });
    expect(all.map((s) => [s.server, s.readOnly, !!s.replication])).toEqual([
      [PRIMARY, false, false],
      [REPLICA, true, true],
    ]);
  });
});
