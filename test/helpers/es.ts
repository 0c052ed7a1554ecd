import { Client } from '@elastic/elasticsearch';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Info } from '@temporalio/activity';
import type { LoadedRunbook } from '../../config/load';
import { runbookSchema } from '../../config/schema';
import { startEsEmulator, type RunningEsEmulator } from '../../dev/es-emulator/emulator';
import { createElasticsearchActivities } from '../../activities/elasticsearch';
import { EsClients, type EsCluster, type EsClientsOptions } from '../../activities/elasticsearch/clients';
import { RunbookRegistry } from '../../activities/runbooks';
import { versionedTransport, type EsMajorVersion } from '../../activities/elasticsearch/transport';
import { TEST_APPROVER_LINE } from './approver';

export const ES_TEST_PAIR = 'es-test';
/** The API key the test runbook references (`env:DR_TEST_ES_API_KEY`); the emulator ignores it. */
export const ES_TEST_API_KEY = 'test-api-key-Zq81xKd0sEcReT';

export interface EsTestPair {
  emulator: RunningEsEmulator;
  /** Raw clients for setting up and checking (gra is the leader, rbx the follower). */
  gra: Client;
  rbx: Client;
  clients: EsClients;
  activities: ReturnType<typeof createElasticsearchActivities>;
  runbooks: Map<string, LoadedRunbook>;
  /**
   * Creates leader indices on gra (with `docs` documents each, ids d0, d1, …) and their followers on rbx. The
   * indices have `shards` primary shards (default 3: several shards, so that shard-order bugs show).
   */
  followed(names: string[], docs?: number, shards?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface EsTestPairOptions {
  replicationDelayMs?: number;
  maxLagOperations?: number;
  promoteConcurrency?: number;
  followerIndices?: string[];
  autoFollowPatterns?: string[];
  requestTimeout?: string;
  maxTimeSinceLastRead?: string;
  clusterFactory?: EsClientsOptions['clusterFactory'];
  /** How rbx reaches gra, as gra's runbook `transport` says (default: sniff on gra's address). */
  graTransport?: { mode: 'sniff' | 'proxy'; serverName?: string };
  /** The Elasticsearch major version both emulated clusters run (default 9). */
  esVersion?: EsMajorVersion;
  /** The version the runbook states for both clusters (default: none, the activities detect it). */
  runbookVersion?: EsMajorVersion;
  /** Serve both clusters over HTTPS with this certificate; the raw test clients trust `ca` (any host name). */
  tls?: { cert: string; key: string; ca: string };
  /** The loopback address the emulator listens on (default 127.0.0.1). */
  host?: string;
  /** The runbook's `ca` reference of both clusters. */
  runbookCa?: string;
}

/** A raw client for setting up and checking a test cluster of `version`, with the activities' transport. */
export function testEsClient(node: string, version: EsMajorVersion = 9, ca?: string): Client {
  return new Client({
    node,
    maxRetries: 0,
    ...(ca ? { tls: { ca, checkServerIdentity: () => undefined } } : {}),
    Transport: versionedTransport({ site: node, field: 'test client', version }),
  });
}

/** A DR pair on an in-process ES emulator (gra leader, rbx follower with remote `gra` configured). */
export async function startEsTestPair(options: EsTestPairOptions = {}): Promise<EsTestPair> {
  process.env.DR_TEST_ES_API_KEY = ES_TEST_API_KEY;
  const emulator = await startEsEmulator({
    clusters: [
      { name: 'gra', version: options.esVersion },
      { name: 'rbx', version: options.esVersion },
    ],
    replicationDelayMs: options.replicationDelayMs ?? 0,
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
    ...(options.host ? { host: options.host } : {}),
  });
  const gra = testEsClient(emulator.cluster('gra').url, options.esVersion, options.tls?.ca);
  const rbx = testEsClient(emulator.cluster('rbx').url, options.esVersion, options.tls?.ca);
  const version = {
    ...(options.runbookVersion === undefined ? {} : { version: options.runbookVersion }),
    ...(options.runbookCa === undefined ? {} : { ca: options.runbookCa }),
  };
  const runbook = runbookSchema.parse({
    pair: ES_TEST_PAIR,
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    elasticsearch: {
      clusters: [
        {
          site: 'gra',
          url: emulator.cluster('gra').url,
          remoteAlias: 'rbx',
          ...version,
          transport: { ...options.graTransport, address: emulator.cluster('gra').address },
        },
        {
          site: 'rbx',
          url: emulator.cluster('rbx').url,
          apiKey: 'env:DR_TEST_ES_API_KEY',
          remoteAlias: 'gra',
          ...version,
          transport: { address: emulator.cluster('rbx').address },
        },
      ],
      followerIndices: options.followerIndices ?? ['orders', 'customers'],
      autoFollowPatterns: options.autoFollowPatterns ?? [],
      maxLagOperations: options.maxLagOperations ?? 10,
      promoteConcurrency: options.promoteConcurrency ?? 4,
      requestTimeout: options.requestTimeout ?? '5s',
      ...(options.maxTimeSinceLastRead ? { maxTimeSinceLastRead: options.maxTimeSinceLastRead } : {}),
    },
    mysql: {
      user: 'unused',
      password: 'env:UNUSED_MYSQL_PASSWORD',
      replicationUser: 'unused',
      replicationPassword: 'env:UNUSED_MYSQL_PASSWORD',
      servers: [
        { name: 'db-gra-1', site: 'gra', host: '127.0.0.1', port: 1, role: 'primary' },
        { name: 'db-rbx-1', site: 'rbx', host: '127.0.0.1', port: 2, role: 'replica' },
      ],
    },
    approval: { approvers: [TEST_APPROVER_LINE] },
  });
  const runbooks = new Map<string, LoadedRunbook>([
    [ES_TEST_PAIR, { runbook, file: '/nonexistent/es-test.yaml' }],
  ]);
  const clients = new EsClients(new RunbookRegistry(runbooks), { clusterFactory: options.clusterFactory });
  const activities = createElasticsearchActivities({ es: clients });
  await rbx.cluster.putSettings({
    persistent: { cluster: { remote: { gra: { seeds: [emulator.cluster('gra').address] } } } },
  });

  return {
    emulator,
    gra,
    rbx,
    clients,
    activities,
    runbooks,
    async followed(names, docs = 2, shards = 3) {
      for (const name of names) {
        await gra.indices.create({
          index: name,
          settings: { number_of_shards: shards, number_of_replicas: 0 },
        });
        for (let i = 0; i < docs; i++) await gra.index({ index: name, id: `d${i}`, document: { n: i } });
      }
      for (const name of names) {
        await rbx.ccr.follow({
          index: name,
          remote_cluster: 'gra',
          leader_index: name,
          wait_for_active_shards: 1,
        });
      }
    },
    async stop() {
      await clients.close();
      await Promise.all([gra.close(), rbx.close()]);
      await emulator.stop();
    },
  };
}

/**
 * An activity context; `info` sets e.g. the heartbeat details of a retry. Logs only errors: the failures the
 * tests provoke on purpose would otherwise fill the output (the tests assert them).
 */
export function esActivityEnv(info?: Partial<Info>): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

/** Runs an activity in a mock context, keeping its argument and result types. */
export function runIn<A, R>(
  env: MockActivityEnvironment,
  fn: (input: A) => Promise<R>,
  input: A,
): Promise<R> {
  return env.run(fn as never, input as never) as Promise<R>;
}

/** Awaits a call that must fail; returns the error. */
export async function failureOf(
  call: Promise<unknown>,
): Promise<Error & { type?: string; nonRetryable?: boolean }> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!error) throw new Error('expected the call to fail, but it succeeded');
  return error as Error & { type?: string; nonRetryable?: boolean };
}

/** State checks on the follower cluster after a promotion. */
export async function isFollower(client: Client, index: string): Promise<boolean> {
  const info = await client.ccr.followInfo({ index });
  return info.follower_indices.some((f) => f.follower_index === index);
}

export async function canWrite(client: Client, index: string): Promise<boolean> {
  const written = await client.index({ index, document: { written: 'after promotion' }, refresh: true });
  return written.result === 'created';
}

export type { EsCluster };
