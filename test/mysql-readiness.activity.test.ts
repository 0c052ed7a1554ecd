import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { evaluateMysqlReadiness } from '../workflows/checks/mysql-readiness';
import {
  activityEnvironment,
  runActivity,
  LOCAL_PAIR,
  localRunbooks,
  restoreLocalPair,
  stackSql,
} from './helpers/local-stack';
import { loadRunbooks, DEFAULT_LOCAL_RUNBOOK } from '../config/load';
import { parse, stringify } from 'yaml';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { takeTurns } from './helpers/turns';

// Changes the shared local pair: alone while it runs.
takeTurns('local-pair', 'exclusive');

/** The MySQL readiness activity against the real MariaDB pair of the local stack. */
describe('MySQL readiness on the real MariaDB pair', () => {
  let clients: ActivityClients;
  let activities: ReturnType<typeof createActivities>;
  const env = activityEnvironment();

  const assess = async () => {
    const settings = await runActivity(env, activities.pairSettings, { pair: LOCAL_PAIR });
    const statuses = await runActivity(env, activities.mysqlServerStatuses, { pair: LOCAL_PAIR });
    return { statuses, checks: evaluateMysqlReadiness(settings, statuses) };
  };

  beforeAll(async () => {
    clients = createClients(localRunbooks());
    activities = createActivities(clients);
    await restoreLocalPair();
  });
  afterEach(restoreLocalPair);
  afterAll(async () => clients.close());

  it('reports a healthy pair as ready, with GTID positions on both sides', async () => {
    const { statuses, checks } = await assess();
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    const [primary, replica] = statuses;
    expect(primary).toMatchObject({
      server: 'db-gra-1',
      reachable: true,
      dialect: 'mariadb',
      readOnly: false,
    });
    expect(primary?.replication).toBeUndefined();
    expect(replica).toMatchObject({ server: 'db-rbx-1', reachable: true, readOnly: true });
    expect(replica?.replication).toMatchObject({ ioRunning: 'Yes', sqlRunning: 'Yes', sourcePort: 13306 });
    expect(primary?.gtidExecuted).toMatch(/^\d+-\d+-\d+/);
    expect(replica?.gtidExecuted).toMatch(/^\d+-\d+-\d+/);
  });

  it('reports stopped replication', async () => {
    await stackSql('db-rbx-1', 'STOP SLAVE');
    const { statuses, checks } = await assess();
    expect(statuses[1]?.replication).toMatchObject({ ioRunning: 'No', sqlRunning: 'No' });
    const failed = checks.filter((c) => !c.ok).map((c) => c.name);
    expect(failed).toEqual(expect.arrayContaining(['db-rbx-1.threads', 'db-rbx-1.lag']));
    expect(checks.find((c) => c.name === 'db-rbx-1.threads')?.sentence).toBe(
      'replica db-rbx-1 is not replicating: IO thread No, SQL thread No.',
    );
  });

  it('reports a writable replica', async () => {
    await stackSql('db-rbx-1', 'SET GLOBAL read_only=OFF');
    const { checks } = await assess();
    expect(checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['db-rbx-1.read-only']);
    expect(checks.find((c) => c.name === 'db-rbx-1.read-only')?.sentence).toMatch(/is writable/);
  });

  it('reports a read-only primary', async () => {
    await stackSql('db-gra-1', 'SET GLOBAL read_only=ON');
    const { checks } = await assess();
    // The server the replicas replicate from is read-only and replicates from nobody: the repair is named too.
    expect(checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      'db-gra-1.source-read-only',
      'db-gra-1.writable',
    ]);
  });

  it('reports an unreachable server and wrong credentials as typed errors, without the password', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-'));
    const doc = parse(readFileSync(DEFAULT_LOCAL_RUNBOOK, 'utf8'));
    doc.mysql.password = 'env:DR_TEST_WRONG_PASSWORD';
    doc.mysql.servers[1].port = 1; // nothing listens there
    writeFileSync(path.join(dir, 'runbook.yaml'), stringify(doc));
    process.env.DR_TEST_WRONG_PASSWORD = 'definitely-wrong-password';
    const broken = createClients(loadRunbooks([path.join(dir, 'runbook.yaml')]));
    try {
      const statuses = await runActivity(env, createActivities(broken).mysqlServerStatuses, {
        pair: LOCAL_PAIR,
      });
      expect(statuses[0]).toMatchObject({ reachable: false, error: { type: 'InvalidCredentials' } });
      expect(statuses[1]).toMatchObject({ reachable: false, error: { type: 'MysqlUnreachable' } });
      expect(JSON.stringify(statuses)).not.toContain('definitely-wrong-password');
    } finally {
      delete process.env.DR_TEST_WRONG_PASSWORD;
      await broken.close();
    }
  });
});
