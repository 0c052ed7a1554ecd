import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { HaproxySocketClient, setServerState } from '../activities/traffic/haproxy-runtime';
import { resolveSecret } from '../config/secrets';
import { evaluateMysqlReadiness } from '../workflows/checks/mysql-readiness';
import { builtEntry, portOpen, processAlive, startDaemon } from '../dev/stack/daemon';
import { waitUntil } from './helpers/apps-traffic';
import { runActivity, testTaskQueue } from './helpers/local-stack';
import {
  cleanScratchDrPairLeftovers,
  OWNER_FILE,
  PAIR_DIR_PREFIX,
  startScratchDrPair,
  startWorkerProcess,
  type DrPairSnapshot,
  type ScratchDrPair,
} from './helpers/scratch-dr-pair';
import { TEST_APPROVER_LINE } from './helpers/approver';

const replicaOfGra = {
  reachable: true,
  readOnly: true,
  replicatesFrom: 'db-gra-1',
  ioRunning: 'Yes',
  sqlRunning: 'Yes',
};

/** The pair as startScratchDrPair leaves it. */
const INITIAL: DrPairSnapshot = {
  mysql: {
    'db-gra-1': { reachable: true, readOnly: false, replicatesFrom: null },
    'db-rbx-1': replicaOfGra,
    'db-rbx-2': replicaOfGra,
  },
  elasticsearch: {
    gra: {
      reachable: true,
      indices: { orders: 'open', customers: 'open', 'logs-app-000001': 'open' },
      writeBlocked: [],
      autoFollowPatterns: {},
    },
    rbx: {
      reachable: true,
      indices: {
        orders: 'follower active',
        customers: 'follower active',
        'logs-app-000001': 'follower active',
      },
      writeBlocked: [],
      autoFollowPatterns: { 'logs-from-gra': 'active' },
    },
  },
  traffic: { reachable: true, servers: { 'app-gra': 'ready', 'app-rbx': 'drain' } },
  apps: { gra: { health: 'ok', dbReadOnly: false }, rbx: { health: 'ok', dbReadOnly: true } },
};

/** Connects to db-gra-1 at the address the runbook gives the worker, as the orchestrator account. */
async function connectAsWorker(pair: ScratchDrPair): Promise<void> {
  const { runbook, file } = pair.runbooks.get(pair.pair)!;
  const server = runbook.mysql.servers.find((s) => s.name === 'db-gra-1')!;
  const conn = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: runbook.mysql.user,
    password: resolveSecret(runbook.mysql.password, file),
    connectTimeout: 1_500,
  });
  await conn.query('SELECT 1');
  conn.destroy();
}

/**
 * The scratch DR pair that end-to-end failover tests run on: its own MariaDB trio, ES emulator pair, Perl apps
 * over sshd, HAProxy and Toxiproxy, on free ports in a temporary folder.
 */
