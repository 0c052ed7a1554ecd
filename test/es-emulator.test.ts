/**
 * Emulator-only behaviour: fault injection, the admin endpoint, replication delay and the CLI entry point.
 * These are not contract tests: real Elasticsearch has no such knobs. What the faults produce (errors, stats)
 * follows the shapes the contract suite and docs/reference/elasticsearch-ccr.md describe.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client, errors } from '@elastic/elasticsearch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEsEmulator, type RunningEsEmulator } from '../dev/es-emulator/emulator';
import { retryDelayMs } from '../dev/es-emulator/replication';
import { expectEsError, followerCheckpoints, waitFor, waitForCheckpoint } from './contract/es-helpers';

const REMOTE = 'gra';

describe('ES emulator fault injection', () => {
  let emulator: RunningEsEmulator;
  let gra: Client;
  let rbx: Client;

  beforeEach(async () => {
    emulator = await startEsEmulator({ clusters: [{ name: 'gra' }, { name: 'rbx' }] });
    gra = new Client({ node: emulator.cluster('gra').url, maxRetries: 0 });
    rbx = new Client({ node: emulator.cluster('rbx').url, maxRetries: 0 });
    await rbx.cluster.putSettings({
      persistent: { cluster: { remote: { [REMOTE]: { seeds: [emulator.cluster('gra').address] } } } },
    });
  });

  afterEach(async () => {
    await Promise.all([gra.close(), rbx.close()]);
    await emulator.stop();
  });

  async function follow(leaderIndex: string, docs: number): Promise<string> {
    await gra.indices.create({ index: leaderIndex, settings: { number_of_replicas: 0 } });
    for (let i = 0; i < docs; i++) await gra.index({ index: leaderIndex, id: String(i), document: { n: i } });
    const followerIndex = `${leaderIndex}-follower`;
    await rbx.ccr.follow({
      index: followerIndex,
      remote_cluster: REMOTE,
      leader_index: leaderIndex,
      wait_for_active_shards: 1,
    });
    return followerIndex;
  }

  async function remoteConnected(): Promise<boolean | undefined> {
    const info = (await rbx.cluster.remoteInfo()) as unknown as Record<string, { connected?: boolean }>;
    return info[REMOTE]?.connected;
  }

  it('takes a cluster down for real (connections refused) and brings it back with its data', async () => {
    const followerIndex = await follow('logs', 1);
    await emulator.faults.setClusterDown('gra', true);
    const refused = await gra.info().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(errors.ConnectionError);
    expect(await remoteConnected()).toBe(false);
    await waitFor('a read exception on the follower', async () => {
      const { shard } = await followerCheckpoints(rbx, followerIndex);
      const readExceptions = shard.read_exceptions as { exception: { type: string } }[];
      return readExceptions[0]?.exception.type === 'connect_transport_exception' ? true : undefined;
    });
    expect(emulator.faults.state().clusters.gra?.down).toBe(true);

    await emulator.faults.setClusterDown('gra', false);
    expect((await gra.info()).cluster_name).toBe('gra');
    expect(await gra.indices.exists({ index: 'logs' })).toBe(true);
    await gra.index({ index: 'logs', id: 'after-restart', document: { n: 2 } });
    await waitForCheckpoint(rbx, followerIndex, 1);
    expect((await followerCheckpoints(rbx, followerIndex)).shard.read_exceptions).toEqual([]);
  });

  it('forces red or yellow health until the fault is cleared', async () => {
    emulator.faults.setHealth('gra', 'red');
    expect((await gra.cluster.health()).status).toBe('red');
    const waited = await gra.cluster.health(
      { wait_for_status: 'yellow', timeout: '100ms' },
      { ignore: [408], meta: true },
    );
    expect(waited.statusCode).toBe(408);
    expect(waited.body).toMatchObject({ status: 'red', timed_out: true });
    emulator.faults.setHealth('gra', 'yellow');
    expect((await gra.cluster.health()).status).toBe('yellow');
    emulator.faults.setHealth('gra', null);
    expect((await gra.cluster.health({ wait_for_status: 'green', timeout: '1s' })).status).toBe('green');
  });

  it('slows responses down, enough for a client timeout to fire', async () => {
    emulator.faults.setDelay('gra', 250);
    const started = Date.now();
    await gra.info();
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    // A per-request timeout uses a precise timer; undici's own timeouts are coarse.
    await expect(gra.info({}, { requestTimeout: 50 })).rejects.toBeInstanceOf(errors.TimeoutError);
  });

  it('cuts the link between two clusters: followers fall behind with read exceptions, then catch up', async () => {
    const followerIndex = await follow('orders', 2);
    await waitForCheckpoint(rbx, followerIndex, 1);
    emulator.faults.cutLink('gra', 'rbx');
    await gra.index({ index: 'orders', id: 'during-cut', document: { n: 9 } });
    const behind = await waitFor('the follower to report the cut', async () => {
      const { shard } = await followerCheckpoints(rbx, followerIndex);
      return (shard.failed_read_requests as number) > 0 ? shard : undefined;
    });
    expect(behind.follower_global_checkpoint).toBe(1);
    // The leader checkpoint is the one of the last successful read: the leader's write at seq_no 2 is unseen.
    expect(behind.leader_global_checkpoint).toBe(1);
    expect((behind.read_exceptions as { exception: { type: string } }[])[0]?.exception.type).toBe(
      'connect_transport_exception',
    );
    expect(await remoteConnected()).toBe(false);
    const body = await expectEsError(
      rbx.ccr.follow({ index: 'another', remote_cluster: REMOTE, leader_index: 'orders' }),
      {
        status: 400,
        type: 'status_exception',
        reason: `can not fetch remote index [${REMOTE}:orders] metadata as the license state of the remote cluster [${REMOTE}] could not be determined`,
      },
    );
    expect(body.error.root_cause[0]?.type).toBe('connect_transport_exception');

    emulator.faults.restoreLink('gra', 'rbx');
    await waitForCheckpoint(rbx, followerIndex, 2);
    expect((await followerCheckpoints(rbx, followerIndex)).shard.read_exceptions).toEqual([]);
    expect(await remoteConnected()).toBe(true);
  });

  it('reports a fatal exception when the leader index is deleted', async () => {
    const followerIndex = await follow('events', 1);
    emulator.faults.deleteIndex('gra', 'events');
    const fatal = await waitFor('a fatal exception', async () => {
      const { shard } = await followerCheckpoints(rbx, followerIndex);
      return shard.fatal_exception as { type: string; reason: string } | undefined;
    });
    expect(fatal).toMatchObject({ type: 'index_not_found_exception', reason: 'no such index [events]' });
    expect((await rbx.ccr.followInfo({ index: followerIndex })).follower_indices[0]?.status).toBe('active');
  });

  it('fails unfollow when the leader is unreachable, though the index is already unfollowed', async () => {
    const followerIndex = await follow('audit', 1);
    await rbx.ccr.pauseFollow({ index: followerIndex });
    await rbx.indices.close({ index: followerIndex });
    emulator.faults.cutLink('gra', 'rbx');
    const body = await expectEsError(rbx.ccr.unfollow({ index: followerIndex }), {
      status: 500,
      type: 'exception',
    });
    expect(body.error.failed_to_remove_retention_leases).toMatch(
      new RegExp(`^rbx/${followerIndex}/.+-following-${REMOTE}/audit/`),
    );
    expect(body.error.root_cause[0]?.type).toBe('connect_transport_exception');
    expect((await rbx.ccr.followInfo({ index: followerIndex })).follower_indices).toEqual([]);
    await rbx.indices.open({ index: followerIndex });
    expect((await rbx.index({ index: followerIndex, document: { ok: true } })).result).toBe('created');
  });

  it('counts failed remote cluster state requests of auto-follow patterns while the link is cut', async () => {
    await rbx.ccr.putAutoFollowPattern({
      name: 'all-logs',
      remote_cluster: REMOTE,
      leader_index_patterns: ['logs-*'],
    });
    emulator.faults.cutLink('gra', 'rbx');
    const stats = await waitFor('a failed auto-follow round', async () => {
      const { auto_follow_stats } = await rbx.ccr.stats();
      return auto_follow_stats.number_of_failed_remote_cluster_state_requests > 0
        ? auto_follow_stats
        : undefined;
    });
    expect(stats.recent_auto_follow_errors[0]).toMatchObject({ leader_index: 'all-logs' });
  });

  it('serves the fault API over HTTP on every cluster port, including bringing another cluster back', async () => {
    const rbxUrl = emulator.cluster('rbx').url;
    const down = await fetch(`${rbxUrl}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cluster: 'gra', down: true, delayMs: 5 }),
    });
    expect(down.status).toBe(200);
    expect(((await down.json()) as { clusters: Record<string, { down: boolean }> }).clusters.gra?.down).toBe(
      true,
    );
    await expect(gra.info()).rejects.toBeInstanceOf(errors.ConnectionError);

    const bad = await fetch(`${rbxUrl}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ cluster: 'nope', down: true }),
    });
    expect(bad.status).toBe(400);

    const selfDown = await fetch(`${rbxUrl}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ down: true }),
    });
    expect(selfDown.status).toBe(200);
    await waitFor(
      'rbx to refuse connections',
      async () =>
        (await rbx.info().then(
          () => false,
          () => true,
        )) || undefined,
    );

    await emulator.faults.setClusterDown('rbx', false);
    const reset = await fetch(`${rbxUrl}/_emulator/reset`, { method: 'POST' });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({
      clusters: {
        gra: { down: false, health: null, delayMs: 0 },
        rbx: { down: false, health: null, delayMs: 0 },
      },
      cutLinks: [],
    });
    expect((await gra.info()).cluster_name).toBe('gra');
  });
});

describe('ES emulator options', () => {
  it('delays replication by replicationDelayMs', async () => {
    const emulator = await startEsEmulator({
      clusters: [{ name: 'a' }, { name: 'b' }],
      replicationDelayMs: 300,
    });
    const a = new Client({ node: emulator.cluster('a').url });
    const b = new Client({ node: emulator.cluster('b').url });
    try {
      await b.cluster.putSettings({
        persistent: { 'cluster.remote.a.seeds': [emulator.cluster('a').address] },
      });
      await a.indices.create({ index: 'src', settings: { number_of_replicas: 0 } });
      await b.ccr.follow({
        index: 'dst',
        remote_cluster: 'a',
        leader_index: 'src',
        wait_for_active_shards: 1,
      });
      const written = Date.now();
      await a.index({ index: 'src', id: '1', document: { n: 1 } });
      const lagging = await waitFor('the follower to read the operation', async () => {
        const checkpoints = await followerCheckpoints(b, 'dst');
        return checkpoints.leader === 0 ? checkpoints : undefined;
      });
      expect(lagging.follower).toBe(-1);
      expect(lagging.shard.write_buffer_operation_count).toBe(1);
      await waitForCheckpoint(b, 'dst', 0);
      expect(Date.now() - written).toBeGreaterThanOrEqual(290);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await emulator.stop();
    }
  });

  it('assigns replicas when the cluster has enough nodes, and serves an admin-only port', async () => {
    const emulator = await startEsEmulator({ clusters: [{ name: 'big', nodes: 2 }], adminPort: 0 });
    const client = new Client({ node: emulator.cluster('big').url });
    try {
      await client.indices.create({ index: 'replicated', settings: { number_of_replicas: 1 } });
      const health = await client.cluster.health({
        index: 'replicated',
        wait_for_status: 'green',
        timeout: '1s',
      });
      expect(health).toMatchObject({ status: 'green', active_shards: 2, number_of_nodes: 2 });
      const state = await fetch(`${emulator.adminUrl}/_emulator/faults`);
      expect(await state.json()).toEqual({
        clusters: { big: { down: false, health: null, delayMs: 0 } },
        cutLinks: [],
      });
    } finally {
      await client.close();
      await emulator.stop();
    }
  });
});

describe('ES emulator CLI (npm run emulator:es)', () => {
  it('prints one JSON line per cluster, runs the version asked per cluster, and stops cleanly on SIGTERM', async () => {
    const repoRoot = path.resolve(__dirname, '..');
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), 'dev/es-emulator/main.ts'],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          DR_STACK_PORT_ES_GRA: '0',
          DR_STACK_PORT_ES_RBX: '0',
          DR_STACK_ES_VERSION_RBX: '8',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const lines = await waitFor(
        'the emulator to print its clusters',
        async () => {
          const parsed = output
            .split('\n')
            .filter((line) => line.startsWith('{'))
            .map((line) => JSON.parse(line) as { cluster: string; url: string });
          return parsed.length >= 2 ? parsed : undefined;
        },
        // tsx compiles the emulator first: on a loaded 2-core machine that alone took over 15 s.
        { timeoutMs: 45_000 },
      );
      expect(lines.map((line) => line.cluster)).toEqual(['gra', 'rbx']);
      const root = await fetch(lines[0]?.url as string);
      expect(root.headers.get('x-elastic-product')).toBe('Elasticsearch');
      const versionOf = async (url: string) =>
        ((await (await fetch(url)).json()) as { version: { number: string } }).version.number;
      expect(await versionOf(lines[0]?.url as string)).toMatch(/^9\./);
      expect(await versionOf(lines[1]?.url as string)).toMatch(/^8\./);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('ES emulator follow task retry backoff (ShardFollowNodeTask.computeDelay)', () => {
  it('waits a random multiple of 50 ms up to 2^(retry-1) of them, capped at read_poll_timeout', () => {
    const highest = () => 0.999;
    expect(retryDelayMs(1, 60_000, () => 0)).toBe(0);
    expect(retryDelayMs(1, 60_000, highest)).toBe(50);
    // Past max_retry_delay's default of 500 ms: the cap is read_poll_timeout.
    expect(retryDelayMs(5, 60_000, highest)).toBe(800);
    expect(retryDelayMs(30, 60_000, highest)).toBe(60_000);
    expect(retryDelayMs(30, 1_000, highest)).toBe(1_000);
  });
});

describe('ES emulator shard order and points in time', () => {
  let emulator: RunningEsEmulator;
  let es: Client;
  const index = 'paged';

  beforeEach(async () => {
    emulator = await startEsEmulator({ clusters: [{ name: 'gra' }] });
    es = new Client({ node: emulator.cluster('gra').url, maxRetries: 0 });
    await es.indices.create({ index, settings: { number_of_shards: 3, number_of_replicas: 0 } });
    for (let i = 0; i < 9; i++) await es.index({ index, id: `doc-${i}`, document: { i } });
    await es.indices.refresh({ index });
  });

  afterEach(async () => {
    await es.close();
    await emulator.stop();
  });

  async function page(from: number): Promise<string[]> {
    const found = await es.search({ index, from, size: 3 });
    return found.hits.hits.map((hit) => hit._id!);
  }

  it('orders equal-scoring hits by shard, then doc ID, so from/size paging misses a hit when an earlier one goes', async () => {
    const first = await page(0);
    await es.delete({ index, id: first[0]!, refresh: true });
    const rest = [...(await page(3)), ...(await page(6))];
    const remaining = Array.from({ length: 9 }, (_, i) => `doc-${i}`).filter((id) => id !== first[0]);
    const seen = new Set([...first, ...rest]);
    // Every later hit moved one place up: the one that moved onto the first page's last slot is never seen.
    expect(remaining.filter((id) => !seen.has(id))).toEqual([expect.any(String)]);
  });

  it('frees a point in time once its keep_alive has passed without use', async () => {
    const opened = await es.openPointInTime({ index, keep_alive: '100ms' });
    const live = await es.search({ pit: { id: opened.id }, size: 20 });
    expect(live.hits.hits).toHaveLength(9);
    // Polling the nodes stats does not use the point in time (a search would keep it alive).
    await waitFor('the point in time to expire', async () => {
      const stats = await es.nodes.stats({ metric: 'indices', index_metric: 'search' });
      return Object.values(stats.nodes)[0]?.indices?.search?.open_contexts === 0;
    });
    await expectEsError(es.search({ pit: { id: opened.id } }), {
      status: 404,
      type: 'search_phase_execution_exception',
      reason: 'all shards failed',
    });
  });
});
