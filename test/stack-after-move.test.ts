import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import ovhClient from '@ovhcloud/node-ovh';
import { afterEach, describe, expect, it } from 'vitest';
import { trustCaInProcess } from '../dev/ovh-emulator/test-support';
import { freePort } from '../dev/stack/daemon';
import { esEmulator } from '../dev/stack/services/es-emulator';
import { MariadbCluster } from '../dev/stack/services/mariadb';
import { ovhEmulator, ovhEmulatorPaths } from '../dev/stack/services/ovh-emulator';
import { planRoles, recogniseTopology, type ObservedServer } from '../dev/stack/services/mariadb-topology';
import { withEnv } from './helpers/env';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

describe('recogniseTopology: the primary is the server the replication links lead to', () => {
  const ports = new Map([
    [1, GRA],
    [2, RBX1],
    [3, RBX2],
  ]);
  const server = (name: string, readOnly: boolean, sourcePort?: number): ObservedServer => ({
    name,
    readOnly,
    ...(sourcePort === undefined ? {} : { sourcePort }),
  });
  const recognise = (servers: ObservedServer[]) => recogniseTopology('mariadb', servers, ports, GRA);

  it('leaves a cluster nobody replicates in yet to the bootstrap', () => {
    expect(recognise([server(GRA, false), server(RBX1, false)])).toBeUndefined();
  });

  it('says nothing about the initial topology', () => {
    expect(recognise([server(GRA, false), server(RBX1, true, 1), server(RBX2, true, 1)])).toEqual({
      primary: GRA,
      replicas: [RBX1, RBX2],
      fenced: [],
    });
  });

  it('names a read-only server the others replicate from as the primary, and the way back', () => {
    const topology = recognise([server(GRA, false, 2), server(RBX1, true), server(RBX2, true, 2)]);
    expect(topology).toMatchObject({ primary: RBX1, replicas: [GRA, RBX2], fenced: [] });
    expect(topology?.sentence).toBe(
      'mariadb: db-rbx-1 is the primary, as the last move left it (db-gra-1, db-rbx-2 replicate from it); ' +
        '`drctl stack reset` returns to db-gra-1 primary.',
    );
  });

  it('keeps an old primary that replicates from nobody fenced, and follows chains to their end', () => {
    const topology = recognise([server(GRA, false), server(RBX1, true), server(RBX2, true, 2)]);
    expect(topology).toMatchObject({ primary: RBX1, replicas: [RBX2], fenced: [GRA] });
    expect(topology?.sentence).toContain(
      'db-gra-1, replicating from nobody, stays read-only as the move fenced it',
    );
    expect(recognise([server(GRA, true, 3), server(RBX1, false), server(RBX2, true, 2)])).toMatchObject({
      primary: RBX1,
      replicas: [GRA, RBX2],
    });
  });

  it('refuses links that lead to two servers, to a server outside the cluster, or round in a circle', () => {
    expect(() => recognise([server(GRA, false), server(RBX1, true, 1), server(RBX2, false, 9)])).toThrow(
      'mariadb: db-rbx-2 replicates from port 9, which is no running server of this cluster; `drctl stack reset`',
    );
    expect(() => recognise([server(GRA, true, 2), server(RBX1, true, 1)])).toThrow(/goes round in a circle/);
    expect(() =>
      recognise([server(GRA, false), server(RBX1, false), server(RBX2, true, 2), server('db-x', true, 1)]),
    ).toThrow(
      'mariadb: the replicas lead to db-rbx-1 and db-gra-1, not to one primary (db-rbx-2 from db-rbx-1, ' +
        'db-x from db-gra-1): a move stopped half-way; let it finish, or `drctl stack reset`',
    );
  });
});

