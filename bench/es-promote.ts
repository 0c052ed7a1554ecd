/**
 * Promotion of CCR follower indices (pause → close → unfollow → open each) by the `esPromoteFollowers` activity
 * against the in-process ES emulator: the scale figures of the bench (2, 50, 200 follower indices).
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
import type { Sample, Scenario } from './scenario';

const PAIR = 'bench';
/** The runbook's default promotion concurrency. */
const CONCURRENCY = 8;

interface Promotion {
  indexCount: number;
  /** Emulated per-request latency of the follower cluster (ms). */
  latencyMs: number;
}

async function promote(
  scenario: Promotion,
): Promise<{ wallMs: number; stillFollowing: number; promoted: number }> {
  const emulator = await startEsEmulator({ clusters: [{ name: 'gra' }, { name: 'rbx' }] });
  const gra = new Client({ node: emulator.cluster('gra').url, maxRetries: 0 });
  const rbx = new Client({ node: emulator.cluster('rbx').url, maxRetries: 0 });
  const indices = Array.from(
    { length: scenario.indexCount },
    (_, i) => `bench-${String(i).padStart(3, '0')}`,
  );
  const runbook = runbookSchema.parse({
    pair: PAIR,
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    elasticsearch: {
      clusters: [
        { site: 'gra', url: emulator.cluster('gra').url, remoteAlias: 'rbx' },
        { site: 'rbx', url: emulator.cluster('rbx').url, remoteAlias: 'gra' },
      ],
      followerIndices: indices,
      promoteConcurrency: CONCURRENCY,
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
    const started = process.hrtime.bigint();
    const result = (await env.run(activities.esPromoteFollowers, { pair: PAIR })) as EsPromoteResult;
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;

    emulator.faults.setDelay('rbx', 0);
    const stillFollowing = (await rbx.ccr.followInfo({ index: '_all' })).follower_indices.length;
    return { wallMs: Math.round(wallMs), stillFollowing, promoted: result.promoted };
  } finally {
    await es.close();
    await Promise.all([gra.close(), rbx.close()]);
    await emulator.stop();
  }
}

/** The scale scenario: `es_promote_ms_<n>` for 2, 50 and 200 follower indices (smoke: 2 and 20), 5 ms per request. */
export function esPromoteScenario(): Scenario {
  return {
    name: 'es-promote-scale',
    description: `esPromoteFollowers against the ES emulator (5 ms per request, concurrency ${CONCURRENCY}) at several follower index counts`,
    async run(ctx): Promise<Sample> {
      const figures: Record<string, number> = {};
      const failures: string[] = [];
      for (const indexCount of ctx.smoke ? [2, 20] : [2, 50, 200]) {
        const result = await promote({ indexCount, latencyMs: 5 });
        figures[`es_promote_ms_${indexCount}`] = result.wallMs;
        if (result.stillFollowing > 0 || result.promoted !== indexCount)
          failures.push(`es promotion of ${indexCount} indices left ${result.stillFollowing} following`);
      }
      return { figures, failures };
    },
  };
}
