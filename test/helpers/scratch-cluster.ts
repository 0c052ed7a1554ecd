import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { stringify } from 'yaml';
import { createActivities, createClients, type ActivityClients } from '../../activities';
import { loadRunbooks } from '../../config/load';
import {
  createScratchCluster,
  MARIADB_ACCOUNTS,
  type MariadbCluster,
} from '../../dev/stack/services/mariadb';
import { stackDir } from '../../dev/stack/settings';
import { WriteLoad } from '../../dev/write-load';
import { runActivity } from './run-activity';
import { TEST_APPROVER_LINE } from './approver';

/** Sites of the scratch servers, like the local stack: db-gra-* in gra (primary), the others in rbx. */
const siteOf = (name: string) => (name.includes('gra') ? 'gra' : 'rbx');

export interface ScratchPair {
  cluster: MariadbCluster;
  pair: string;
  runbookFile: string;
  clients: ActivityClients;
  activities: ReturnType<typeof createActivities>;
  env: MockActivityEnvironment;
  /** Calls an activity by name in the mock activity context. */
  act<K extends keyof ReturnType<typeof createActivities>>(
    name: K,
    ...args: Parameters<ReturnType<typeof createActivities>[K]>
  ): ReturnType<ReturnType<typeof createActivities>[K]>;
  /** A write load through the application account on this cluster's servers. */
  writeLoad(ratePerSecond: number): WriteLoad;
  /** The activities over a variant of the runbook (same pair, other mysql settings), e.g. another fence option. */
  variant(mysql: Record<string, unknown>): Promise<{ act: ScratchPair['act']; close(): Promise<void> }>;
  destroy(): Promise<void>;
}

/**
 * A throw-away MariaDB GTID cluster (db-gra-1 primary, db-rbx-1 and db-rbx-2 replicas) under `.stack/scratch`
 * on free ports, with a runbook of its own (pair `scratch-<id>`) and activity clients for it. Destructive
 * tests kill and promote its servers; the shared stack is never touched.
 */
export async function startScratchPair(
  options: {
    maxLagSeconds?: number;
    killClientConnectionsOnFence?: boolean;
    catchUpTimeout?: string;
    /** More settings of the runbook's mysql section. */
    mysql?: Record<string, unknown>;
    /** More settings of a server of the mysql section, by name (e.g. its ssh and salvage sections). */
    servers?: (cluster: MariadbCluster) => Record<string, Record<string, unknown>>;
    /** More top-level settings of the runbook (probes, timeouts…). */
    runbook?: Record<string, unknown>;
    /** Extra `[mariadbd]` lines, for every server and per server name. */
    extraConfig?: string[];
    instanceConfig?: Record<string, string[]>;
  } = {},
): Promise<ScratchPair> {
  const cluster = await createScratchCluster({
    extraConfig: options.extraConfig,
    instanceConfig: options.instanceConfig,
  });
  try {
    await cluster.up();
  } catch (err) {
    await cluster.destroy().catch(() => undefined);
    throw err;
  }
  const id = path.basename(cluster.spec.dir).replace(/^mariadb-/, '');
  const pair = `scratch-${id}`;
  const serverSettings = options.servers?.(cluster) ?? {};
  const secret = (file: string) => `file:${path.join(stackDir(), 'secrets', file)}`;
  const runbook = {
    pair,
    description: `scratch cluster ${id} for destructive MySQL tests`,
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    mysql: {
      user: MARIADB_ACCOUNTS.orchestrator.user,
      password: secret(MARIADB_ACCOUNTS.orchestrator.secretFile),
      replicationUser: MARIADB_ACCOUNTS.replication.user,
      replicationPassword: secret(MARIADB_ACCOUNTS.replication.secretFile),
      servers: cluster.spec.instances.map((i, index) => ({
        name: i.name,
        site: siteOf(i.name),
        host: '127.0.0.1',
        port: i.port,
        role: index === 0 ? 'primary' : 'replica',
        ...serverSettings[i.name],
      })),
      maxLagSeconds: options.maxLagSeconds ?? 2,
      connectTimeout: '2s',
      killClientConnectionsOnFence: options.killClientConnectionsOnFence ?? true,
      ...options.mysql,
    },
    approval: { policy: 'auto', approvers: [TEST_APPROVER_LINE] },
    timeouts: { replicaCatchUp: options.catchUpTimeout ?? '30s' },
    ...options.runbook,
  };
  const runbookFile = path.join(cluster.spec.dir, 'runbook.yaml');
  writeFileSync(runbookFile, stringify(runbook));
  const clients = createClients(loadRunbooks([runbookFile]));
  const activities = createActivities(clients);
  // Errors only: the tests provoke typed failures on purpose, the SDK would log each as a warning.
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const loads: WriteLoad[] = [];
  const variants: ActivityClients[] = [];
  const actOn = (over: ReturnType<typeof createActivities>): ScratchPair['act'] =>
    ((name: keyof typeof over, ...args: unknown[]) =>
      runActivity(env, over[name] as (...a: unknown[]) => Promise<unknown>, ...args)) as ScratchPair['act'];
  return {
    cluster,
    pair,
    runbookFile,
    clients,
    activities,
    env,
    act: actOn(activities),
    async variant(mysql: Record<string, unknown>) {
      const file = path.join(cluster.spec.dir, `runbook-variant-${variants.length + 1}.yaml`);
      writeFileSync(file, stringify({ ...runbook, mysql: { ...runbook.mysql, ...mysql } }));
      const variantClients = createClients(loadRunbooks([file]));
      variants.push(variantClients);
      return { act: actOn(createActivities(variantClients)), close: () => variantClients.close() };
    },
    writeLoad(ratePerSecond: number) {
      const load = new WriteLoad({
        targets: cluster.spec.instances.map((i) => ({ name: i.name, host: '127.0.0.1', port: i.port })),
        user: MARIADB_ACCOUNTS.app.user,
        password: readFileSync(
          path.join(stackDir(), 'secrets', MARIADB_ACCOUNTS.app.secretFile),
          'utf8',
        ).trim(),
        database: 'app',
        ratePerSecond,
      });
      loads.push(load);
      return load;
    },
    async destroy() {
      for (const load of loads) await load.stop().catch(() => undefined);
      await Promise.all(loads.map((l) => l.close()));
      await Promise.all(variants.map((v) => v.close()));
      await clients.close();
      await cluster.destroy();
    },
  };
}

/** The parts of a server's state that must not change when an activity is run a second time. */
export function topologySnapshot(
  statuses: {
    server: string;
    reachable: boolean;
    readOnly?: boolean;
    replication?: { sourcePort: number; ioRunning: string; sqlRunning: string; gtidPositioning?: string };
  }[],
) {
  return statuses.map((s) => ({
    server: s.server,
    reachable: s.reachable,
    readOnly: s.readOnly,
    source: s.replication?.sourcePort ?? null,
    threads: s.replication ? `${s.replication.ioRunning}/${s.replication.sqlRunning}` : null,
    positioning: s.replication?.gtidPositioning ?? null,
  }));
}