describe('planRoles: what up does to the servers it restarted', () => {
  const ports = new Map([
    [1, GRA],
    [2, RBX1],
    [3, RBX2],
  ]);
  const plan = (servers: ObservedServer[], recorded: boolean) =>
    planRoles('mariadb', servers, ports, GRA, recorded);

  it('after a crash: the links decide, every other server read-only, the primary writable', () => {
    expect(
      plan(
        [
          { name: GRA, readOnly: false },
          { name: RBX1, readOnly: true },
          { name: RBX2, readOnly: true, sourcePort: 2 },
        ],
        false,
      ),
    ).toMatchObject({ readOnly: [RBX2, GRA], writable: RBX1 });
  });

  it('after a stop that recorded every role: keeps them, and says so when they are the move it finished', () => {
    const finished = plan(
      [
        { name: GRA, readOnly: true, sourcePort: 2 },
        { name: RBX1, readOnly: false },
        { name: RBX2, readOnly: true, sourcePort: 2 },
      ],
      true,
    );
    expect(finished).toEqual({
      readOnly: [],
      sentence: expect.stringContaining('db-rbx-1 is the primary, as the last move left it'),
    });
  });

  it('never undoes a move stopped under way (promoted, not yet repointed): roles kept, and the way out named', () => {
    const underWay = plan(
      [
        { name: GRA, readOnly: true },
        { name: RBX1, readOnly: false },
        { name: RBX2, readOnly: true, sourcePort: 1 },
      ],
      true,
    );
    expect(underWay).toEqual({
      readOnly: [],
      sentence:
        'mariadb: the servers restarted in the roles recorded at the stop, which are not one primary with its ' +
        'replicas (writable: db-rbx-1; db-rbx-2 from db-gra-1): a move was under way; let it finish, or ' +
        '`drctl stack reset` returns the local stack to its initial topology',
    });
  });
});

/**
 * A move on a scratch MariaDB trio of its own (never the stack's), made by the failover's own activities; then
 * the servers stop and start as `drctl stack down` / `up` (and a crash) would stop and start the stack's.
 */
describe('the MariaDB trio survives a stop and a start after a move', () => {
  let s: ScratchPair | undefined;
  afterEach(async () => s?.destroy());

  /** The scratch cluster, with a log to read what `up` says. */
  const logged = (pair: ScratchPair) => {
    const lines: string[] = [];
    return { cluster: new MariadbCluster(pair.cluster.spec, (line) => lines.push(line)), lines };
  };
  const readOnly = async (cluster: MariadbCluster) =>
    Object.fromEntries(
      await Promise.all(
        cluster.names.map(async (n) => [n, (await cluster.sql(n, 'SELECT @@global.read_only'))[0]?.[0]]),
      ),
    );
  const killAll = (cluster: MariadbCluster) => Promise.all(cluster.names.map((n) => cluster.kill(n)));

  it('after a planned move: the promoted server comes back the primary, writable, after a crash and after down; reset returns to db-gra-1', async () => {
    s = await startScratchPair();
    const pair = s.pair;
    await s.act('mysqlFence', { pair, server: GRA });
    await s.act('mysqlCatchUp', { pair, server: RBX1, untilServer: GRA });
    await s.act('mysqlPromote', { pair, server: RBX1 });
    await s.act('mysqlRepoint', { pair, server: RBX2, source: RBX1 });
    await s.act('mysqlRepoint', { pair, server: GRA, source: RBX1 });
    const { cluster, lines } = logged(s);

    // A crash: every server restarts as its configuration says (db-rbx-1 read-only, db-gra-1 writable).
    await killAll(cluster);
    await cluster.up();
    expect(lines).toContain(
      `${cluster.spec.label}: db-rbx-1 is the primary, as the last move left it (db-gra-1, db-rbx-2 replicate from it); ` +
        '`drctl stack reset` returns to db-gra-1 primary.',
    );
    expect(await readOnly(cluster)).toEqual({ [GRA]: '1', [RBX1]: '0', [RBX2]: '1' });
    expect(await cluster.checkReplication()).toBe('row written on db-rbx-1 read on db-gra-1, db-rbx-2');

    // A clean stop and start: the roles recorded at the stop, the same sentence.
    lines.length = 0;
    await cluster.down();
    await cluster.up();
    expect(lines.filter((l) => l.includes('as the last move left it'))).toHaveLength(1);
    expect(await readOnly(cluster)).toEqual({ [GRA]: '1', [RBX1]: '0', [RBX2]: '1' });
    expect(await cluster.checkReplication()).toBe('row written on db-rbx-1 read on db-gra-1, db-rbx-2');

    lines.length = 0;
    await cluster.reset();
    await cluster.up();
    expect(lines.filter((l) => l.includes('last move'))).toEqual([]);
    expect(await readOnly(cluster)).toEqual({ [GRA]: '0', [RBX1]: '1', [RBX2]: '1' });
    expect(await cluster.checkReplication()).toBe('row written on db-gra-1 read on db-rbx-1, db-rbx-2');
    expect((await cluster.status()).detail).toMatch(/; primary db-gra-1; replicas db-rbx-1, db-rbx-2$/);
  });

  it('after an unplanned move: the old primary, fenced and left replicating from nobody, stays read-only', async () => {
    s = await startScratchPair();
    const pair = s.pair;
    await s.cluster.kill(GRA);
    await s.act('mysqlCatchUp', { pair, server: RBX1 });
    await s.act('mysqlPromote', { pair, server: RBX1 });
    await s.act('mysqlRepoint', { pair, server: RBX2, source: RBX1 });
    // It comes back writable, as a returning old primary does; the watcher of the move fences it.
    await s.cluster.start(GRA);
    await s.act('mysqlFence', { pair, server: GRA });
    const { cluster, lines } = logged(s);

    await killAll(cluster);
    await cluster.up();
    expect(lines.find((l) => l.includes('last move'))).toMatch(
      /: db-rbx-1 is the primary, as the last move left it \(db-rbx-2 replicates from it; db-gra-1, replicating from nobody, stays read-only as the move fenced it\)/,
    );
    expect(await readOnly(cluster)).toEqual({ [GRA]: '1', [RBX1]: '0', [RBX2]: '1' });
    expect(await cluster.checkReplication()).toBe('row written on db-rbx-1 read on db-rbx-2');
    expect((await cluster.status()).detail).toMatch(
      /; primary db-rbx-1; replicas db-rbx-2; read-only, replicating from nobody: db-gra-1$/,
    );
  });
});

