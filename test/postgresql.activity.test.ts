import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lsnBytes } from '../common/pg-lsn';
import { failureOf } from './helpers/failures';
import {
  PG_APP,
  pgActivities,
  startScratchPgPair,
  type PgSite,
  type ScratchPgPair,
} from './helpers/scratch-postgresql';

const GRA = 'pg-gra';
const RBX = 'pg-rbx';

/**
 * The PostgreSQL activities on a real scratch PostgreSQL 15 streaming pair of their own (pg-gra primary, pg-rbx a
 * standby), over real SSH: planned switchover and back with no loss, an unplanned promotion after the primary was
 * SIGKILLed with writes the standby never received, and the failback's pg_rewind that says what it threw away.
 */
describe('PostgreSQL activities on a scratch streaming pair', () => {
  let s: ScratchPgPair;
  let a: ReturnType<typeof pgActivities>;

  beforeEach(async () => {
    s = await startScratchPgPair();
    a = pgActivities(s);
  });
  afterEach(async () => {
    await a?.clients.close();
    await s?.destroy();
  });

  /** Inserts rows `from`..`to` on a site through the application account; returns the ids acknowledged. */
  async function write(site: PgSite, from: number, to: number): Promise<number[]> {
    const c = await s.client(site, PG_APP);
    try {
      for (let id = from; id <= to; id++) await c.query('INSERT INTO writes (id) VALUES ($1)', [id]);
      return Array.from({ length: to - from + 1 }, (_, i) => from + i);
    } finally {
      await c.end();
    }
  }
  async function ids(site: PgSite): Promise<number[]> {
    const c = await s.client(site, PG_APP);
    try {
      return (await c.query('SELECT id FROM writes ORDER BY id')).rows.map((r) => Number(r.id));
    } finally {
      await c.end();
    }
  }

  it('reads each server: the primary with its standby in pg_stat_replication, the standby streaming from it', async () => {
    await write('gra', 1, 10);
    const [gra, rbx] = await a.act('pgServerStatuses', { pair: a.pair });
    expect(gra).toMatchObject({
      server: GRA,
      site: 'gra',
      reachable: true,
      inRecovery: false,
      dataChecksums: true,
    });
    expect(gra!.standbys).toEqual([expect.objectContaining({ applicationName: RBX, state: 'streaming' })]);
    expect(rbx).toMatchObject({
      server: RBX,
      site: 'rbx',
      reachable: true,
      inRecovery: true,
      fullPageWrites: true,
    });
    expect(rbx!.walReceiver).toEqual({
      status: 'streaming',
      senderHost: '127.0.0.1',
      senderPort: s.nodes.gra.port,
    });
    expect(lsnBytes(rbx!.receiveLsn!)).toBeGreaterThan(0n);
  });

  it('switches over with no loss (clean stop, replay past the shutdown checkpoint, pg_promote), then back', async () => {
    const written = await write('gra', 1, 200);
    const stop = await a.act('pgStopServer', { pair: a.pair, server: GRA });
    expect(stop).toMatchObject({
      alreadyStopped: false,
      cleanShutdown: true,
      steps: ['pg_ctl stop -m fast'],
    });
    expect(stop.control.state).toBe('shut down');
    const again = await a.act('pgStopServer', { pair: a.pair, server: GRA });
    expect(again).toMatchObject({ alreadyStopped: true, cleanShutdown: true, steps: [] });
    expect(again.control.checkpointLsn).toBe(stop.control.checkpointLsn);

    const caughtUp = await a.act('pgCatchUp', {
      pair: a.pair,
      server: RBX,
      untilLsn: stop.control.checkpointLsn,
      timeoutMs: 30_000,
    });
    expect(lsnBytes(caughtUp.replayLsn)).toBeGreaterThan(lsnBytes(stop.control.checkpointLsn));
    const promoted = await a.act('pgPromote', { pair: a.pair, server: RBX });
    expect(promoted).toMatchObject({ alreadyPromoted: false, timeline: 2 });
    expect(await a.act('pgPromote', { pair: a.pair, server: RBX })).toMatchObject({ alreadyPromoted: true });
    expect(await ids('rbx')).toEqual(written);

    // The old primary follows the new one: nothing to rewind after a clean switchover.
    const rejoined = await a.act('pgRejoinAsStandby', { pair: a.pair, server: GRA, source: RBX });
    expect(rejoined.rewind).toMatchObject({ required: false, rewoundBytes: 0 });
    expect(await a.act('pgRejoinAsStandby', { pair: a.pair, server: GRA, source: RBX })).toMatchObject({
      alreadyStandby: true,
      steps: [],
    });
    const more = await write('rbx', 201, 300);

    // And back, the same way.
    const stopRbx = await a.act('pgStopServer', { pair: a.pair, server: RBX });
    await a.act('pgCatchUp', {
      pair: a.pair,
      server: GRA,
      untilLsn: stopRbx.control.checkpointLsn,
      timeoutMs: 30_000,
    });
    await a.act('pgPromote', { pair: a.pair, server: GRA });
    const back = await a.act('pgRejoinAsStandby', { pair: a.pair, server: RBX, source: GRA });
    expect(back.rewind?.required).toBe(false);
    expect(await ids('gra')).toEqual([...written, ...more]);
    const [gra] = await a.act('pgServerStatuses', { pair: a.pair });
    expect(gra!.standbys).toEqual([expect.objectContaining({ applicationName: RBX, state: 'streaming' })]);
  });

  it('promotes the standby of a SIGKILLed primary, and the failback rewinds what only the old primary held', async () => {
    const replicated = await write('gra', 1, 50);
    await a
      .act('pgCatchUp', {
        pair: a.pair,
        server: RBX,
        untilLsn: (await s.sql('gra', 'SELECT pg_current_wal_lsn()::text AS l'))[0]!.l as string,
        timeoutMs: 30_000,
      })
      .catch(() => undefined);
    // The standby stops receiving (its WAL receiver ends), then the primary acknowledges more and dies.
    await s.sql('rbx', "ALTER SYSTEM SET primary_conninfo = ''");
    await s.sql('rbx', 'SELECT pg_reload_conf()');
    await waitFor(
      async () => (await a.act('pgServerStatus', { pair: a.pair, server: RBX })).walReceiver === null,
    );
    const lostIds = await write('gra', 51, 80);
    await s.kill('gra');

    const dead = await a.act('pgServerStatus', { pair: a.pair, server: GRA });
    expect(dead).toMatchObject({ reachable: false, error: { type: 'PostgresUnreachable' } });
    const fence = await a.act('pgStopServer', { pair: a.pair, server: GRA });
    expect(fence).toMatchObject({ alreadyStopped: true, cleanShutdown: false });
    await a.act('pgCatchUp', { pair: a.pair, server: RBX, timeoutMs: 30_000 });
    await a.act('pgPromote', { pair: a.pair, server: RBX });
    expect(await ids('rbx')).toEqual(replicated);
    await write('rbx', 1000, 1010);

    const rejoined = await a.act('pgRejoinAsStandby', { pair: a.pair, server: GRA, source: RBX });
    expect(rejoined.steps).toEqual(
      expect.arrayContaining([expect.stringMatching(/^crash recovery/), `CHECKPOINT on ${RBX}`]),
    );
    expect(rejoined.rewind).toMatchObject({ required: true, divergedTimeline: 1 });
    expect(rejoined.rewind!.rewoundBytes).toBeGreaterThan(0);
    expect(rejoined.rewind!.sentence).toMatch(/byte\(s\) of WAL it wrote after the divergence/);
    await waitFor(async () => (await ids('gra')).includes(1010));
    const onOld = await ids('gra');
    expect(onOld.filter((id) => lostIds.includes(id))).toEqual([]);
    expect(lostIds.length).toBe(30);
  });

  it('unplanned with WAL salvage: what the dead primary wrote after its standby stopped receiving is copied from its pg_wal, replayed, and nothing is lost', async () => {
    await write('gra', 1, 50);
    await waitFor(async () => (await ids('rbx')).length === 50);
    await s.sql('rbx', "ALTER SYSTEM SET primary_conninfo = ''");
    await s.sql('rbx', 'SELECT pg_reload_conf()');
    await waitFor(
      async () => (await a.act('pgServerStatus', { pair: a.pair, server: RBX })).walReceiver === null,
    );
    const onlyOnGra = await write('gra', 51, 80);
    const graEnd = (await s.sql('gra', 'SELECT pg_current_wal_lsn()::text AS l'))[0]!.l as string;
    await s.kill('gra');
    await a.act('pgStopServer', { pair: a.pair, server: GRA });

    const salvage = await a.act('pgSalvageWal', { pair: a.pair, server: RBX, from: GRA, timeoutMs: 30_000 });
    expect(salvage).toMatchObject({ possible: true, endLsn: graEnd, replayLsn: graEnd });
    expect(salvage.timedOut).toBeUndefined();
    expect(salvage.salvagedBytes).toBe(Number(lsnBytes(graEnd) - lsnBytes(salvage.receivedLsn!)));
    expect(salvage.steps).toEqual([
      `pg_waldump on ${GRA} from ${salvage.receivedLsn}`,
      expect.stringMatching(
        new RegExp(`^copied [0-9A-F]{24} \\(16777216 bytes\\) from ${GRA}'s pg_wal to ${RBX}'s$`),
      ),
    ]);
    expect(salvage.description).toMatch(/: everything pg-gra wrote \(its WAL ends at /);
    // A retry (the worker lost the answer) copies the same bytes again and finds them replayed: the same result.
    const again = await a.act('pgSalvageWal', { pair: a.pair, server: RBX, from: GRA, timeoutMs: 30_000 });
    expect(again).toMatchObject({ possible: true, salvagedBytes: salvage.salvagedBytes, replayLsn: graEnd });

    await a.act('pgPromote', { pair: a.pair, server: RBX });
    expect((await ids('rbx')).filter((id) => onlyOnGra.includes(id))).toEqual(onlyOnGra);
    // The old primary follows again; what pg_rewind discards of it is only its own crash recovery's records.
    await a.act('pgRejoinAsStandby', { pair: a.pair, server: GRA, source: RBX });
    await waitFor(async () => (await ids('gra')).length === 80);
    expect(await ids('gra')).toEqual(await ids('rbx'));
  });

  it('WAL salvage is impossible, and says why, when the dead primary still runs or its host cannot be reached', async () => {
    const running = await a.act('pgSalvageWal', { pair: a.pair, server: RBX, from: GRA, timeoutMs: 5_000 });
    expect(running).toMatchObject({ possible: false, salvagedBytes: 0 });
    expect(running.description).toBe(
      `WAL salvage impossible: ${GRA} still runs, so its WAL is not final (the fence did not stop it); what ${GRA} wrote beyond what ${RBX} received is lost.`,
    );
    const graSsh = (s.section.servers as { name: string; ssh: Record<string, unknown> }[]).find(
      (server) => server.name === GRA,
    )!.ssh;
    const unreachable = pgActivities(s, {
      name: 'pg-salvage-unreachable',
      servers: { [GRA]: { ssh: { ...graSsh, port: 1 } } },
    });
    try {
      const r = await unreachable.act('pgSalvageWal', { pair: unreachable.pair, server: RBX, from: GRA });
      expect(r).toMatchObject({ possible: false });
      expect(r.impossible).toMatch(/ECONNREFUSED|cannot connect|refused/i);
    } finally {
      await unreachable.clients.close();
    }
  });

  it('refuses to start a server as the primary when its data directory says standby, and restarts a fenced primary', async () => {
    await a.act('pgStopServer', { pair: a.pair, server: RBX });
    const refused = await failureOf(a.act('pgStartServer', { pair: a.pair, server: RBX }));
    expect(refused).toMatchObject({ type: 'UnfenceOfStandby', nonRetryable: true });
    await a.act('pgStopServer', { pair: a.pair, server: GRA });
    const started = await a.act('pgStartServer', { pair: a.pair, server: GRA });
    expect(started).toMatchObject({ alreadyRunning: false, steps: ['pg_ctl start'] });
    expect(await a.act('pgStartServer', { pair: a.pair, server: GRA })).toMatchObject({
      alreadyRunning: true,
    });
    expect((await a.act('pgServerStatus', { pair: a.pair, server: GRA })).inRecovery).toBe(false);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
