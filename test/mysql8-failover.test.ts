import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { parseHostKey } from '../activities/apps/ssh';
import { loadRunbooks } from '../config/load';
import { WriteLoad } from '../dev/write-load';
import { runActivity } from './helpers/local-stack';
import { takeTurns } from './helpers/turns';
import { TEST_APPROVER_LINE } from './helpers/approver';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

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

/**
 * The binlog salvage, when the primary's host is also given over SSH (its mysqld is stopped and started again):
 *   MYSQL8_PRIMARY_SSH=ssh://user@host:port     MYSQL8_PRIMARY_SSH_KEY=<private key file>
 *   MYSQL8_PRIMARY_HOST_KEY=<its public host key file>   MYSQL8_PRIMARY_BINLOG_INDEX=/var/lib/mysql/binlog.index
 *   MYSQL8_PRIMARY_STOP='<stops mysqld for good>'        MYSQL8_PRIMARY_START='<starts it again as it was>'
 */
const salvageEnv = [
  'MYSQL8_PRIMARY_SSH',
  'MYSQL8_PRIMARY_SSH_KEY',
  'MYSQL8_PRIMARY_HOST_KEY',
  'MYSQL8_PRIMARY_BINLOG_INDEX',
  'MYSQL8_PRIMARY_STOP',
  'MYSQL8_PRIMARY_START',
].filter((name) => !process.env[name]);
const skipSalvage = skip || salvageEnv.length > 0;
if (!skip && skipSalvage)
  console.log(`[mysql8] MySQL 8 salvage test skipped: ${salvageEnv.join(', ')} not set.`);
const primarySsh = () => {
  const url = new URL(process.env.MYSQL8_PRIMARY_SSH as string);
  return {
    host: url.hostname,
    port: Number(url.port || 22),
    user: decodeURIComponent(url.username),
    privateKey: `file:${process.env.MYSQL8_PRIMARY_SSH_KEY}`,
    hostKey: `file:${process.env.MYSQL8_PRIMARY_HOST_KEY}`,
  };
};

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
            {
              name: PRIMARY,
              site: 'gra',
              host: targets[0]?.host,
              port: targets[0]?.port,
              role: 'primary',
              ...(skipSalvage
                ? {}
                : {
                    ssh: primarySsh(),
                    salvage: {
                      binlogIndex: process.env.MYSQL8_PRIMARY_BINLOG_INDEX,
                      keepDown: process.env.MYSQL8_PRIMARY_STOP,
                    },
                  }),
            },
            { name: REPLICA, site: 'rbx', host: targets[1]?.host, port: targets[1]?.port, role: 'replica' },
          ],
          maxLagSeconds: 30,
          killClientConnectionsOnFence: false,
        },
        approval: { policy: 'auto', approvers: [TEST_APPROVER_LINE] },
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

  it.skipIf(skipSalvage)(
    'salvages what the dead primary wrote after the replica stopped receiving, GTIDs kept, once',
    async () => {
      const replica = await mysql.createConnection({ ...targets[1], user, password });
      const load = new WriteLoad({ targets: [targets[0]!], user, password, database, ratePerSecond: 50 });
      try {
        await replica.query('STOP REPLICA IO_THREAD');
        await load.prepare();
        load.start();
        await load.waitForAcknowledged(50, 30_000);
        await load.stop();
        const salvaged = await act('mysqlSalvageBinlog', { pair, server: REPLICA, from: PRIMARY });
        expect(salvaged).toMatchObject({ possible: true });
        expect(salvaged.salvaged).toBeGreaterThanOrEqual(50);
        expect((await load.verify(REPLICA)).lost).toEqual([]);
        // A second attempt starts from the replica's gtid_executed: nothing is applied twice.
        expect(await act('mysqlSalvageBinlog', { pair, server: REPLICA, from: PRIMARY })).toMatchObject({
          appliedThisAttempt: 0,
        });
        const status = (await act('mysqlServerStatuses', { pair }))[1];
        expect(status).toMatchObject({ readOnly: true, superReadOnly: true });
      } finally {
        await load.close();
        // The primary comes back as it was, the replica follows it again (it has nothing the primary lacks).
        await clients.ssh.exec(
          {
            label: PRIMARY,
            ...primarySsh(),
            privateKey: readFileSync(process.env.MYSQL8_PRIMARY_SSH_KEY!, 'utf8'),
            hostKey: parseHostKey(
              readFileSync(process.env.MYSQL8_PRIMARY_HOST_KEY!, 'utf8'),
              'MYSQL8_PRIMARY_HOST_KEY',
            ),
          },
          process.env.MYSQL8_PRIMARY_START!,
          { timeoutMs: 120_000 },
        );
        await replica.end();
      }
      await act('mysqlResumeReplication', { pair, server: REPLICA });
      await act('mysqlCatchUp', { pair, server: REPLICA, untilServer: PRIMARY });
      expect(
        (await act('mysqlFindErrantTransactions', { pair, server: REPLICA, reference: PRIMARY })).count,
      ).toBe(0);
    },
  );
});
