import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Proxy } from 'toxiproxy-node-client';
import { stringify } from 'yaml';
import type { z } from 'zod';
import { HaproxySocketClient, showServersState } from '../../activities/traffic/haproxy-runtime';
import { loadRunbooks, type LoadedRunbook } from '../../config/load';
import type { runbookSchema } from '../../config/schema';
import { freePort, processAlive, sleep, waitFor } from '../../dev/stack/daemon';
import {
  ES_SEED,
  esEmulator,
  esSeedWithFollowers,
  seededFollowerIndices,
  type EsSeed,
} from '../../dev/stack/services/es-emulator';
import { HAPROXY_BACKEND, HAPROXY_SERVERS, haproxy, haproxyPaths } from '../../dev/stack/services/haproxy';
import {
  APP_DATABASE,
  createScratchCluster,
  MARIADB_ACCOUNTS,
  type MariadbCluster,
} from '../../dev/stack/services/mariadb';
import { appctl, writeAppEnv } from '../../dev/stack/services/perl-app';
import { sshPaths, sshServer, sshUser } from '../../dev/stack/services/sshd';
import { FrontendWriteLoad, type FrontendWriteLoadOptions } from '../../dev/write-load';
import { readSnapshot, type DrPairSnapshot, type SnapshotTargets } from './dr-pair-snapshot';
import { withEnv } from './env';
import { keepDownCommand } from './mariadb-keep-down';
import { startScratchRedisPair, type ScratchRedisPair } from './scratch-redis';
import { startScratchPgPair, type ScratchPgPair } from './scratch-postgresql';
import { startToxiproxy, type PathCut, type RunningToxiproxy } from './toxiproxy';
import { TEST_APPROVER_LINE } from './approver';

export type { DrPairSnapshot } from './dr-pair-snapshot';
export { startWorkerProcess, type WorkerProcess } from './worker-process';
export type { PathCut } from './toxiproxy';

export type Site = 'gra' | 'rbx';
const SITES: Site[] = ['gra', 'rbx'];
const PRIMARY = 'db-gra-1';
/** The MariaDB server each site's app writes to. */
const APP_DATABASE_SERVER: Record<Site, string> = { gra: 'db-gra-1', rbx: 'db-rbx-1' };
const HAPROXY_SERVER: Record<Site, string> = Object.fromEntries(
  HAPROXY_SERVERS.map((s) => [s.site, s.server]),
) as Record<Site, string>;

/** The generated runbook before validation, as `edit` receives it. */
export type RunbookDocument = z.input<typeof runbookSchema>;

export interface ScratchDrPairOptions {
  /**
   * The worker's address of db-gra-1 goes through a Toxiproxy proxy (127.0.0.2, same port), so that
   * `blockWorkerPathToPrimary()` can cut it; the replicas and the gra app keep using db-gra-1 directly.
   */
  proxyWorkerToPrimary?: boolean;
  /** Worker processes of each Perl app (default 2). */
  appWorkers?: number;
  /** The approval timeout of the runbook (default 2m). */
  approvalTimeout?: string;
  /**
   * db-gra-1 gets `ssh` (gra's sshd, the one of gra's app host) and `salvage` sections in the runbook, so that an
   * unplanned failover salvages its binlog when its mysqld dies while its host answers.
   */
  salvagePrimary?: boolean;
  /**
   * Follower indices on rbx (default 3: ES_SEED's orders and customers, and its auto-followed logs index); 2 leaves
   * the auto-follow out, more adds leader indices on gra followed by rbx and listed in the runbook.
   */
  followerIndices?: number;
  /** MySQL replicas of db-gra-1 on the standby site, db-rbx-1… (default 2); db-rbx-1 is the one rbx's app uses. */
  standbyReplicas?: number;
  /**
   * `template`: each app reads its database endpoint from a file (DR_APP_DB_ENDPOINT_FILE) that the runbook renders
   * from a template (`apps.hosts[].config.kind: template`), so a move points it at the promoted server; it starts
   * on its site's usual server (rbx: db-rbx-1). Default: a fixed endpoint in app.env, as before.
   */
  appConfig?: 'template';
  /**
   * A Redis session store: redis-gra the master (gra), redis-rbx its replica (rbx), each site's app keeping its
   * login sessions in its site's Redis, and the runbook's redis section.
   */
  redis?: boolean;
  /**
   * A PostgreSQL 15 streaming pair beside MySQL (test/helpers/scratch-postgresql.ts): pg-gra the primary, pg-rbx its
   * standby, reached over each site's sshd, in the runbook's postgresql section.
   */
  postgresql?: boolean;
  /** Changes the generated runbook before it is written and validated. */
  edit?: (runbook: RunbookDocument) => void;
  log?: (line: string) => void;
}

