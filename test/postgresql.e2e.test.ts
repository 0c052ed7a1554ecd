/**
 * End to end with PostgreSQL in the runbook (a scratch DR pair with `postgresql: true`: MariaDB, ES emulator, Perl
 * apps, HAProxy, and a real PostgreSQL 15 streaming pair reached over each site's sshd; the real worker as a process;
 * the shared Temporal dev server). A small writer inserts numbered rows into PostgreSQL, always on the server that
 * takes writes, and keeps the ids PostgreSQL acknowledged: a planned failover then a full failback lose none of them;
 * an unplanned failover after the gra site (and pg-gra with it) is SIGKILLed, then a failback with pg_rewind, report
 * what was lost and what was rewound, and end in forward replication; an unplanned failover after pg-gra alone died,
 * its host still up, salvages from its pg_wal what pg-rbx had not received, and loses nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from './helpers/apps-traffic';
import {
  reportApprovingEachQuestion,
  reportWithin,
  startPairFailback,
  startPairFailover,
} from './helpers/failover-e2e';
import { fenceWatchWorkflowId } from '../workflows/definitions';
import { PgWriter } from './helpers/pg-writer';
import { PG_APP, type PgSite, type ScratchPgPair } from './helpers/scratch-postgresql';
import { pairWithWorker } from './helpers/pair-with-worker';

describe('PostgreSQL end to end, on a scratch DR pair with PostgreSQL in its runbook', () => {
  let pgPair: ScratchPgPair;
  const t = pairWithWorker('e2e-postgresql', {
    postgresql: true,
    autoApprove: true,
    setupTimeoutMs: 240_000,
  });
  beforeAll(() => {
    pgPair = t.pair.postgresql!;
  });
  const failbackOf = () => startPairFailback(t.client, t.pair.pair, 'full', t.taskQueue, t.runs);
  const ids = async (site: PgSite) => {
    const c = await pgPair.client(site, PG_APP);
    try {
      return new Set((await c.query('SELECT id FROM writes')).rows.map((r) => Number(r.id)));
    } finally {
      await c.end();
    }
  };
  /** pg-rbx streams from pg-gra, as pg-gra's pg_stat_replication shows it. */
  const forwardReplication = async () => {
    const rows = await pgPair.sql('gra', 'SELECT application_name, state FROM pg_stat_replication');
    return rows.some((r) => r.application_name === 'pg-rbx' && r.state === 'streaming');
  };

  it('planned failover then full failback under writes: no acknowledged write lost, back to forward replication', async () => {
    const writer = new PgWriter(pgPair);
    writer.start();
    try {
      await waitUntil('pg-gra acknowledges 20 writes', async () => writer.ackedOn('gra') >= 20);
      const over = await reportWithin(
        await startPairFailover(t.client, t.pair.pair, 'planned', t.taskQueue, t.runs),
        180_000,
      );
      expect(over.outcome).toBe('completed');
      expect(over.dataLoss.find((d) => d.system === 'postgresql')).toMatchObject({ count: 0 });
      const switched = Date.now();
      await waitUntil('pg-rbx acknowledges 20 writes', async () => writer.ackedOn('rbx', switched) >= 20);

      const back = await reportWithin(await failbackOf(), 240_000);
      expect(back.outcome).toBe('completed');
      const home = Date.now();
      await waitUntil('pg-gra acknowledges 20 writes again', async () => writer.ackedOn('gra', home) >= 20);
    } finally {
      await writer.stop();
    }
    const onGra = await ids('gra');
    expect(writer.acknowledged.filter((a) => !onGra.has(a.id))).toEqual([]);
    expect(await forwardReplication()).toBe(true);
    const last = writer.acknowledged.at(-1)!.id;
    await waitUntil('pg-rbx has replayed every acknowledged write', async () => (await ids('rbx')).has(last));
  }, 600_000);

  it('unplanned: gra SIGKILLed with pg-gra; pg-rbx promoted; revived and failed back with pg_rewind, the reports say what was lost and rewound', async () => {
    const writer = new PgWriter(pgPair);
    writer.start();
    let killedAt = 0;
    try {
      await waitUntil('pg-gra acknowledges 20 writes', async () => writer.ackedOn('gra') >= 20);
      await t.pair.killPrimarySite();
      killedAt = Date.now();
      const over = await reportApprovingEachQuestion(
        await startPairFailover(t.client, t.pair.pair, 'unplanned', t.taskQueue, t.runs),
        'gra is gone: go on',
        240_000,
      );
      expect(over.outcome).toBe('completed');
      expect(over.steps.find((s) => s.id === 'postgresql.promote')?.state).toBe('done');
      // The whole site died, its sshd too: pg-gra's WAL cannot be read, and the report says so.
      expect(over.steps.find((s) => s.id === 'postgresql.salvage')?.sentence).toMatch(
        /^WAL salvage impossible: /,
      );
      expect(over.dataLoss.find((d) => d.system === 'postgresql')?.sentence).toMatch(
        /^WAL salvage impossible: .*; what pg-gra wrote beyond what pg-rbx received \([0-9A-F]+\/[0-9A-F]+\) is lost \(how much is unknown\)\.$/,
      );
      const promoted = Date.now();
      await waitUntil('pg-rbx acknowledges 20 writes', async () => writer.ackedOn('rbx', promoted) >= 20);

      await t.pair.revivePrimarySite();
      const back = await reportApprovingEachQuestion(await failbackOf(), 'gra is back', 300_000);
      expect(back.outcome).toBe('completed');
      const rejoin = back.steps.find((s) => s.id === 'postgresql.rejoin.pg-gra');
      expect(rejoin?.state).toBe('done');
      expect(rejoin?.sentence).toMatch(/pg-gra streams from pg-rbx as a standby \(.*pg_rewind from pg-rbx/);
      // pg-gra died after crash recovery's own checkpoint: it always diverged, and the report says by how much.
      const rewound = back.dataLoss.find((d) => d.system === 'postgresql' && /pg_rewind/.test(d.sentence));
      expect(rewound?.sentence).toMatch(/^pg_rewind rewound pg-gra: it diverged from the new primary at /);
      expect(rewound?.count).toBeGreaterThanOrEqual(0);
      const home = Date.now();
      await waitUntil('pg-gra acknowledges 20 writes again', async () => writer.ackedOn('gra', home) >= 20);
    } finally {
      await writer.stop();
    }
    // What pg-gra acknowledged before it died may be lost (asynchronous replication: the reports say how much);
    // everything acknowledged since, by pg-rbx and then by pg-gra again, is on pg-gra.
    const onGra = await ids('gra');
    const since = writer.acknowledged.filter((a) => a.site === 'rbx' || a.at > killedAt);
    expect(since.length).toBeGreaterThanOrEqual(40);
    expect(since.filter((a) => !onGra.has(a.id))).toEqual([]);
    expect(await forwardReplication()).toBe(true);
  }, 900_000);

  it('unplanned with WAL salvage: pg-gra alone SIGKILLed after pg-rbx stopped receiving; what only pg-gra held is salvaged from its pg_wal, and no acknowledged write is lost', async () => {
    const writer = new PgWriter(pgPair);
    writer.start();
    try {
      await waitUntil('pg-gra acknowledges 20 writes', async () => writer.ackedOn('gra') >= 20);
      // pg-rbx stops receiving (its WAL receiver ends), then pg-gra acknowledges more: those rows are only in its WAL.
      await pgPair.sql('rbx', "ALTER SYSTEM SET primary_conninfo = ''");
      await pgPair.sql('rbx', 'SELECT pg_reload_conf()');
      await waitUntil(
        "pg-rbx's WAL receiver ends",
        async () => (await pgPair.sql('rbx', 'SELECT 1 FROM pg_stat_wal_receiver')).length === 0,
      );
      const cut = Date.now();
      await waitUntil(
        'pg-gra acknowledges 20 writes pg-rbx never receives',
        async () => writer.ackedOn('gra', cut) >= 20,
      );
      await pgPair.kill('gra');
      const onlyOnGra = writer.acknowledged.filter((a) => a.site === 'gra' && a.at >= cut).map((a) => a.id);

      const over = await reportApprovingEachQuestion(
        await startPairFailover(t.client, t.pair.pair, 'unplanned', t.taskQueue, t.runs),
        'pg-gra is dead: go on',
        240_000,
      );
      expect(over.outcome, over.sentence).toBe('completed');
      expect(over.steps.find((s) => s.id === 'postgresql.salvage')?.sentence).toMatch(
        /^pg-rbx replayed \d+ byte\(s\) of WAL salvaged from pg-gra's pg_wal, up to [0-9A-F]+\/[0-9A-F]+: everything pg-gra wrote/,
      );
      expect(over.dataLoss.find((d) => d.system === 'postgresql')).toMatchObject({ count: 0 });
      // The writer goes on against pg-rbx once it is promoted: stopped first, so no write is acknowledged after the read.
      await writer.stop();
      const onRbx = await ids('rbx');
      expect(onlyOnGra.length).toBeGreaterThanOrEqual(20);
      expect(onlyOnGra.filter((id) => !onRbx.has(id))).toEqual([]);
      expect(writer.acknowledged.filter((a) => !onRbx.has(a.id))).toEqual([]);
    } finally {
      await writer.stop();
      await t.client.workflow
        .getHandle(fenceWatchWorkflowId(t.pair.pair))
        .terminate('the test is over')
        .catch(() => undefined);
    }
  }, 600_000);
});
