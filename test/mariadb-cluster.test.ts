import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { processAlive } from '../dev/stack/daemon';
import {
  cleanScratchLeftovers,
  createScratchCluster,
  MARIADB_ACCOUNTS,
  type MariadbCluster,
} from '../dev/stack/services/mariadb';

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

  it('creates its accounts on every server through stdin, out of the binlog and out of any command line', async () => {
    // A `mariadb` first in PATH that records its command line, then runs the real client.
    const shimDir = mkdtempSync(path.join(os.tmpdir(), 'mariadb-argv-'));
    const argvLog = path.join(shimDir, 'argv.log');
    const realClient = execFileSync('sh', ['-c', 'command -v mariadb'], { encoding: 'utf8' }).trim();
    writeFileSync(
      path.join(shimDir, 'mariadb'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${realClient}' "$@"\n`,
    );
    chmodSync(path.join(shimDir, 'mariadb'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${shimDir}:${savedPath}`;
    const cluster = await createScratchCluster();
    try {
      await cluster.up();
      process.env.PATH = savedPath;
      const secrets = Object.values(MARIADB_ACCOUNTS).map((a) => cluster.secret(a.secretFile));
      const commandLines = readFileSync(argvLog, 'utf8');
      expect(commandLines).toMatch(/--socket/); // the shim did see the client's invocations
      for (const secret of secrets) expect(commandLines).not.toContain(secret);
      expect(commandLines).not.toMatch(/IDENTIFIED BY|MASTER_PASSWORD/i);

      for (const name of cluster.names) {
        expect(await binlogText(cluster, name), name).not.toMatch(/CREATE USER|GRANT |IDENTIFIED/i);
        const orchestrator = await mysql.createConnection({
          host: '127.0.0.1',
          port: cluster.instance(name).port,
          user: MARIADB_ACCOUNTS.orchestrator.user,
          password: cluster.secret(MARIADB_ACCOUNTS.orchestrator.secretFile),
        });
        await orchestrator.end();
      }
      expect(await cluster.checkReplication()).toBe('row written on db-gra-1 read on db-rbx-1, db-rbx-2');
    } finally {
      process.env.PATH = savedPath;
      await cluster.destroy();
      rmSync(shimDir, { recursive: true, force: true });
    }
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

/** Every event of a server's binlogs, as text. */
async function binlogText(cluster: MariadbCluster, name: string): Promise<string> {
  const files = (await cluster.sql(name, 'SHOW BINARY LOGS')).map(([file]) => file);
  const events = await Promise.all(files.map((file) => cluster.sql(name, `SHOW BINLOG EVENTS IN '${file}'`)));
  return events
    .flat()
    .map((row) => row.join(' '))
    .join('\n');
}
