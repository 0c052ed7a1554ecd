/**
 * A planned MySQL switchover on one scratch MariaDB trio under one writer (dev/write-load.ts's WriteLoad at
 * 200 writes/s, which writes to whichever server is writable: the same client routing for both), by two contenders
 * taking turns: this project's MySQL activities (fence, catch-up, promote, repoint the others in parallel) and MHA's
 * `masterha_master_switch --master_state=alive` (stock Debian package, two upstream fixes loaded from dev/mha).
 * Each switch moves the primary to the next server of the trio. Figures: wall time, the longest gap between
 * acknowledged writes around it, and the acknowledged writes missing on the new primary (by id).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, createClients } from '../activities';
import type { LoadedRunbook } from '../config/load';
import { runbookSchema } from '../config/schema';
import {
  APP_DATABASE,
  createScratchCluster,
  MARIADB_ACCOUNTS,
  type MariadbCluster,
} from '../dev/stack/services/mariadb';
import { ensureDebianPackages, STACK_PACKAGES } from '../dev/tools/debian-packages';
import { WriteLoad } from '../dev/write-load';
import { MHA_PERL_ENV, writeMhaConfig } from '../dev/mha/config';
import type { Sample, Scenario } from './scenario';
import { WRITES_PER_SECOND } from './writer';

const run = promisify(execFile);
const SERVERS = ['db-gra-1', 'db-rbx-1', 'db-rbx-2'];
const PAIR = 'bench-mysql';

interface Trio {
  cluster: MariadbCluster;
  dir: string;
  load: WriteLoad;
  primary: string;
}

function runbookFor(trio: MariadbCluster, secretsDir: string): LoadedRunbook {
  const secret = (file: string) => `file:${path.join(secretsDir, file)}`;
  const runbook = runbookSchema.parse({
    pair: PAIR,
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    mysql: {
      user: MARIADB_ACCOUNTS.orchestrator.user,
      password: secret(MARIADB_ACCOUNTS.orchestrator.secretFile),
      replicationUser: MARIADB_ACCOUNTS.replication.user,
      replicationPassword: secret(MARIADB_ACCOUNTS.replication.secretFile),
      killClientConnectionsOnFence: true,
      servers: SERVERS.map((name, i) => ({
        name,
        site: i === 0 ? 'gra' : 'rbx',
        host: '127.0.0.1',
        port: trio.instance(name).port,
        role: i === 0 ? 'primary' : 'replica',
      })),
    },
    approval: { policy: 'auto', approvers: ['nobody'], unsigned: 'allow' },
  });
  return { runbook, file: path.join(secretsDir, 'runbook.yaml') };
}

/** This project's MySQL switchover: the activities the failover workflow runs, called directly. */
async function projectSwitch(trio: Trio, candidate: string): Promise<void> {
  const clients = createClients(new Map([[PAIR, runbookFor(trio.cluster, path.join(trio.dir, 'secrets'))]]));
  const a = createActivities(clients);
  const call = <I>(fn: (input: I) => Promise<unknown>, input: I) =>
    new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);
  try {
    await call(a.mysqlFence, { pair: PAIR, server: trio.primary });
    await call(a.mysqlCatchUp, { pair: PAIR, server: candidate, untilServer: trio.primary });
    await call(a.mysqlPromote, { pair: PAIR, server: candidate });
    await Promise.all(
      SERVERS.filter((s) => s !== candidate).map((server) =>
        call(a.mysqlRepoint, { pair: PAIR, server, source: candidate }),
      ),
    );
  } finally {
    await clients.close();
  }
}

/** MHA's planned online switch; then the replicas go back to GTID replication (MHA repoints them by file/position). */
async function mhaSwitch(trio: Trio, candidate: string): Promise<number> {
  const started = Date.now();
  await run(
    'masterha_master_switch',
    [
      `--conf=${writeMhaConfig(trio.cluster, trio.dir, SERVERS, [
        `master_ip_online_change_script=${path.join(__dirname, 'mha', 'online-change')}`,
      ])}`,
      '--master_state=alive',
      '--new_master_host=127.0.0.1',
      `--new_master_port=${trio.cluster.instance(candidate).port}`,
      '--orig_master_is_new_slave',
      '--interactive=0',
      '--running_updates_limit=10',
    ],
    {
      env: {
        ...process.env,
        ...MHA_PERL_ENV,
        BENCH_APP_USER: MARIADB_ACCOUNTS.app.user,
      },
    },
  ).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`masterha_master_switch failed: ${err.message}\n${(err.stdout ?? '').slice(-2000)}`);
  });
  const ms = Date.now() - started;
  for (const replica of SERVERS.filter((s) => s !== candidate))
    await trio.cluster.sql(
      replica,
      'STOP SLAVE; SET GLOBAL gtid_slave_pos=@@gtid_binlog_pos; CHANGE MASTER TO MASTER_USE_GTID=slave_pos; START SLAVE',
    );
  return ms;
}

