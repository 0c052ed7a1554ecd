import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MARIADB_ACCOUNTS } from '../dev/stack/services/mariadb';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const GRA = 'db-gra-1';

/**
 * MariaDB's read_only does not stop accounts holding READ ONLY ADMIN (ALL PRIVILEGES includes it), and 10.11 has
 * no super_read_only: the fence must name such accounts, end their sessions when the runbook says so, and say
 * what it could not guarantee. Scratch MariaDB cluster of its own (the runbook does not end sessions on fence).
 */
describe('fencing MariaDB with accounts that read_only does not stop', () => {
  let s: ScratchPair;
  const sessions: Connection[] = [];
  const connect = async (user: string, password: string) => {
    const c = await mysql.createConnection({
      host: '127.0.0.1',
      port: s.cluster.instance(GRA).port,
      user,
      password,
    });
    sessions.push(c);
    return c;
  };

  beforeAll(async () => {
    s = await startScratchPair({ killClientConnectionsOnFence: false });
    await s.cluster.sql(
      GRA,
      [
        "CREATE USER 'ops'@'%' IDENTIFIED BY 'ops-pw'",
        "GRANT ALL PRIVILEGES ON *.* TO 'ops'@'%'",
        // Through a role: granted READ ONLY ADMIN it can enable at any time with SET ROLE.
        'CREATE ROLE dba_role',
        'GRANT READ_ONLY ADMIN, INSERT ON *.* TO dba_role',
        "CREATE USER 'carol'@'%' IDENTIFIED BY 'carol-pw'",
        "GRANT dba_role TO 'carol'@'%'",
        // SUPER alone no longer passes read_only from 10.11 (MDEV-29596): not listed.
        "CREATE USER 'sup'@'%' IDENTIFIED BY 'sup-pw'",
        "GRANT SUPER ON *.* TO 'sup'@'%'",
        'CREATE TABLE app.fence_probe (id INT PRIMARY KEY)',
      ].join(';\n'),
    );
  });
  // Each test fences a writable primary with only its own client sessions open, whatever ran before it.
  beforeEach(async () => {
    await s.cluster.sql(GRA, 'SET GLOBAL read_only=OFF');
  });
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((c) => c.end().catch(() => undefined)));
  });
  afterAll(async () => {
    await s?.destroy();
  });

  it('names the accounts that can still write, and says what it could not guarantee', async () => {
    const ops = await connect('ops', 'ops-pw');
    const app = await connect(MARIADB_ACCOUNTS.app.user, s.cluster.secret(MARIADB_ACCOUNTS.app.secretFile));
    const sup = await connect('sup', 'sup-pw');

    const fence = await s.act('mysqlFence', { pair: s.pair, server: GRA });
    expect(fence).toMatchObject({ alreadyFenced: false, readOnly: true, killedConnections: 0 });

    // What the fence reports is what the server does: the application is stopped, ops is not.
    await expect(app.query('INSERT INTO app.fence_probe VALUES (1)')).rejects.toMatchObject({ errno: 1290 });
    await expect(sup.query('INSERT INTO app.fence_probe VALUES (4)')).rejects.toMatchObject({ errno: 1290 });
    await ops.query('INSERT INTO app.fence_probe VALUES (2)');

    expect(fence.writersDespiteReadOnly).toEqual([
      "'carol'@'%' (through role dba_role)",
      `'${MARIADB_ACCOUNTS.orchestrator.user}'@'%'`,
      "'ops'@'%'",
      "'root'@'localhost'",
    ]);
    expect(fence.description).toContain(
      "read_only does not stop accounts holding READ ONLY ADMIN: 'carol'@'%' (through role dba_role), ",
    );
    expect(fence.description).toContain("'ops'@'%'");
    expect(fence.notGuaranteed).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^no write from 'carol'@'%' .*'ops'@'%'.*: only revoking READ ONLY ADMIN/),
        expect.stringMatching(
          /^the end of 1 open session\(s\) of these accounts \(ops\): killClientConnectionsOnFence is off/,
        ),
        expect.stringMatching(/^the end of the sessions of the orchestrator's own account dr_orchestrator/),
      ]),
    );
    expect(fence.description).toContain('Not guaranteed: ');
  });

  it('ends their sessions when the runbook says so, and still says a new session can write', async () => {
    const ops = await connect('ops', 'ops-pw');
    await ops.query('SELECT 1');
    const killing = await s.variant({ killClientConnectionsOnFence: true });
    try {
      const fence = await killing.act('mysqlFence', { pair: s.pair, server: GRA });
      expect(fence).toMatchObject({ alreadyFenced: false, readOnly: true });
      expect(fence.killedConnections).toBeGreaterThanOrEqual(1);
      await expect(ops.query('INSERT INTO app.fence_probe VALUES (3)')).rejects.toMatchObject({
        fatal: true,
      });
      expect(fence.writersDespiteReadOnly).toContain("'ops'@'%'");
      expect(fence.notGuaranteed).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^no write from a new session: an account holding READ ONLY ADMIN that reconnects/,
          ),
        ]),
      );
      expect(fence.notGuaranteed.join(' ')).not.toMatch(/killClientConnectionsOnFence is off/);
    } finally {
      await killing.close();
    }
  });
});
