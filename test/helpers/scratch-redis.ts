import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import type { z } from 'zod';
import type { runbookSchema } from '../../config/schema';
import {
  freePort,
  portOpen,
  processAlive,
  runningPid,
  startDaemon,
  stopDaemon,
  waitFor,
} from '../../dev/stack/daemon';
import { ensureDebianPackages, STACK_PACKAGES } from '../../dev/tools/debian-packages';
import { TEST_APPROVER_LINE } from './approver';

/** A runbook's redis section, as written (before defaults). */
export type RedisSection = NonNullable<z.input<typeof runbookSchema>['redis']>;

/** One scratch redis-server: its name, site and port. */
export interface ScratchRedisServer {
  name: string;
  site: string;
  port: number;
}

export interface ScratchRedisPair {
  dir: string;
  /** The password every server requires (requirepass and masterauth), in `passwordFile` too. */
  password: string;
  passwordFile: string;
  gra: ScratchRedisServer;
  rbx: ScratchRedisServer;
  /** The runbook's redis section for this pair (the addresses may be overridden, e.g. to go through a proxy). */
  runbookSection(ports?: Partial<Record<'gra' | 'rbx', number>>): RedisSection;
  /** A client of one server (closed by `close()`). */
  client(site: 'gra' | 'rbx'): Redis;
  /** `INFO replication` of one server as fields. */
  info(site: 'gra' | 'rbx'): Promise<Record<string, string>>;
  /** Waits until rbx (or `replica`) has its link up and the same offset as its master. */
  waitSynced(replica?: 'gra' | 'rbx'): Promise<void>;
  kill(site: 'gra' | 'rbx', signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts a server again (after a kill) from its config file, as a restart does: in the role the file gives (the
   * one CONFIG REWRITE last saved there, if any), with an empty dataset (no persistence).
   */
  start(site: 'gra' | 'rbx'): Promise<void>;
  /** The server's config file as it is now. */
  configText(site: 'gra' | 'rbx'): string;
  close(): Promise<void>;
}

const REDIS_TOOLS = STACK_PACKAGES.filter((t) => t.pkg === 'redis-server');

/**
 * Two scratch redis-servers on free loopback ports in a temp folder: redis-gra the master, redis-rbx its replica,
 * synced before this returns. No persistence; the initial sync starts at once (Debian's redis.conf waits 5 s with
 * repl-diskless-sync-delay 5). Stopped and deleted by `close()`.
 */
export async function startScratchRedisPair(): Promise<ScratchRedisPair> {
  ensureDebianPackages(REDIS_TOOLS);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dr-redis-'));
  const password = `scratch-${Math.random().toString(36).slice(2)}`;
  const passwordFile = path.join(dir, 'redis-password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const servers = {
    gra: { name: 'redis-gra', site: 'gra', port: await freePort() },
    rbx: { name: 'redis-rbx', site: 'rbx', port: await freePort() },
  };
  const clients: Redis[] = [];
  const spec = (site: 'gra' | 'rbx') => ({ name: servers[site].name, runDir: dir });
  // Each server starts from a config file of its own, as a packaged redis-server does, so that CONFIG REWRITE can
  // save the role a move gave it; written once, a restart reads what the last rewrite left there.
  const configFile = (site: 'gra' | 'rbx') => path.join(dir, site, 'redis.conf');
  const writeConfig = (site: 'gra' | 'rbx', replicaOf?: number) => {
    mkdirSync(path.join(dir, site), { recursive: true });
    const lines = [
      `port ${servers[site].port}`,
      'bind 127.0.0.1',
      `dir ${path.join(dir, site)}`,
      'save ""',
      'appendonly no',
      'repl-diskless-sync-delay 0',
      `requirepass ${password}`,
      `masterauth ${password}`,
      ...(replicaOf ? [`replicaof 127.0.0.1 ${replicaOf}`] : []),
    ];
    writeFileSync(configFile(site), `${lines.join('\n')}\n`, { mode: 0o600 });
  };
  const start = async (site: 'gra' | 'rbx') => {
    startDaemon({ ...spec(site), command: '/usr/bin/redis-server', args: [configFile(site)] });
    await waitFor(`redis ${site}`, () => portOpen(servers[site].port), 10_000);
  };
  const client = (site: 'gra' | 'rbx') => {
    const c = new Redis({ host: '127.0.0.1', port: servers[site].port, password, maxRetriesPerRequest: 1 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  const info = async (site: 'gra' | 'rbx') => {
    const c = new Redis({ host: '127.0.0.1', port: servers[site].port, password, lazyConnect: true });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const text = await c.info('replication');
      return Object.fromEntries(
        text
          .split(/\r?\n/)
          .filter((l) => l.includes(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
      );
    } finally {
      c.disconnect();
    }
  };
  const waitSynced = async (replica: 'gra' | 'rbx' = 'rbx') => {
    const master = replica === 'rbx' ? 'gra' : 'rbx';
    await waitFor(
      `redis ${replica} synced with ${master}`,
      async () => {
        const [m, r] = [await info(master), await info(replica)];
        return r.master_link_status === 'up' && r.slave_repl_offset === m.master_repl_offset;
      },
      20_000,
    );
  };
  const pair: ScratchRedisPair = {
    dir,
    password,
    passwordFile,
    ...servers,
    runbookSection: (ports = {}) => ({
      servers: (['gra', 'rbx'] as const).map((site) => ({
        name: servers[site].name,
        site,
        role: site === 'gra' ? ('master' as const) : ('replica' as const),
        host: '127.0.0.1',
        port: ports[site] ?? servers[site].port,
      })),
      password: `file:${passwordFile}`,
      connectTimeout: '1s',
      commandTimeout: '2s',
      pauseTimeout: '30s',
      catchUpTimeout: '5s',
      failoverTimeout: '5s',
    }),
    client,
    info,
    waitSynced,
    async kill(site, signal = 'SIGKILL') {
      const pid = runningPid(spec(site));
      if (pid === undefined) return;
      process.kill(pid, signal);
      await waitFor(`redis ${site} gone`, async () => !processAlive(pid), 10_000);
    },
    start: (site) => start(site),
    configText: (site) => readFileSync(configFile(site), 'utf8'),
    async close() {
      for (const c of clients) c.disconnect();
      await Promise.all((['gra', 'rbx'] as const).map((site) => stopDaemon(spec(site), 5_000)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    writeConfig('gra');
    writeConfig('rbx', servers.gra.port);
    await start('gra');
    await start('rbx');
    await waitSynced();
  } catch (err) {
    await pair.close();
    throw err;
  }
  return pair;
}

/** A runbook with the scratch pair's redis section (its mysql section names servers no test reaches). */
export function redisRunbook(pair: string, redis: Record<string, unknown>) {
  return {
    pair,
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    mysql: {
      user: 'orchestrator',
      password: 'env:UNUSED_MYSQL_PASSWORD',
      replicationUser: 'repl',
      replicationPassword: 'env:UNUSED_MYSQL_PASSWORD',
      servers: [
        { name: 'db-gra-1', site: 'gra', host: '127.0.0.1', port: 1, role: 'primary' },
        { name: 'db-rbx-1', site: 'rbx', host: '127.0.0.1', port: 2, role: 'replica' },
      ],
    },
    redis,
    approval: { policy: 'auto', approvers: [TEST_APPROVER_LINE] },
  };
}