/** The longest stretch without an acknowledged write from the last one before `from` to the first one after `to`. */
function longestGap(load: WriteLoad, from: number, to: number): number {
  const acked = load.records.filter((r) => r.outcome === 'acknowledged').map((r) => r.at);
  const start = Math.max(...acked.filter((t) => t <= from), from);
  const end = Math.min(...acked.filter((t) => t >= to), Infinity);
  const window = [
    start,
    ...acked.filter((t) => t > start && t < end),
    ...(Number.isFinite(end) ? [end] : []),
  ];
  return window.slice(1).reduce((gap, t, i) => Math.max(gap, t - window[i]!), 0);
}

async function measured(
  trio: Trio,
  prefix: string,
  candidate: string,
  move: () => Promise<unknown>,
): Promise<Record<string, number>> {
  await trio.load.waitForAcknowledged(50, 10_000);
  const started = Date.now();
  await move();
  const ended = Date.now();
  trio.primary = candidate;
  await trio.load.waitForAcknowledged(50, 15_000);
  const lost = (await trio.load.verify(candidate)).lost.length;
  return {
    [`${prefix}_switchover_ms`]: ended - started,
    [`${prefix}_switchover_gap_ms`]: longestGap(trio.load, started, ended),
    [`${prefix}_switchover_lost_writes`]: lost,
  };
}

const nextServer = (primary: string) => SERVERS[(SERVERS.indexOf(primary) + 1) % SERVERS.length]!;

export function mysqlSwitchoverScenario(): Scenario {
  let trio: Trio | undefined;
  return {
    name: 'mysql-switchover',
    description: `planned MySQL switchover on one scratch MariaDB trio at ${WRITES_PER_SECOND} writes/s: this project's MySQL activities vs MHA 0.58's masterha_master_switch --master_state=alive`,
    async setup(ctx) {
      ensureDebianPackages(
        STACK_PACKAGES.filter((t) => t.pkg.startsWith('mha4mysql-')),
        ctx.log,
      );
      const dir = mkdtempSync(path.join(os.tmpdir(), 'dr-bench-mysql-'));
      const cluster = await createScratchCluster({
        dir: path.join(dir, 'mariadb'),
        secretsDir: path.join(dir, 'secrets'),
        extraConfig: ['relay_log_purge=0'],
        log: ctx.log,
      });
      await cluster.up();
      const password = cluster.secret(MARIADB_ACCOUNTS.app.secretFile);
      const load = new WriteLoad({
        targets: SERVERS.map((name) => ({ name, host: '127.0.0.1', port: cluster.instance(name).port })),
        user: MARIADB_ACCOUNTS.app.user,
        password,
        database: APP_DATABASE,
        ratePerSecond: WRITES_PER_SECOND,
      });
      await load.prepare();
      load.start();
      trio = { cluster, dir, load, primary: SERVERS[0]! };
    },
    async run(ctx): Promise<Sample> {
      const t = trio!;
      const figures: Record<string, number> = {};
      const contenders = [
        { prefix: 'mysql', move: (c: string) => projectSwitch(t, c) },
        { prefix: 'mha', move: (c: string) => mhaSwitch(t, c) },
      ];
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(ctx.run + i) % contenders.length]!;
        const candidate = nextServer(t.primary);
        Object.assign(
          figures,
          await measured(t, contender.prefix, candidate, () => contender.move(candidate)),
        );
        ctx.log(
          `${contender.prefix}: ${figures[`${contender.prefix}_switchover_ms`]} ms, gap ${figures[`${contender.prefix}_switchover_gap_ms`]} ms, lost ${figures[`${contender.prefix}_switchover_lost_writes`]}`,
        );
      }
      const failures = ['mysql', 'mha']
        .filter((p) => (figures[`${p}_switchover_lost_writes`] ?? 0) > 0)
        .map(
          (p) =>
            `${p} lost ${figures[`${p}_switchover_lost_writes`]} acknowledged writes in a planned switchover`,
        );
      return { figures, failures };
    },
    async teardown() {
      if (!trio) return;
      await trio.load.stop();
      await trio.load.close();
      await trio.cluster.destroy();
      rmSync(trio.dir, { recursive: true, force: true });
    },
  };
}