export interface ScratchDrPair {
  pair: string;
  /** The pair's folder (in the OS temp folder): data, sockets, logs, pid files, secrets (0600), runbook. */
  dir: string;
  runbookPath: string;
  runbooks: Map<string, LoadedRunbook>;
  /** The MariaDB servers: db-gra-1 primary (gra), db-rbx-1 and db-rbx-2 replicas (rbx; see standbyReplicas). */
  cluster: MariadbCluster;
  /** With `postgresql`: the PostgreSQL pair (killed with the gra site; it stays down when the site comes back). */
  postgresql?: ScratchPgPair;
  /** HAProxy's frontend, e.g. frontendUrl('/orders'); default `/health`. */
  frontendUrl(path?: string): string;
  /** One site's app, directly; default `/health`. */
  appUrl(site: Site, path?: string): string;
  esUrl(site: Site): string;
  haproxySocket: string;
  /** HAProxy's server-state-file, which the worker saves after each switch. */
  haproxyStateFile: string;
  /** Every system's state, read directly (see DrPairSnapshot). */
  snapshot(): Promise<DrPairSnapshot>;
  /** With the `redis` option: the Redis pair (killed with gra by killPrimarySite, started again by revivePrimarySite). */
  redis?: ScratchRedisPair;
  /**
   * A write load through the frontend (POST /orders), by default 200 writes per second; `verify(server)`
   * counts the acknowledged writes missing on a server. Stopped by `close()`.
   */
  writeLoad(
    options?: Partial<Pick<FrontendWriteLoadOptions, 'ratePerSecond' | 'maxInFlight' | 'requestTimeoutMs'>>,
  ): FrontendWriteLoad;
  /**
   * The gra site dies: db-gra-1, gra's app and gra's sshd SIGKILLed (the app host is unreachable over SSH),
   * gra's ES cluster down (connections refused, also for rbx's CCR). HAProxy, outside the site, stays up (its
   * health checks then mark app-gra down).
   */
  killPrimarySite(): Promise<void>;
  /**
   * The gra site comes back: db-gra-1 restarts as it was configured (writable, no replication: a returning old
   * primary), gra's ES cluster and sshd come back. Its app is not started.
   */
  revivePrimarySite(): Promise<void>;
  /** With `proxyWorkerToPrimary`: cuts the worker's path to db-gra-1 (default `blackhole`). */
  blockWorkerPathToPrimary?(how?: PathCut): Promise<void>;
  restoreWorkerPathToPrimary?(): Promise<void>;
  /** The processes of the pair running now (daemons and the members of their process groups). */
  pids(): number[];
  /** Every address the pair listens on. */
  listenAddresses(): { host: string; port: number }[];
  /** Stops everything the pair started (and any worker whose pid file is in its folder), deletes its folder. */
  close(): Promise<void>;
}

/** A pair's folder is `<OS temp folder>/dr-e2e-<id>`; its OWNER_FILE names the process that started it. */
export const PAIR_DIR_PREFIX = 'dr-e2e-';
export const OWNER_FILE = 'owner.pid';

/**
 * A DR pair of its own for end-to-end tests, on free loopback ports in a temporary folder: MariaDB trio,
 * ES emulator pair (a separate process, seeded like the stack's), two Perl apps each behind its own sshd, HAProxy
 * in front of them, optionally Toxiproxy; and a validated runbook for it. Failover tests mutate it freely;
 * the shared stack is never touched (only its Temporal server is used, by the worker).
 */
