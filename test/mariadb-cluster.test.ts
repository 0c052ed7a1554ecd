import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processAlive } from '../dev/stack/daemon';
import { cleanScratchLeftovers, createScratchCluster } from '../dev/stack/services/mariadb';

const alive = processAlive;

/** The MariaDB GTID cluster the stack manager builds from a parameter set (here a scratch one, never the stack's). */
describe('MariaDB GTID cluster lifecycle', () => {
  it('comes up once, a second up changes nothing, down leaves no process, up again resumes replication', async () => {
    const cluster = await createScratchCluster();
    try {
      await cluster.up();
      const pids = cluster.names.map((n) => cluster.pid(n));
      expect(pids.every((p) => p !== undefined)).toBe(true);
      expect((await cluster.status()).detail).toMatch(
        /^\d+\.\d+\.\d+-MariaDB\S*; primary db-gra-1; replicas db-rbx-1, db-rbx-2$/,
      );

      await cluster.up();
      expect(cluster.names.map((n) => cluster.pid(n))).toEqual(pids);
      const [[serverIds] = []] = await cluster.sql('db-rbx-2', 'SELECT @@server_id');
      expect(serverIds).toBe('3');

      await cluster.down();
      expect(cluster.names.map((n) => cluster.pid(n))).toEqual([undefined, undefined, undefined]);
      expect(pids.filter((p) => alive(p as number))).toEqual([]);
      expect((await cluster.status()).running).toBe(false);

      await cluster.up(); // same data, same roles: replicas come back read-only and replicating
      expect(await cluster.checkReplication()).toBe('row written on db-gra-1 read on db-rbx-1, db-rbx-2');
      expect(await cluster.sql('db-rbx-1', 'SELECT @@global.read_only')).toEqual([['1']]);
    } finally {
      await cluster.destroy();
    }
    expect(existsSync(cluster.spec.dir)).toBe(false);
  });

  it('cleans up scratch clusters left running (as `stack down` does)', async () => {
    const cluster = await createScratchCluster({ names: ['db-gra-1', 'db-rbx-1'] });
    await cluster.up();
    const pids = cluster.names.map((n) => cluster.pid(n) as number);
    const removed = await cleanScratchLeftovers({ ids: [path.basename(cluster.spec.dir)] });
    expect(removed).toEqual([path.basename(cluster.spec.dir)]);
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(cluster.spec.dir)).toBe(false);
  });
});