describe('scratch DR pair', () => {
  let pair: ScratchDrPair;
  let clients: ActivityClients;
  let activities: ReturnType<typeof createActivities>;
  // Errors only: the SSH failure provoked on purpose would be logged as a warning.
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

  beforeAll(async () => {
    pair = await startScratchDrPair({ proxyWorkerToPrimary: true });
    clients = createClients(pair.runbooks);
    activities = createActivities(clients);
  });
  afterAll(async () => {
    // The pair first: a pooled connection left on a cut path would keep clients.close() waiting.
    await pair?.close();
    await clients?.close();
  });

  it('starts in the normal state; two snapshots of the untouched pair are equal; a change shows', async () => {
    const { runbook } = pair.runbooks.get(pair.pair)!;
    expect(runbook).toMatchObject({
      approval: { policy: 'required', approvers: [TEST_APPROVER_LINE] },
      probes: { interval: '250ms', fall: 2, rise: 2 },
      traffic: {
        provider: 'haproxy',
        sockets: [{ socket: pair.haproxySocket, stateFile: pair.haproxyStateFile }],
        entryUrl: pair.frontendUrl('/health'),
      },
    });
    const secrets = [
      runbook.mysql.password,
      runbook.mysql.replicationPassword,
      ...runbook.apps!.hosts.map((h) => h.ssh.privateKey),
    ];
    for (const ref of secrets) {
      expect(ref).toMatch(new RegExp(`^file:${pair.dir}/`));
      expect(statSync(ref.slice('file:'.length)).mode & 0o777).toBe(0o600);
    }
    const first = await pair.snapshot();
    expect(first).toEqual(INITIAL);
    expect(await pair.snapshot()).toEqual(first);

    const runtime = new HaproxySocketClient(pair.haproxySocket);
    const rbxEs = (p: string) => fetch(`${pair.esUrl('rbx')}${p}`, { method: 'POST' });
    await setServerState(runtime, 'app', 'app-rbx', 'maint');
    await pair.cluster.sql('db-rbx-2', 'STOP SLAVE');
    await rbxEs('/orders/_ccr/pause_follow');
    await rbxEs('/_ccr/auto_follow/logs-from-gra/pause');
    const changed = await pair.snapshot();
    expect(changed.traffic.servers?.['app-rbx']).toBe('maint');
    expect(changed.mysql['db-rbx-2']).toMatchObject({ ioRunning: 'No', sqlRunning: 'No' });
    expect(changed.elasticsearch.rbx).toMatchObject({
      indices: { orders: 'follower paused' },
      autoFollowPatterns: { 'logs-from-gra': 'paused' },
    });

    await setServerState(runtime, 'app', 'app-rbx', 'drain');
    await pair.cluster.sql('db-rbx-2', 'START SLAVE');
    await rbxEs('/orders/_ccr/resume_follow');
    await rbxEs('/_ccr/auto_follow/logs-from-gra/resume');
    await waitUntil(
      'db-rbx-2 replicates again',
      async () => (await pair.snapshot()).mysql['db-rbx-2']?.ioRunning === 'Yes',
    );
    expect(await pair.snapshot()).toEqual(INITIAL);
  });

  it('takes a burst of writes through the frontend; every acknowledged write reaches db-rbx-1', async () => {
    // Room for every write of the burst to wait in HAProxy and the app. The rate this machine serves is a bench
    // figure: here, that the writes were taken and every one replicated.
    const load = pair.writeLoad({ ratePerSecond: 250, maxInFlight: 600, requestTimeoutMs: 20_000 });
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // the load's duration
    const summary = await load.stop();
    expect(summary.attempted).toBeGreaterThanOrEqual(100);
    expect(summary).toMatchObject({ failed: 0, unknown: 0, acknowledgedBy: { gra: summary.attempted } });
    expect((await load.verify('db-gra-1')).lost).toEqual([]);
    await waitUntil('db-rbx-1 holds every acknowledged write', async () => {
      const verification = await load.verify('db-rbx-1');
      return verification.lost.length === 0 && verification.acknowledged === summary.acknowledged;
    });
  });

  it("runs the runbook's app stop and start commands over SSH", async () => {
    const rbx = { pair: pair.pair, host: 'app-rbx-1' };
    const stopped = await runActivity(env, activities.appStop, rbx);
    expect(stopped).toMatchObject({ action: 'stop', commandRun: true });
    expect(stopped.command?.stdout).toMatch(/^app rbx stopped \(was pid \d+\)/);
    expect((await pair.snapshot()).apps.rbx).toEqual({ health: 'down' });

    const started = await runActivity(env, activities.appStart, rbx);
    expect(started).toMatchObject({ action: 'start', commandRun: true, streak: 2 });
    expect(started.command?.stdout).toMatch(/^app rbx started \(pid \d+/);
    expect((await pair.snapshot()).apps.rbx).toEqual({ health: 'ok', dbReadOnly: true });
  });

  it("cuts the worker's path to db-gra-1 (Toxiproxy) while the replicas keep replicating from it", async () => {
    await connectAsWorker(pair);
    // Through the proxy, the orchestrator still sees the replicas replicating from its db-gra-1. Clients of
    // their own, closed before the cut: a pooled connection caught by the cut would hang a status read.
    const viaProxy = createClients(pair.runbooks);
    try {
      const own = createActivities(viaProxy);
      const settings = await runActivity(env, own.pairSettings, { pair: pair.pair });
      const healthy = await runActivity(env, own.mysqlServerStatuses, { pair: pair.pair });
      expect(evaluateMysqlReadiness(settings, healthy).filter((c) => !c.ok)).toEqual([]);
    } finally {
      await viaProxy.close();
    }
    await pair.blockWorkerPathToPrimary!();
    try {
      await expect(connectAsWorker(pair)).rejects.toThrow();
      const statuses = await runActivity(env, activities.mysqlServerStatuses, { pair: pair.pair });
      expect(statuses.map((s) => [s.server, s.reachable])).toEqual([
        ['db-gra-1', false],
        ['db-rbx-1', true],
        ['db-rbx-2', true],
      ]);
      const token = `cut-${Date.now()}`;
      await pair.cluster.sql('db-gra-1', `INSERT INTO app.stack_check (token) VALUES ('${token}')`);
      await waitUntil('the row written on db-gra-1 reaches db-rbx-1', async () => {
        const rows = await pair.cluster.sql(
          'db-rbx-1',
          `SELECT COUNT(*) FROM app.stack_check WHERE token='${token}'`,
        );
        return rows[0]?.[0] === '1';
      });
      expect((await pair.snapshot()).mysql).toEqual(INITIAL.mysql);
    } finally {
      await pair.restoreWorkerPathToPrimary!();
    }
    await connectAsWorker(pair);

    await pair.blockWorkerPathToPrimary!('refuse');
    await expect(connectAsWorker(pair)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await pair.restoreWorkerPathToPrimary!();
    await connectAsWorker(pair);
  });

  it('runs the worker as a process of its own, serving the pair', async () => {
    const worker = await startWorkerProcess({
      runbookPath: pair.runbookPath,
      taskQueue: testTaskQueue('e2e'),
    });
    try {
      const cmdline = readFileSync(`/proc/${worker.pid}/cmdline`, 'utf8').split('\0');
      // node runs the worker itself (compiled, or its sources through tsx's loader): no parent process in between.
      expect(cmdline[0]).toBe(process.execPath);
      expect(cmdline.slice(1, -1)).toEqual(builtEntry('worker/main.ts').args);
      expect(cmdline[cmdline.length - 2]).toMatch(/\/worker\/main\.(js|ts)$/);
      const running = worker
        .output()
        .split('\n')
        .find((l) => l.includes('"worker running"'));
      expect(JSON.parse(running!)).toMatchObject({ pairs: [pair.pair], runbooks: [pair.runbookPath] });
      expect(await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text()).toMatch(
        /^# TYPE/m,
      );
    } finally {
      expect(await worker.stop()).toEqual({ code: 0, signal: null });
    }
    expect(processAlive(worker.pid)).toBe(false);
  });

  it('kills the primary site, shows it in the snapshot, and brings it back', async () => {
    await pair.killPrimarySite();
    await waitUntil('the replicas lose db-gra-1', async () => {
      const { mysql: servers } = await pair.snapshot();
      return ['db-rbx-1', 'db-rbx-2'].every((s) => servers[s]?.ioRunning === 'Connecting');
    });
    const dead = await pair.snapshot();
    expect(dead).toEqual({
      ...INITIAL,
      mysql: {
        'db-gra-1': { reachable: false },
        'db-rbx-1': { ...replicaOfGra, ioRunning: 'Connecting' },
        'db-rbx-2': { ...replicaOfGra, ioRunning: 'Connecting' },
      },
      elasticsearch: { ...INITIAL.elasticsearch, gra: { reachable: false } },
      apps: { gra: { health: 'down' }, rbx: INITIAL.apps.rbx },
    });
    const appGra = { pair: pair.pair, host: 'app-gra-1' };
    await expect(runActivity(env, activities.appStop, appGra)).rejects.toMatchObject({
      type: 'SshUnreachable',
    });

    await pair.revivePrimarySite();
    await waitUntil('the replicas follow db-gra-1 again', async () => {
      const { mysql: servers } = await pair.snapshot();
      return ['db-rbx-1', 'db-rbx-2'].every((s) => servers[s]?.ioRunning === 'Yes');
    });
    expect(await pair.snapshot()).toEqual({
      ...INITIAL,
      apps: { gra: { health: 'down' }, rbx: INITIAL.apps.rbx },
    });
  });

  it('removes the pairs of dead test processes, killing only the processes they started', async () => {
    const dir = path.join(os.tmpdir(), `${PAIR_DIR_PREFIX}leftover-${process.pid}`);
    mkdirSync(path.join(dir, 'daemon'), { recursive: true });
    const deadOwner = spawnSync('true').pid;
    writeFileSync(path.join(dir, OWNER_FILE), `${deadOwner}\n`);
    const leftover = startDaemon({
      name: 'sleeper',
      runDir: path.join(dir, 'daemon'),
      command: 'sleep',
      args: ['600'],
    });
    // A pid file older than the live process it names: the pid was recycled, that process is not the pair's.
    const stranger = spawn('sleep', ['600'], { stdio: 'ignore' });
    const strangerFile = path.join(dir, 'recycled.pid');
    writeFileSync(strangerFile, `${stranger.pid}\n`);
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(strangerFile, hourAgo, hourAgo);
    try {
      expect(await cleanScratchDrPairLeftovers()).toContain(path.basename(dir));
      expect(processAlive(leftover)).toBe(false);
      expect(existsSync(dir)).toBe(false);
      expect(processAlive(stranger.pid!)).toBe(true);
      expect(existsSync(pair.dir)).toBe(true); // its owner, this process, is alive
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  // After every test, whatever their order (registered last, so it runs before the clean-up above).
  afterAll(async () => {
    const pids = pair.pids();
    // 3 mariadbd, the ES emulator, the apps, 2 sshd, HAProxy, Toxiproxy.
    expect(pids.length).toBeGreaterThanOrEqual(8);
    const addresses = pair.listenAddresses();
    await pair.close();
    expect(pids.filter(processAlive)).toEqual([]);
    const open = [];
    for (const a of addresses) if (await portOpen(a.port, a.host)) open.push(a);
    expect(open).toEqual([]);
    expect(existsSync(pair.dir)).toBe(false);
  });
});
