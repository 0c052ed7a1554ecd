import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MysqlServerStatus } from '../activities/mysql/status';
import { evaluateMysqlReadiness } from '../workflows/checks/mysql-readiness';
import { fakeMysql8Pair } from './helpers/fake-mysql8';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const semiSyncChecks = (checks: { name: string; ok: boolean }[]) =>
  checks.filter((c) => c.name.endsWith('.semi-sync')).map((c) => [c.name, c.ok]);

/** MySQL 8.0.26+ names (rpl_semi_sync_source / rpl_semi_sync_replica plugins), on the MySQL 8 stand-in. */
describe('semi-synchronous replication follows a promotion (MySQL 8 stand-in)', () => {
  let stand: ReturnType<typeof fakeMysql8Pair>;
  const pair = 'fake-mysql8';
  beforeEach(() => {
    stand = fakeMysql8Pair();
    for (const name of ['db-a', 'db-b', 'db-c'])
      stand.fake.get(name).semiSync = new Map([
        ['rpl_semi_sync_source_enabled', name === 'db-a'],
        ['rpl_semi_sync_replica_enabled', name !== 'db-a'],
      ]);
  });
  afterEach(() => stand.close());

  it('enables the source side on the new primary and the replica side on the old one it repoints', async () => {
    const { act, fake } = stand;
    await act('mysqlFence', { pair, server: 'db-a' });
    await act('mysqlCatchUp', { pair, server: 'db-b', untilServer: 'db-a' });
    const promoted = await act('mysqlPromote', { pair, server: 'db-b' });
    expect(promoted.steps).toEqual([
      'STOP REPLICA',
      'RESET REPLICA ALL',
      'SET GLOBAL super_read_only=OFF',
      'SET GLOBAL read_only=OFF',
      'SET GLOBAL rpl_semi_sync_source_enabled=ON',
    ]);
    const oldPrimary = await act('mysqlRepoint', { pair, server: 'db-a', source: 'db-b' });
    expect(oldPrimary.steps.slice(-2)).toEqual([
      'SET GLOBAL rpl_semi_sync_replica_enabled=ON',
      'START REPLICA',
    ]);
    // db-c acknowledges already: repointed, nothing to turn on.
    const other = await act('mysqlRepoint', { pair, server: 'db-c', source: 'db-b' });
    expect(other.steps.some((s) => s.includes('rpl_semi_sync'))).toBe(false);
    expect(fake.get('db-b').semiSync.get('rpl_semi_sync_source_enabled')).toBe(true);
    expect(fake.get('db-a').semiSync.get('rpl_semi_sync_replica_enabled')).toBe(true);
  });

  it('readiness names a replica that is not semi-synchronous while the primary is', async () => {
    stand.fake.get('db-c').semiSync.set('rpl_semi_sync_replica_enabled', false);
    const settings = await stand.act('pairSettings', { pair });
    const statuses = await stand.act('mysqlServerStatuses', { pair });
    expect(semiSyncChecks(evaluateMysqlReadiness(settings, statuses))).toEqual([
      ['db-b.semi-sync', true],
      ['db-c.semi-sync', false],
    ]);
  });

  it('leaves a pair that does not use semi-sync as it is', async () => {
    for (const name of ['db-a', 'db-b', 'db-c'])
      stand.fake.get(name).semiSync.set('rpl_semi_sync_source_enabled', false);
    await stand.act('mysqlFence', { pair, server: 'db-a' });
    const promoted = await stand.act('mysqlPromote', { pair, server: 'db-b' });
    expect(promoted.steps.some((s) => s.includes('rpl_semi_sync'))).toBe(false);
  });

  it('when the old primary cannot be read, follows what the promoted replica did (it acknowledged)', async () => {
    stand.fake.get('db-a').intercept = () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    const promoted = await stand.act('mysqlPromote', {
      pair,
      server: 'db-b',
      allowUnappliedTransactions: true,
    });
    expect(promoted.steps.at(-1)).toBe('SET GLOBAL rpl_semi_sync_source_enabled=ON');
  });
});

/** MariaDB 10.3.3+ has semi-sync built in, under the master/slave names: a real scratch cluster. */
describe('semi-synchronous replication follows a promotion (scratch MariaDB cluster)', () => {
  let s: ScratchPair;
  const GRA = 'db-gra-1';
  const RBX1 = 'db-rbx-1';
  const RBX2 = 'db-rbx-2';
  const byName = (all: MysqlServerStatus[], name: string) => all.find((x) => x.server === name);

  beforeAll(async () => {
    s = await startScratchPair({
      instanceConfig: {
        [GRA]: ['rpl_semi_sync_master_enabled=ON'],
        [RBX1]: ['rpl_semi_sync_slave_enabled=ON'],
        [RBX2]: ['rpl_semi_sync_slave_enabled=ON'],
      },
    });
  });
  afterAll(async () => s?.destroy());

  it('reads the switches, judges them, and keeps the pair semi-synchronous across a switchover', async () => {
    const settings = await s.act('pairSettings', { pair: s.pair });
    const before = await s.act('mysqlServerStatuses', { pair: s.pair });
    expect(byName(before, GRA)?.semiSync).toEqual({
      source: { variable: 'rpl_semi_sync_master_enabled', enabled: true },
      replica: { variable: 'rpl_semi_sync_slave_enabled', enabled: false },
    });
    const checks = evaluateMysqlReadiness(settings, before);
    expect(semiSyncChecks(checks)).toEqual([
      [`${RBX1}.semi-sync`, true],
      [`${RBX2}.semi-sync`, true],
    ]);
    expect(checks.filter((c) => c.name.endsWith('.gtid-mode') || c.name.endsWith('.version'))).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: `${GRA}.gtid-mode`, ok: true })]),
    );
    expect(checks.filter((c) => !c.ok)).toEqual([]);

    await s.act('mysqlFence', { pair: s.pair, server: GRA });
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX1, untilServer: GRA });
    const promoted = await s.act('mysqlPromote', { pair: s.pair, server: RBX1 });
    expect(promoted.steps.at(-1)).toBe('SET GLOBAL rpl_semi_sync_master_enabled=ON');
    const oldPrimary = await s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 });
    expect(oldPrimary.steps.slice(-2)).toEqual(['SET GLOBAL rpl_semi_sync_slave_enabled=ON', 'START SLAVE']);
    await s.act('mysqlRepoint', { pair: s.pair, server: RBX2, source: RBX1 });

    const after = await s.act('mysqlServerStatuses', { pair: s.pair });
    expect(byName(after, RBX1)?.semiSync?.source?.enabled).toBe(true);
    expect(byName(after, GRA)?.semiSync?.replica?.enabled).toBe(true);
    // The new primary counts its semi-sync replicas once they reconnect (bounded wait, not a sleep).
    const deadline = Date.now() + 20_000;
    let clients = 0;
    while (Date.now() < deadline) {
      const [row] = await s.cluster.sql(RBX1, "SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'");
      clients = Number(row?.[1] ?? 0);
      if (clients === 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(clients).toBe(2);
  });
});
