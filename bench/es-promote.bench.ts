/**
 * Promotion of 200 CCR follower indices (pause → close → unfollow → open each) by the `esPromoteFollowers`
 * activity against the in-process ES emulator, at several concurrencies, without and with a simulated network
 * latency per request. Reports wall time and per-index p50/p99; the timing targets live here only.
 */
import { Client } from '@elastic/elasticsearch';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createElasticsearchActivities, type EsPromoteResult } from '../activities/elasticsearch';
import { EsClients } from '../activities/elasticsearch/clients';
import { forEachBounded } from '../activities/elasticsearch/pool';
import { RunbookRegistry } from '../activities/runbooks';
import type { LoadedRunbook } from '../config/load';
import { runbookSchema } from '../config/schema';
import { startEsEmulator } from '../dev/es-emulator/emulator';

const INDEX_COUNT = 200;
const PAIR = 'bench';

interface Scenario {
  concurrency: number;
  /** Emulated per-request latency of the follower cluster (ms). */
  latencyMs: number;
  /** Wall-time target for this scenario; a miss is reported, not thrown. */
  targetWallMs?: number;
}

const SCENARIOS: Scenario[] = [
  { concurrency: 1, latencyMs: 0 },
  { concurrency: 8, latencyMs: 0, targetWallMs: 2_000 },
  { concurrency: 32, latencyMs: 0 },
  { concurrency: 8, latencyMs: 5, targetWallMs: 3_000 },
  { concurrency: 32, latencyMs: 5, targetWallMs: 2_000 },
];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function runScenario(scenario: Scenario): Promise<Record<string, unknown>> {
  const emulator = await startEsEmulator({ clusters: [{ name: 'gra' }, { name: 'rbx' }] });
  const gra = new Client({ node: emulator.cluster('gra').url, maxRetries: 0 });
  const rbx = new Client({ node: emulator.cluster('rbx').url, maxRetries: 0 });
  const indices = Array.from({ length: INDEX_COUNT }, (_, i) => `bench-${String(i).padStart(3, '0')}`);
  const runbook = runbookSchema.parse({
    pair: PAIR,
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    elasticsearch: {
      clusters: [
        { site: 'gra', url: emulator.cluster('gra').url, remoteAlias: 'rbx' },
        { site: 'rbx', url: emulator.cluster('rbx').url, remoteAlias: 'gra' },
      ],
      followerIndices: indices,
      promoteConcurrency: scenario.concurrency,
    },
    mysql: {
      user: 'unused',
      password: 'env:UNUSED',
      replicationUser: 'unused',
      replicationPassword: 'env:UNUSED',
      servers: [
        { name: 'db-gra', site: 'gra', host: '127.0.0.1', port: 1, role: 'primary' },
        { name: 'db-rbx', site: 'rbx', host: '127.0.0.1', port: 2, role: 'replica' },
      ],
    },
    // Nobody answers a benchmark: a name that may answer unsigned satisfies the rule that a runbook lists approvers.
    approval: { policy: 'auto', approvers: ['nobody'], unsigned: 'allow' },
  });
  const es = new EsClients(
    new RunbookRegistry(
      new Map<string, LoadedRunbook>([[PAIR, { runbook, file: '/nonexistent/bench.yaml' }]]),
    ),
  );
  try {
    await rbx.cluster.putSettings({
      persistent: { cluster: { remote: { gra: { seeds: [emulator.cluster('gra').address] } } } },
    });
    await forEachBounded(indices, 16, async (index) => {
      await gra.indices.create({ index, settings: { number_of_replicas: 0 } });
      await gra.index({ index, id: '1', document: { index } });
      await rbx.ccr.follow({ index, remote_cluster: 'gra', leader_index: index, wait_for_active_shards: 1 });
    });
    emulator.faults.setDelay('rbx', scenario.latencyMs);

    const activities = createElasticsearchActivities({ es });
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    let heartbeats = 0;
    env.on('heartbeat', () => heartbeats++);
    const started = process.hrtime.bigint();
    const result = (await env.run(activities.esPromoteFollowers, { pair: PAIR })) as EsPromoteResult;
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;

    emulator.faults.setDelay('rbx', 0);
    const stillFollowing = (await rbx.ccr.followInfo({ index: '_all' })).follower_indices.length;
    const perIndex = result.indices.map((i) => i.ms).sort((a, b) => a - b);
    return {
      indexCount: result.total,
      concurrency: result.concurrency,
      latencyMs: scenario.latencyMs,
      wallMs: Math.round(wallMs),
      perIndexMs: {
        p50: percentile(perIndex, 50),
        p99: percentile(perIndex, 99),
        max: perIndex.at(-1) ?? 0,
      },
      indicesPerSecond: Math.round((result.total / wallMs) * 1000),
      promoted: result.promoted,
      stillFollowing,
      heartbeats,
      target:
        scenario.targetWallMs === undefined
          ? undefined
          : { wallMs: scenario.targetWallMs, met: wallMs <= scenario.targetWallMs && stillFollowing === 0 },
    };
  } finally {
    await es.close();
    await Promise.all([gra.close(), rbx.close()]);
    await emulator.stop();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const scenarios = [];
  for (const scenario of SCENARIOS) scenarios.push(await runScenario(scenario));
  return {
    description: `esPromoteFollowers on ${INDEX_COUNT} follower indices against the ES emulator (pause → close → unfollow → open each)`,
    scenarios,
    targetsMet: scenarios.every((s) => (s.target as { met: boolean } | undefined)?.met !== false),
  };
}
