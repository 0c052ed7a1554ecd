import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failureOf } from './helpers/failures';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

/**
 * The MySQL half of a failback's reprotect, on a scratch MariaDB GTID cluster: after a switchover to db-rbx-1,
 * the old primary db-gra-1 becomes a GTID replica of it (MASTER_DEMOTE_TO_SLAVE), or, when it holds
 * transactions db-rbx-1 lacks, is rebuilt as a clean copy of it first (the `discard` decision).
 */
describe('MySQL failback primitives: the old primary replicates from the new one', () => {
  let s: ScratchPair;
  const sql = (server: string, statement: string) => s.cluster.sql(server, statement);
  const count = async (server: string, where = '1=1') =>
    Number((await sql(server, `SELECT COUNT(*) FROM app.fb WHERE ${where}`))[0]![0]);

  beforeEach(async () => {
    s = await startScratchPair();
    await sql(GRA, 'CREATE TABLE app.fb (id INT PRIMARY KEY, v VARCHAR(32))');
    await sql(GRA, "INSERT INTO app.fb VALUES (1, 'before')");
    // The switchover: fence gra, let db-rbx-1 apply all of it, promote it, db-rbx-2 follows it.
    await s.act('mysqlFence', { pair: s.pair, server: GRA });
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX1, untilServer: GRA });
    await s.act('mysqlPromote', { pair: s.pair, server: RBX1 });
    await s.act('mysqlRepoint', { pair: s.pair, server: RBX2, source: RBX1 });
    await sql(RBX1, "INSERT INTO app.fb VALUES (2, 'after failover')");
  });
  afterEach(async () => s?.destroy());

  it('demotes a clean old primary to a read-only GTID replica of the new one', async () => {
    const errant = await s.act('mysqlFindErrantTransactions', { pair: s.pair, server: GRA, reference: RBX1 });
    expect(errant.count).toBe(0);
    const repointed = await s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 });
    expect(repointed).toMatchObject({ mode: 'demote', ioRunning: 'Yes', sqlRunning: 'Yes' });
    await s.act('mysqlCatchUp', { pair: s.pair, server: GRA, untilServer: RBX1 });
    expect(await count(GRA, 'id=2')).toBe(1);
    const status = await s.act('mysqlServerStatus', { pair: s.pair, server: GRA });
    expect(status.readOnly).toBe(true);
  });

  it('discards the old primary’s errant transactions by rebuilding it from the new primary', async () => {
    // Writes the old primary took after the failover (an account that read_only does not stop).
    await sql(GRA, "INSERT INTO app.fb VALUES (99, 'errant')");
    await sql(GRA, 'CREATE DATABASE only_gra');
    const errant = await s.act('mysqlFindErrantTransactions', { pair: s.pair, server: GRA, reference: RBX1 });
    expect(errant.count).toBeGreaterThanOrEqual(2);
    expect(errant.gtids.length).toBe(2);
    const refused = await failureOf(s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 }));
    expect(refused.type).toBe('ErrantTransactions');

    // Never from a source that is not the writable primary, never over a writable server.
    const wrongWay = await failureOf(
      s.act('mysqlRebuildReplica', { pair: s.pair, server: RBX2, source: GRA }),
    );
    expect(wrongWay.type).toBe('RebuildNotPossible');
    expect(wrongWay.message).toMatch(/db-gra-1 is not the writable primary/);

    const rebuilt = await s.act('mysqlRebuildReplica', { pair: s.pair, server: GRA, source: RBX1 });
    expect(rebuilt).toMatchObject({ alreadyClean: false, dropped: ['only_gra'] });
    expect(rebuilt.copied).toContain('app');
    expect(rebuilt.gtidSlavePos).not.toBe('');
    expect(rebuilt.description).toMatch(/db-gra-1 was rebuilt from db-rbx-1/);
    expect(await count(GRA, 'id=99')).toBe(0);
    expect(await count(GRA, 'id=2')).toBe(1);
    expect(await sql(GRA, "SHOW DATABASES LIKE 'only_gra'")).toEqual([]);
    const after = await s.act('mysqlFindErrantTransactions', { pair: s.pair, server: GRA, reference: RBX1 });
    expect(after.count).toBe(0);

    const repointed = await s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 });
    expect(repointed).toMatchObject({ ioRunning: 'Yes', sqlRunning: 'Yes' });
    await sql(RBX1, "INSERT INTO app.fb VALUES (3, 'after rebuild')");
    await s.act('mysqlCatchUp', { pair: s.pair, server: GRA, untilServer: RBX1 });
    expect(await count(GRA)).toBe(3);
    // Once clean and replicating, a second call changes nothing.
    const again = await s.act('mysqlRebuildReplica', { pair: s.pair, server: GRA, source: RBX1 });
    expect(again.alreadyClean).toBe(true);
  });

  it('refuses to rebuild a writable server', async () => {
    await s.act('mysqlUnfence', { pair: s.pair, server: GRA });
    const refused = await failureOf(
      s.act('mysqlRebuildReplica', { pair: s.pair, server: GRA, source: RBX1 }),
    );
    expect(refused.type).toBe('RebuildNotPossible');
    expect(refused.message).toMatch(/it is writable/);
  });
});