export async function startScratchDrPair(options: ScratchDrPairOptions = {}): Promise<ScratchDrPair> {
  const log = options.log ?? (() => undefined);
  await cleanScratchDrPairLeftovers();
  const id = randomBytes(4).toString('hex');
  const pair = `e2e-${id}`;
  const dir = path.join(os.tmpdir(), `${PAIR_DIR_PREFIX}${id}`);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(path.join(dir, OWNER_FILE), `${process.pid}\n`);
  const closing: (() => Promise<void>)[] = [];
  const close = async () => {
    const failures: unknown[] = [];
    while (closing.length > 0) await closing.pop()!().catch((err: unknown) => failures.push(err));
    await killRecordedProcesses(dir);
    rmSync(dir, { recursive: true, force: true });
    if (failures.length > 0) throw new AggregateError(failures, `scratch DR pair ${pair}: close failed`);
  };
  try {
    return await buildPair({ pair, dir, options, log, closing, close });
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

interface BuildContext {
  pair: string;
  dir: string;
  options: ScratchDrPairOptions;
  log: (line: string) => void;
  /** Undo steps, run last first by `close`. */
  closing: (() => Promise<void>)[];
  close: () => Promise<void>;
}

async function buildPair(ctx: BuildContext): Promise<ScratchDrPair> {
  const { pair, dir, options, log, closing } = ctx;
  const secretsDir = path.join(dir, 'secrets');
  const standbyReplicas = options.standbyReplicas ?? 2;
  if (!Number.isInteger(standbyReplicas) || standbyReplicas < 1)
    throw new Error(`standbyReplicas: expected a whole number ≥ 1, got ${standbyReplicas}`);
  const seed = options.followerIndices === undefined ? ES_SEED : esSeedWithFollowers(options.followerIndices);
  const cluster = await createScratchCluster({
    names: [PRIMARY, ...Array.from({ length: standbyReplicas }, (_, i) => `db-rbx-${i + 1}`)],
    id: pair,
    dir: path.join(dir, 'mariadb'),
    secretsDir,
    log,
  });
  closing.push(() => cluster.destroy());
  const [esGra, esRbx, appGra, appRbx, frontend, sshGra, sshRbx] = await distinctFreePorts(
    7,
    cluster.spec.instances.map((i) => i.port),
  );
  const appPort: Record<Site, number> = { gra: appGra!, rbx: appRbx! };
  const sshPort: Record<Site, number> = { gra: sshGra!, rbx: sshRbx! };
  const esPort: Record<Site, number> = { gra: esGra!, rbx: esRbx! };
  const pairEnv = {
    DR_STACK_DIR: dir,
    DR_STACK_PORT_HAPROXY: String(frontend),
    DR_STACK_PORT_APP_GRA: String(appPort.gra),
    DR_STACK_PORT_APP_RBX: String(appPort.rbx),
    DR_STACK_PORT_ES_GRA: String(esPort.gra),
    DR_STACK_PORT_ES_RBX: String(esPort.rbx),
  };
  // Each site's app host has an sshd of its own, in a folder of its own holding that site's app.
  const siteDir = (site: Site) => path.join(dir, site);
  const siteEnv = (site: Site) => ({ DR_STACK_DIR: siteDir(site), DR_STACK_PORT_SSH: String(sshPort[site]) });
  const sshd = (site: Site) =>
    withEnv(siteEnv(site), async () => ({ service: sshServer(log), paths: sshPaths() }));
  // The stack's services read their folder and ports from the environment (DR_STACK_DIR, DR_STACK_PORT_*):
  // each runs inside withEnv, one at a time, so process.env changes only while one starts or stops.
  const sshFiles = {} as Record<Site, ReturnType<typeof sshPaths>>;
  for (const site of SITES) {
    const { service, paths } = await sshd(site);
    sshFiles[site] = paths;
    closing.push(() => withEnv(siteEnv(site), () => service.down()));
    await withEnv(siteEnv(site), () => service.up());
  }
  const es = await withEnv(pairEnv, async () => esEmulator(log, seed));
  closing.push(() => es.down());
  let toxiproxy: RunningToxiproxy | undefined;
  await settleAll([
    cluster.up(),
    es.up(),
    options.proxyWorkerToPrimary
      ? startToxiproxy(path.join(dir, 'toxiproxy'), log).then((t) => {
          toxiproxy = t;
          closing.push(() => t.stop());
        })
      : undefined,
  ]);
  const dbPort = (name: string) => cluster.instance(name).port;
  const appEndpoints = options.appConfig === 'template' ? writeAppEndpoints(dir, siteDir, dbPort) : undefined;
  const redisPair = options.redis ? await startScratchRedisPair() : undefined;
  if (redisPair) closing.push(() => redisPair.close());
  await settleAll(
    SITES.map(async (site) => {
      writeAppEnv(siteDir(site), {
        site,
        listenPort: appPort[site],
        dbPort: dbPort(APP_DATABASE_SERVER[site]),
        passwordFile: path.join(secretsDir, MARIADB_ACCOUNTS.app.secretFile),
        workers: options.appWorkers ?? 2,
        ...(appEndpoints ? { endpointFile: appEndpoints.files[site] } : {}),
        ...(redisPair ? { redis: { port: redisPair[site].port, passwordFile: redisPair.passwordFile } } : {}),
      });
      closing.push(() => appctl('stop', site, siteDir(site)).then(() => undefined));
      log(await appctl('start', site, siteDir(site)));
    }),
  );
  const proxy = haproxy(log);
  closing.push(() => withEnv(pairEnv, () => proxy.down()));
  await withEnv(pairEnv, () => proxy.up());
  const { socket: haproxySocket, stateFile: haproxyStateFile } = await withEnv(pairEnv, async () =>
    haproxyPaths(),
  );
  await waitFor(
    'HAProxy sees app-gra ready and up, app-rbx drained and up',
    async () => {
      const states = await showServersState(new HaproxySocketClient(haproxySocket), HAPROXY_BACKEND);
      const of = (site: Site) => states.find((s) => s.server === HAPROXY_SERVER[site]);
      return (
        of('gra')?.admin === 'ready' &&
        of('gra')?.op === 'up' &&
        of('rbx')?.admin === 'drain' &&
        of('rbx')?.op === 'up'
      );
    },
    20_000,
  );

  const primary = cluster.instance(PRIMARY);
  let primaryProxy: Proxy | undefined;
  if (toxiproxy) {
    // Same port on another loopback address: the replicas' Master_Port still matches the runbook's port of
    // db-gra-1, and the orchestrator counts any 127.x address as the same (loopback) host.
    primaryProxy = await toxiproxy.proxy(
      `${pair}-worker-to-db-gra-1`,
      `127.0.0.2:${primary.port}`,
      `127.0.0.1:${primary.port}`,
    );
  }
  const esUrl = (site: Site) => `http://127.0.0.1:${esPort[site]}`;
  const frontendUrl = (p = '/health') => `http://127.0.0.1:${frontend}${p}`;
  const appUrl = (site: Site, p = '/health') => `http://127.0.0.1:${appPort[site]}${p}`;
  const runbook = pairRunbook({
    pair,
    dir,
    secretsDir,
    cluster,
    primaryHost: primaryProxy ? '127.0.0.2' : '127.0.0.1',
    esUrl,
    esPort,
    sshPort,
    sshFiles,
    appUrl,
    haproxySocket,
    haproxyStateFile,
    frontendUrl,
    approvalTimeout: options.approvalTimeout ?? '2m',
    salvagePrimary: options.salvagePrimary ?? false,
    seed,
  });
  if (appEndpoints)
    for (const host of runbook.apps!.hosts)
      host.config = {
        kind: 'template',
        template: `file:${appEndpoints.template}`,
        path: appEndpoints.files[host.site as Site],
      };
  if (redisPair) runbook.redis = redisPair.runbookSection();
  const pg = options.postgresql
    ? await startScratchPgPair(log, {
        ssh: Object.fromEntries(
          SITES.map((site) => [
            site,
            {
              port: sshPort[site],
              clientKey: sshFiles[site].clientKey,
              hostKeyPub: sshFiles[site].hostKeyPub,
            },
          ]),
        ) as Record<Site, { port: number; clientKey: string; hostKeyPub: string }>,
      })
    : undefined;
  if (pg) {
    closing.push(() => pg.destroy());
    runbook.postgresql = pg.section as RunbookDocument['postgresql'];
  }
  options.edit?.(runbook);
  const runbookPath = path.join(dir, `${pair}.yaml`);
  writeFileSync(runbookPath, `# Generated by test/helpers/scratch-dr-pair.ts\n${stringify(runbook)}`);
  const runbooks = loadRunbooks([runbookPath]);

  const readPassword = (account: keyof typeof MARIADB_ACCOUNTS) =>
    readFileSync(path.join(secretsDir, MARIADB_ACCOUNTS[account].secretFile), 'utf8').trim();
  const directServers = cluster.spec.instances.map((i) => ({
    name: i.name,
    host: '127.0.0.1',
    port: i.port,
  }));
  const targets: SnapshotTargets = {
    mysql: {
      user: MARIADB_ACCOUNTS.orchestrator.user,
      password: readPassword('orchestrator'),
      servers: directServers,
    },
    elasticsearch: {
      sites: SITES.map((site) => ({ site, url: esUrl(site) })),
      indices: seededFollowerIndices(seed),
    },
    traffic: { socket: haproxySocket, backend: HAPROXY_BACKEND },
    apps: SITES.map((site) => ({ site, healthUrl: appUrl(site) })),
  };
  const loads: FrontendWriteLoad[] = [];
  ctx.closing.push(async () => {
    for (const load of loads) await load.stop();
  });
  const setGraEsDown = async (down: boolean) => {
    const res = await fetch(`${esUrl('rbx')}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cluster: 'gra', down }),
    });
    if (!res.ok)
      throw new Error(`ES emulator: setting gra down=${down} failed: ${res.status} ${await res.text()}`);
  };
  const listenAddresses = () => [
    ...directServers.map((s) => ({ host: s.host, port: s.port })),
    ...SITES.flatMap((site) => [esPort[site], appPort[site], sshPort[site]]).map((port) => ({
      host: '127.0.0.1',
      port,
    })),
    { host: '127.0.0.1', port: frontend! },
    ...(toxiproxy && primaryProxy
      ? [
          { host: '127.0.0.1', port: Number(new URL(toxiproxy.apiUrl).port) },
          { host: '127.0.0.2', port: primary.port },
        ]
      : []),
  ];

  return {
    pair,
    dir,
    runbookPath,
    runbooks,
    cluster,
    ...(pg ? { postgresql: pg } : {}),
    frontendUrl,
    appUrl,
    esUrl,
    haproxySocket,
    haproxyStateFile,
    snapshot: () => readSnapshot(targets),
    ...(redisPair ? { redis: redisPair } : {}),
    writeLoad(settings = {}) {
      const load = new FrontendWriteLoad({
        frontendUrl: frontendUrl(''),
        servers: directServers,
        user: MARIADB_ACCOUNTS.app.user,
        password: readPassword('app'),
        database: APP_DATABASE,
        ratePerSecond: 200,
        ...settings,
      });
      loads.push(load);
      return load;
    },
    async killPrimarySite() {
      await Promise.all([
        cluster.kill(primary.name),
        setGraEsDown(true),
        killRecordedProcesses(path.join(siteDir('gra'), 'perl-app')),
        killRecordedProcesses(path.join(siteDir('gra'), 'ssh')),
        redisPair?.kill('gra'),
        ...(pg ? [pg.kill('gra')] : []),
      ]);
    },
    async revivePrimarySite() {
      await cluster.start(primary.name);
      await redisPair?.start('gra');
      await setGraEsDown(false);
      const { service } = await sshd('gra');
      await withEnv(siteEnv('gra'), () => service.up());
    },
    ...(toxiproxy && primaryProxy
      ? {
          blockWorkerPathToPrimary: (how?: PathCut) => toxiproxy!.cut(primaryProxy!, how),
          restoreWorkerPathToPrimary: () => toxiproxy!.restore(),
        }
      : {}),
    pids: () => recordedProcesses(dir),
    listenAddresses,
    close: ctx.close,
  };
}

/**
 * For `appConfig: 'template'`: the template of the apps' endpoint files, and each site's file as the app starts with
 * it (its site's usual server).
 */
function writeAppEndpoints(
  dir: string,
  siteDir: (site: Site) => string,
  dbPort: (name: string) => number,
): { template: string; files: Record<Site, string> } {
  const template = path.join(dir, 'app-db-endpoint.tmpl');
  writeFileSync(
    template,
    '# Written by the orchestrator for {{mysql.server}}\nDB_HOST={{mysql.host}}\nDB_PORT={{mysql.port}}\n',
  );
  const files = {} as Record<Site, string>;
  for (const site of SITES) {
    files[site] = path.join(siteDir(site), 'perl-app', site, 'db-endpoint.env');
    mkdirSync(path.dirname(files[site]), { recursive: true });
    writeFileSync(files[site], `DB_HOST=127.0.0.1\nDB_PORT=${dbPort(APP_DATABASE_SERVER[site])}\n`);
  }
  return { template, files };
}

interface PairPlaces {
  pair: string;
  dir: string;
  secretsDir: string;
  cluster: MariadbCluster;
  /** The address the worker uses for db-gra-1 (127.0.0.2 through Toxiproxy). */
  primaryHost: string;
  esUrl: (site: Site) => string;
  esPort: Record<Site, number>;
  sshPort: Record<Site, number>;
  sshFiles: Record<Site, ReturnType<typeof sshPaths>>;
  appUrl: (site: Site) => string;
  haproxySocket: string;
  /** HAProxy's server-state-file, which the worker saves after each switch. */
  haproxyStateFile: string;
  frontendUrl: (path?: string) => string;
  approvalTimeout: string;
  salvagePrimary: boolean;
  seed: EsSeed;
}

/** The runbook of a scratch pair: every address, secrets as `file:` references into its folder, short timings. */
function pairRunbook(where: PairPlaces): RunbookDocument {
  const {
    pair,
    dir,
    secretsDir,
    cluster,
    esUrl,
    esPort,
    sshPort,
    sshFiles,
    appUrl,
    haproxySocket,
    haproxyStateFile,
    frontendUrl,
  } = where;
  const secret = (account: keyof typeof MARIADB_ACCOUNTS) =>
    `file:${path.join(secretsDir, MARIADB_ACCOUNTS[account].secretFile)}`;
  const ssh = (site: Site) => ({
    host: '127.0.0.1',
    port: sshPort[site],
    user: sshUser(),
    privateKey: `file:${sshFiles[site].clientKey}`,
    hostKey: `file:${sshFiles[site].hostKeyPub}`,
  });
  const salvage = {
    ssh: ssh('gra'),
    salvage: {
      binlogIndex: path.join(cluster.dirs(PRIMARY).data, 'mariadb-bin.index'),
      keepDown: keepDownCommand(cluster, PRIMARY),
    },
  };
  return {
    pair,
    description: `scratch DR pair for end-to-end tests, in ${dir}`,
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    elasticsearch: {
      clusters: SITES.map((site) => ({
        site,
        url: esUrl(site),
        remoteAlias: site === 'gra' ? 'rbx' : where.seed.remoteAlias,
        transport: { address: `127.0.0.1:${esPort[site]}` },
      })),
      followerIndices: Object.keys(where.seed.indices),
      autoFollowPatterns: where.seed.autoFollow ? [where.seed.autoFollow.name] : [],
      maxLagOperations: 100,
      requestTimeout: '3s',
    },
    mysql: {
      user: MARIADB_ACCOUNTS.orchestrator.user,
      password: secret('orchestrator'),
      replicationUser: MARIADB_ACCOUNTS.replication.user,
      replicationPassword: secret('replication'),
      servers: cluster.spec.instances.map((i) => ({
        name: i.name,
        site: i.name.includes('gra') ? 'gra' : 'rbx',
        host: i.name === PRIMARY ? where.primaryHost : '127.0.0.1',
        port: i.port,
        role: i.name === PRIMARY ? 'primary' : 'replica',
        ...(i.name === PRIMARY && where.salvagePrimary ? salvage : {}),
      })),
      maxLagSeconds: 5,
      connectTimeout: '1s',
    },
    apps: {
      hosts: SITES.map((site) => ({
        name: `app-${site}-1`,
        site,
        ssh: ssh(site),
        start: `"$DR_REPO_ROOT/dev/perl-app/appctl" start ${site}`,
        stop: `"$DR_REPO_ROOT/dev/perl-app/appctl" stop ${site}`,
        healthUrl: appUrl(site),
      })),
    },
    traffic: {
      provider: 'haproxy',
      sockets: [{ socket: haproxySocket, stateFile: haproxyStateFile }],
      backend: HAPROXY_BACKEND,
      servers: HAPROXY_SERVER,
      inactiveState: 'drain',
      entryUrl: frontendUrl('/health'),
    },
    approval: {
      policy: 'required',
      approvers: [TEST_APPROVER_LINE],
      timeout: where.approvalTimeout,
      onTimeout: 'reject',
    },
    probes: { interval: '250ms', timeout: '1s', fall: 2, rise: 2 },
    timeouts: { activity: '30s', replicaCatchUp: '20s', appStart: '15s', trafficSwitch: '20s' },
  };
}

/** Waits for every promise (so none still runs when the caller cleans up), then throws the first failure. */
async function settleAll(promises: (Promise<unknown> | undefined)[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** `count` distinct free loopback ports, none of them in `taken`. */
async function distinctFreePorts(count: number, taken: number[]): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port) && !taken.includes(port)) ports.push(port);
  }
  return ports;
}

/** The pid files under `dir` (any depth). */
function pidFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.pid') && e.name !== OWNER_FILE)
    .map((e) => path.join(e.parentPath, e.name));
}

let clockTicks: number | undefined;
/** When a process started (ms since the epoch), from /proc; undefined when it is gone. */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]); // field 22 of proc_pid_stat(5); fields[0] is field 3
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return bootSeconds * 1000 + (startTicks * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}

/**
 * The live processes named by the pid files under `dir`, with the members of their process groups (every
 * daemon is a group leader). A pid is taken only if its process started before its pid file was last written,
 * so a recycled pid is never mistaken for one of ours.
 */
function recordedProcesses(dir: string): number[] {
  const leaders = new Set<number>();
  for (const file of pidFiles(dir)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    const started = Number.isInteger(pid) && pid > 0 && processAlive(pid) ? processStartMs(pid) : undefined;
    // Start times are known to the clock tick (10 ms), and the btime second is truncated: allow 1 s.
    if (started !== undefined && started <= statSync(file).mtimeMs + 1000) leaders.add(pid);
  }
  const members = new Set(leaders);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (leaders.has(pgid) && processAlive(Number(entry))) members.add(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return [...members].sort((a, b) => a - b);
}

/** SIGKILLs the processes recorded under `dir` (and their groups) and waits until they are gone. */
async function killRecordedProcesses(dir: string): Promise<void> {
  const pids = recordedProcesses(dir);
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* not a group leader, or gone */
      }
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(processAlive)) {
    if (Date.now() > deadline)
      throw new Error(`processes ${pids.filter(processAlive).join(', ')} survived SIGKILL`);
    await sleep(20);
  }
}

/**
 * Kills the processes of scratch DR pairs whose test process is gone (e.g. an interrupted run) and deletes
 * their folders.
 */
export async function cleanScratchDrPairLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of readdirSync(os.tmpdir())) {
    if (!entry.startsWith(PAIR_DIR_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(readFileSync(path.join(dir, OWNER_FILE), 'utf8').trim());
    } catch {
      // Created but not yet claimed (or not ours): leave it unless it is old.
      if (!existsSync(dir) || Date.now() - statSync(dir).mtimeMs < 10 * 60_000) continue;
      owner = 0;
    }
    if (owner > 0 && processAlive(owner)) continue;
    await killRecordedProcesses(dir);
    rmSync(dir, { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}