/** The stack's ES emulator service on free ports in a folder of its own (the shared stack's is never touched). */
describe('the Elasticsearch pair survives a stop and a start after a move', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  it('keeps promoted indices, documents, write blocks and paused patterns; forget returns to the seed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-es-move-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const ports = { gra: await freePort(), rbx: await freePort() };
    const env = {
      DR_STACK_DIR: dir,
      DR_STACK_PORT_ES_GRA: String(ports.gra),
      DR_STACK_PORT_ES_RBX: String(ports.rbx),
    };
    const lines: string[] = [];
    const service = await withEnv(env, async () => esEmulator((line) => lines.push(line)));
    cleanups.push(() => service.down());
    const gra = new Client({ node: `http://127.0.0.1:${ports.gra}` });
    const rbx = new Client({ node: `http://127.0.0.1:${ports.rbx}` });
    cleanups.push(async () => void (await Promise.all([gra.close(), rbx.close()])));
    await service.up();

    // What a failover does: rbx's followers promoted (pause, close, unfollow, open), its auto-follow pattern
    // paused, gra's leader write-blocked; then a write on the new primary.
    for (const index of ['orders', 'customers', 'logs-app-000001']) {
      await rbx.ccr.pauseFollow({ index });
      await rbx.indices.close({ index });
      await rbx.ccr.unfollow({ index });
      await rbx.indices.open({ index });
    }
    await rbx.ccr.pauseAutoFollowPattern({ name: 'logs-from-gra' });
    await gra.indices.addBlock({ index: 'orders', block: 'write' });
    await rbx.index({
      index: 'orders',
      id: 'o-2001',
      document: { customer: 'c-2', total: 5 },
      refresh: true,
    });
    const moved = await pairState(gra, rbx);

    await service.down();
    await service.up();
    expect(lines.at(-1)).toMatch(
      /^es-emulator: restored the pair as the last stop left it \(gra: .*orders \(write-blocked\).*; rbx: .*orders/,
    );
    expect(await pairState(gra, rbx)).toEqual(moved);
    expect(moved).toMatchObject({
      rbxFollowers: [],
      rbxOrders: ['o-1001', 'o-1002', 'o-1003', 'o-2001'],
      graOrdersWriteBlock: 'true',
      rbxPatternActive: false,
    });

    await service.down();
    await service.forget!();
    await service.up();
    expect(lines.at(-1)).toMatch(/^es-emulator: seeded /);
    expect(await pairState(gra, rbx)).toMatchObject({
      rbxFollowers: ['customers', 'logs-app-000001', 'orders'],
      rbxPatternActive: true,
    });
  });
});

