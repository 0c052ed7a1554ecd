import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import mysql from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MARIADB_ACCOUNTS } from '../dev/stack/services/mariadb';
import { stackDir } from '../dev/stack/settings';
import { waitUntil } from './helpers/apps-traffic';
import { failureOf } from './helpers/failures';
import { runActivity } from './helpers/local-stack';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

/** The rebuild's dump and load still running: children of this process given the rebuild's defaults files. */
function rebuildChildren(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return parent === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dr-rebuild-');
      } catch {
        return false; // ended meanwhile
      }
    })
    .map(Number);
}

interface RebuildBeat {
  step: string;
  bytesCopied: number;
}

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

  /** A session of the application's account holding a write lock on app.fb of `server`: a dump of it waits. */
  async function lockAppTable(server: string) {
    const { port } = s.cluster.spec.instances.find((i) => i.name === server)!;
    const password = readFileSync(path.join(stackDir(), 'secrets', MARIADB_ACCOUNTS.app.secretFile), 'utf8');
    const connection = await mysql.createConnection({
      host: '127.0.0.1',
      port,
      user: MARIADB_ACCOUNTS.app.user,
      password: password.trim(),
    });
    await connection.query('LOCK TABLES app.fb WRITE');
    return { release: () => connection.end() };
  }

  /** A rebuild of db-gra-1 from db-rbx-1 in an activity context of its own, the heartbeats it sends, its outcome. */
  function startRebuild() {
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const beats: RebuildBeat[] = [];
    env.on('heartbeat', (details: RebuildBeat) => beats.push(details));
    const running = runActivity(env, s.activities.mysqlRebuildReplica, {
      pair: s.pair,
      server: GRA,
      source: RBX1,
    });
    const failure = running.then(
      () => new Error('the rebuild ended well'),
      (err: Error) => err,
    );
    return { env, beats, failure };
  }

  /** Until the copy has heartbeaten `n` times in a row without a byte of progress (a blocked dump prints nothing). */
  const stalledCopy = (beats: RebuildBeat[], n: number) =>
    waitUntil(
      `${n} heartbeats of a stalled copy`,
      async () => {
        const copying = beats.filter((b) => b.step === 'copy');
        return copying.length >= n && new Set(copying.slice(-n).map((b) => b.bytesCopied)).size === 1;
      },
      30_000,
    );

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('leaves a rebuild cancelled mid-copy marked, through a mysqld crash: repoint, promote and unfence refuse it until a second rebuild ends', async () => {
    await sql(GRA, "INSERT INTO app.fb VALUES (99, 'errant')");
    const lock = await lockAppTable(RBX1);
    try {
      const rebuild = startRebuild();
      // The dump waits for the lock and prints nothing, yet the heartbeats go on: they are on a timer.
      await stalledCopy(rebuild.beats, 3);
      const children = rebuildChildren();
      expect(children).toHaveLength(2);
      rebuild.env.cancel();
      expect((await rebuild.failure).name).toBe('CancelledFailure');
      await waitUntil('no child of the rebuild is alive', async () => rebuildChildren().length === 0, 5_000);
      expect(children.filter(alive)).toEqual([]);
    } finally {
      await lock.release();
    }

    // The mark is a committed InnoDB row: it survives a crash of mysqld.
    await s.cluster.kill(GRA, 'SIGKILL');
    await s.cluster.start(GRA, { readOnly: true });
    const { rebuildIncomplete: mark } = await s.act('mysqlServerStatus', { pair: s.pair, server: GRA });
    expect(mark).toMatchObject({ source: RBX1, startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const statuses = await s.act('mysqlServerStatuses', { pair: s.pair });
    expect(statuses.find((x) => x.server === GRA)?.rebuildIncomplete).toEqual(mark);
    for (const refused of [
      await failureOf(s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 })),
      await failureOf(s.act('mysqlPromote', { pair: s.pair, server: GRA })),
    ]) {
      expect(refused).toMatchObject({ type: 'RebuildIncomplete', nonRetryable: true });
      expect(refused.message).toBe(
        `db-gra-1 holds an incomplete rebuild (started at ${mark!.startedAt} from db-rbx-1): ` +
          'run the rebuild again before repointing or promoting it.',
      );
    }
    const unfence = await failureOf(s.act('mysqlUnfence', { pair: s.pair, server: GRA }));
    expect(unfence).toMatchObject({ type: 'RebuildIncomplete', nonRetryable: true });

    const rebuilt = await s.act('mysqlRebuildReplica', { pair: s.pair, server: GRA, source: RBX1 });
    expect(rebuilt).toMatchObject({ alreadyClean: false, previousIncomplete: mark });
    expect(
      (await s.act('mysqlServerStatus', { pair: s.pair, server: GRA })).rebuildIncomplete,
    ).toBeUndefined();
    // Neither the mark nor its removal went to the binlog: nothing errant, and it replicates.
    const errant = await s.act('mysqlFindErrantTransactions', { pair: s.pair, server: GRA, reference: RBX1 });
    expect(errant.count).toBe(0);
    const repointed = await s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 });
    expect(repointed).toMatchObject({ ioRunning: 'Yes', sqlRunning: 'Yes' });
    await sql(RBX1, "INSERT INTO app.fb VALUES (3, 'after rebuild')");
    await s.act('mysqlCatchUp', { pair: s.pair, server: GRA, untilServer: RBX1 });
    expect(await count(GRA)).toBe(3);
    expect(await count(GRA, 'id=99')).toBe(0);
  });

  it('ends the load when the dump fails mid-copy: RebuildFailed names the error by its number, the mark stays', async () => {
    await sql(GRA, "INSERT INTO app.fb VALUES (99, 'errant')");
    const lock = await lockAppTable(RBX1);
    try {
      const rebuild = startRebuild();
      await stalledCopy(rebuild.beats, 1);
      // The dump's session on the source, waiting for the lock, is ended there.
      let id: string | undefined;
      await waitUntil('the dump waits for the lock on db-rbx-1', async () => {
        const rows = await sql(
          RBX1,
          `SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '${MARIADB_ACCOUNTS.orchestrator.user}' AND STATE LIKE 'Waiting for%'`,
        );
        id = rows[0]?.[0];
        return id !== undefined;
      });
      await sql(RBX1, `KILL ${id}`);
      const failure = await rebuild.failure;
      expect(failure).toMatchObject({ type: 'RebuildFailed' });
      expect(failure.message).toMatch(
        /^rebuilding db-gra-1 from db-rbx-1: mariadb-dump \(reading db-rbx-1\) ended with code \d+: error \d{4}\b.*; db-gra-1 holds an incomplete rebuild until a rebuild finishes\.$/,
      );
      expect(rebuildChildren()).toEqual([]);
    } finally {
      await lock.release();
    }
    const status = await s.act('mysqlServerStatus', { pair: s.pair, server: GRA });
    expect(status.rebuildIncomplete).toMatchObject({ source: RBX1 });
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