/** What a move changes in the pair, read through the API. */
async function pairState(gra: Client, rbx: Client) {
  const followers = (await rbx.ccr.followInfo({ index: '_all' })).follower_indices;
  await rbx.indices.refresh({ index: 'orders' });
  const orders = await rbx.search({ index: 'orders', size: 100, query: { match_all: {} } });
  const block = await gra.indices.getSettings({ index: 'orders', flat_settings: true });
  const pattern = await rbx.ccr.getAutoFollowPattern({ name: 'logs-from-gra' });
  return {
    rbxFollowers: followers.map((f) => f.follower_index).sort(),
    rbxOrders: orders.hits.hits.map((h) => h._id).sort(),
    graOrdersWriteBlock: (block.orders?.settings as Record<string, string> | undefined)?.[
      'index.blocks.write'
    ],
    rbxPatternActive: pattern.patterns[0]?.pattern.active,
  };
}

/** The stack's OVH emulator service on a free port in a folder of its own (never the shared stack's). */
describe('the OVH emulator keeps where traffic goes across a stop and a start', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  it('an IPLB and DNS switch to rbx survives down/up; forget returns to gra', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-ovh-move-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const env = {
      DR_STACK_DIR: dir,
      DR_STACK_PORT_OVH: String(port),
      DR_OVH_EMULATOR_TASK_TODO_MS: '10',
      DR_OVH_EMULATOR_TASK_DOING_MS: '10',
      DR_OVH_EMULATOR_DNS_DEPLOY_MS: '10',
    };
    const service = await withEnv(env, async () => ovhEmulator(() => undefined));
    const paths = await withEnv(env, async () => ovhEmulatorPaths());
    cleanups.push(() => service.down());
    await withEnv(env, () => service.up());
    cleanups.push(trustCaInProcess(readFileSync(paths.caCert, 'utf8')));
    const read = (file: string) => readFileSync(file, 'utf8').trim();
    const api = ovhClient({
      appKey: read(paths.credentials.applicationKey),
      appSecret: read(paths.credentials.applicationSecret),
      consumerKey: read(paths.credentials.consumerKey),
      host: 'localhost',
      port,
    });
    const target = (farm: number, address: string) =>
      `IPLB loadbalancer-local http frontend 4001 → farm ${farm}, 0 pending changes; ` +
      `DNS app.dr.example.test A ${address} (deployed); CA ${paths.caCert}`;
    const serving = async (farm: number, address: string) => {
      const wanted = target(farm, address);
      const deadline = Date.now() + 10_000;
      let detail = (await service.status()).detail;
      while (detail !== wanted && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        detail = (await service.status()).detail;
      }
      return detail;
    };

    // What a move does through the OVH API: the frontend to rbx's farm, the record to rbx's address, applied.
    await api.requestPromised('PUT', '/ipLoadbalancing/loadbalancer-local/http/frontend/4001', {
      defaultFarmId: 5002,
    });
    await api.requestPromised('POST', '/ipLoadbalancing/loadbalancer-local/refresh', {});
    await api.requestPromised('PUT', '/domain/zone/dr.example.test/record/7001', { target: '127.0.0.2' });
    await api.requestPromised('POST', '/domain/zone/dr.example.test/refresh', {});
    expect(await serving(5002, '127.0.0.2')).toBe(target(5002, '127.0.0.2'));

    await service.down();
    await withEnv(env, () => service.up());
    expect(await serving(5002, '127.0.0.2')).toBe(target(5002, '127.0.0.2'));

    await service.down();
    await service.forget!();
    await withEnv(env, () => service.up());
    expect(await serving(5001, '127.0.0.1')).toBe(target(5001, '127.0.0.1'));
  });
});
