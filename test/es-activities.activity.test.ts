/**
 * Elasticsearch activities against the in-process ES emulator: each fault the emulator injects (cluster down,
 * red/yellow health, slow responses, link cut, leader index deleted) and the activity's outcome; pause/resume,
 * auto-follow, remote cluster configuration and follow (failback) with their idempotence and refusals.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  canWrite,
  ES_TEST_API_KEY,
  ES_TEST_PAIR,
  esActivityEnv,
  failureOf,
  isFollower,
  runIn,
  startEsTestPair,
  type EsTestPair,
} from './helpers/es';
import { refreshedCount as refreshed, waitFor } from './contract/es-helpers';

const pairInput = { pair: ES_TEST_PAIR };

describe.each([8, 9] as const)('Elasticsearch activities against Elasticsearch %i', (esVersion) => {
  let t: EsTestPair;
  const startPair = (options: Parameters<typeof startEsTestPair>[0] = {}) =>
    startEsTestPair({ esVersion, ...options });
  const env = esActivityEnv();
  const act = () => t.activities;

  beforeEach(async () => {
    t = await startPair({ requestTimeout: '1s', maxLagOperations: 10 });
    await t.followed(['orders', 'customers'], 3);
  });
  afterEach(async () => {
    await t.stop();
  });

  describe('cluster health (one observation per call)', () => {
    it('observes green, then yellow and red when the emulator forces them', async () => {
      const green = await runIn(env, act().esClusterHealth, { ...pairInput, site: 'gra' });
      expect(green).toMatchObject({
        site: 'gra',
        reachable: true,
        status: 'green',
        satisfied: true,
        timedOut: false,
      });

      t.emulator.faults.setHealth('gra', 'yellow');
      const yellow = await runIn(env, act().esClusterHealth, {
        ...pairInput,
        site: 'gra',
        waitForStatus: 'green',
        timeout: '200ms',
      });
      expect(yellow).toMatchObject({ reachable: true, status: 'yellow', timedOut: true, satisfied: false });
      expect(yellow.tookMs).toBeGreaterThanOrEqual(150);

      t.emulator.faults.setHealth('gra', 'red');
      const red = await runIn(env, act().esClusterHealth, { ...pairInput, site: 'gra' });
      expect(red).toMatchObject({ reachable: true, status: 'red', satisfied: false });
    });

    it('reports a down cluster as unreachable (an observation, not an error), without the API key', async () => {
      await t.emulator.faults.setClusterDown('rbx', true);
      const down = await runIn(env, act().esClusterHealth, { ...pairInput, site: 'rbx' });
      expect(down).toMatchObject({ site: 'rbx', reachable: false, status: 'unreachable', satisfied: false });
      expect(down.failure?.type).toBe('EsUnreachable');
      expect(JSON.stringify(down)).not.toContain(ES_TEST_API_KEY);
      await t.emulator.faults.setClusterDown('rbx', false);
      const back = await runIn(env, act().esClusterHealth, { ...pairInput, site: 'rbx' });
      expect(back.reachable).toBe(true);
    });

    it('reports a response slower than the request timeout as unreachable with EsTimeout', async () => {
      t.emulator.faults.setDelay('gra', 600);
      const slow = await runIn(env, act().esClusterHealth, {
        ...pairInput,
        site: 'gra',
        requestTimeout: '200ms',
      });
      expect(slow).toMatchObject({ reachable: false, status: 'unreachable' });
      expect(slow.failure?.type).toBe('EsTimeout');
      const patient = await runIn(env, act().esClusterHealth, {
        ...pairInput,
        site: 'gra',
        requestTimeout: '2s',
      });
      expect(patient).toMatchObject({ reachable: true, status: 'green' });
      expect(patient.tookMs).toBeGreaterThanOrEqual(550);
    });

    it('fails non-retryably when the API key secret cannot be resolved, naming the reference only', async () => {
      delete process.env.DR_TEST_ES_API_KEY;
      const failure = await failureOf(runIn(env, act().esClusterHealth, { ...pairInput, site: 'rbx' }));
      expect(failure.type).toBe('SecretUnavailable');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain('env:DR_TEST_ES_API_KEY');
    });
  });

  describe('follower status and lag', () => {
    it('reports active followers caught up, within the allowed lag', async () => {
      const report = await runIn(env, act().esFollowerStatus, pairInput);
      expect(report.site).toBe('rbx');
      expect(report.summary).toMatchObject({ total: 2, active: 2, healthy: true, maxLagOperations: 0 });
      expect(report.indices[0]).toMatchObject({
        index: 'orders',
        state: 'active',
        open: true,
        remoteCluster: 'gra',
        leaderIndex: 'orders',
        lagOperations: 0,
        // Summed over the 3 shards, each at (its documents − 1): 3 documents − 3 shards.
        leaderGlobalCheckpoint: 0,
        followerGlobalCheckpoint: 0,
        readExceptions: [],
        leaderIndexMissing: false,
      });
      expect(report.indices[0]?.description).toMatch(
        /^follower index orders on rbx follows gra:orders, 0 operation\(s\) behind \(limit 10\), last read \d+(\.\d)? s ago \(limit 90 s\)\.$/,
      );
    });

    it('reports the lag while the follower is behind, then healthy once caught up', async () => {
      await t.stop();
      t = await startPair({ replicationDelayMs: 2000, maxLagOperations: 10 });
      await t.followed(['orders', 'customers'], 1);
      // One bulk request, so the follower reads the 25 operations at once and holds them for the delay.
      await t.gra.bulk({
        operations: Array.from({ length: 25 }, (_, i) => [
          { index: { _index: 'orders' } },
          { burst: i },
        ]).flat(),
      });
      const behind = await waitFor('the lag to show', async () => {
        const r = await runIn(env, act().esFollowerStatus, pairInput);
        return (r.indices[0]?.lagOperations ?? 0) >= 25 ? r : undefined;
      });
      expect(behind.indices[0]).toMatchObject({
        index: 'orders',
        state: 'active',
        lagOperations: 25,
        healthy: false,
      });
      expect(behind.summary).toMatchObject({ healthy: false, unhealthy: ['orders'], maxLagOperations: 25 });
      const caughtUp = await waitFor('the follower to catch up', async () => {
        const r = await runIn(env, act().esFollowerStatus, pairInput);
        return r.summary.healthy ? r : undefined;
      });
      expect(caughtUp.indices[0]?.lagOperations).toBe(0);
    });

    it('reports a follower whose link is cut as unhealthy: the frozen lag of 0 hides writes it cannot read', async () => {
      t.emulator.faults.cutLink('gra', 'rbx');
      await t.gra.index({ index: 'orders', id: 'unseen', document: { n: 9 } });
      const report = await waitFor('a read exception', async () => {
        const r = await runIn(env, act().esFollowerStatus, pairInput);
        return (r.indices[0]?.readExceptions.length ?? 0) > 0 ? r : undefined;
      });
      const orders = report.indices[0];
      expect(orders).toMatchObject({ state: 'active', lagOperations: 0, healthy: false });
      expect(orders?.readExceptions[0]?.type).toBe('connect_transport_exception');
      expect(orders?.description).toMatch(
        // One per shard follow task.
        /^follower index orders on rbx cannot read from gra:orders: 3 read exception\(s\), the last connect_transport_exception/,
      );
      expect(report.summary.healthy).toBe(false);
      t.emulator.faults.restoreLink('gra', 'rbx');
    });

    it('reports a follower that has not read from its leader for longer than maxTimeSinceLastRead as unhealthy', async () => {
      await t.stop();
      t = await startPair({ maxTimeSinceLastRead: '300ms' });
      await t.followed(['orders', 'customers'], 1);
      const report = await waitFor('the silence to exceed the limit', async () => {
        const r = await runIn(env, act().esFollowerStatus, pairInput);
        return r.indices[0]?.healthy === false ? r : undefined;
      });
      expect(report.maxTimeSinceLastReadMs).toBe(300);
      expect(report.indices[0]?.timeSinceLastReadMs).toBeGreaterThan(300);
      expect(report.indices[0]?.description).toMatch(
        /^follower index orders on rbx has not read from gra:orders for \d+(\.\d)? s \(limit 0\.3 s\)/,
      );
    });

    it('reports a deleted leader index as a fatal exception with leaderIndexMissing', async () => {
      t.emulator.faults.deleteIndex('gra', 'customers');
      const report = await waitFor('the fatal exception', async () => {
        const r = await runIn(env, act().esFollowerStatus, pairInput);
        return r.indices[1]?.fatalException ? r : undefined;
      });
      expect(report.indices[1]).toMatchObject({
        index: 'customers',
        leaderIndexMissing: true,
        healthy: false,
        fatalException: { type: 'index_not_found_exception' },
      });
      expect(report.indices[0]?.healthy).toBe(true);
    });

    it('tells paused, regular and missing indices apart, and lists every follower with "all"', async () => {
      await t.rbx.ccr.pauseFollow({ index: 'customers' });
      await t.rbx.indices.create({ index: 'plain' });
      const report = await runIn(env, act().esFollowerStatus, {
        ...pairInput,
        indices: ['orders', 'customers', 'plain', 'ghost'],
      });
      expect(report.indices.map((i) => i.state)).toEqual(['active', 'paused', 'not-follower', 'missing']);
      expect(report.indices[1]?.lagOperations).toBeUndefined();
      expect(report.summary).toMatchObject({
        active: 1,
        paused: 1,
        notFollower: 1,
        missing: 1,
        healthy: false,
      });
      const all = await runIn(env, act().esFollowerStatus, { ...pairInput, indices: 'all' });
      expect(all.indices.map((i) => i.index)).toEqual(['customers', 'orders']);
    });

    it('fails with retryable EsUnreachable when the follower cluster is down, and EsTimeout when it is slow', async () => {
      await t.emulator.faults.setClusterDown('rbx', true);
      const down = await failureOf(runIn(env, act().esFollowerStatus, pairInput));
      expect(down.type).toBe('EsUnreachable');
      expect(down.nonRetryable).toBe(false);
      expect(down.message).not.toContain(ES_TEST_API_KEY);
      await t.emulator.faults.setClusterDown('rbx', false);
      t.emulator.faults.setDelay('rbx', 1500);
      const slow = await failureOf(runIn(env, act().esFollowerStatus, pairInput));
      expect(slow.type).toBe('EsTimeout');
      expect(slow.nonRetryable).toBe(false);
    });
  });

  describe('pause and resume follow', () => {
    it('is idempotent both ways', async () => {
      const paused = await runIn(env, act().esPauseFollow, pairInput);
      expect(paused.indices.map((i) => i.outcome)).toEqual(['paused', 'paused']);
      const again = await runIn(env, act().esPauseFollow, pairInput);
      expect(again.indices.map((i) => i.outcome)).toEqual(['already-paused', 'already-paused']);
      expect((await t.rbx.ccr.followInfo({ index: 'orders' })).follower_indices[0]?.status).toBe('paused');
      const resumed = await runIn(env, act().esResumeFollow, pairInput);
      expect(resumed.indices.map((i) => i.outcome)).toEqual(['resumed', 'resumed']);
      const resumedAgain = await runIn(env, act().esResumeFollow, pairInput);
      expect(resumedAgain.indices.map((i) => i.outcome)).toEqual(['already-active', 'already-active']);
    });

    it('onlyIfCaughtUp: pauses followers that have read everything, in one call', async () => {
      const paused = await runIn(env, act().esPauseFollow, { ...pairInput, onlyIfCaughtUp: true });
      expect(paused.notCaughtUp).toBeUndefined();
      expect(paused.indices.map((i) => i.outcome)).toEqual(['paused', 'paused']);
    });

    it('onlyIfCaughtUp: leaves followers that cannot read everything be, and says why', async () => {
      t.emulator.faults.cutLink('gra', 'rbx');
      try {
        await t.gra.index({ index: 'orders', id: 'unread', document: { n: 1 } });
        await waitFor('the cut link seen by the follower', async () => {
          const r = await runIn(env, act().esFollowerStatus, pairInput);
          return r.summary.healthy ? undefined : r;
        });
        const left = await runIn(env, act().esPauseFollow, { ...pairInput, onlyIfCaughtUp: true });
        expect(left.indices).toEqual([]);
        expect(left.notCaughtUp).toMatch(
          /^not paused: the followers on rbx have not read everything yet \(lag \d+ operations, 2 of 2 active, not all healthy\)$/,
        );
        expect((await t.rbx.ccr.followInfo({ index: 'orders' })).follower_indices[0]?.status).toBe('active');
      } finally {
        t.emulator.faults.restoreLink('gra', 'rbx');
      }
    });

    it('refuses a regular index (IndexNotFollower) and a missing one (EsIndexNotFound), non-retryably', async () => {
      await t.rbx.indices.create({ index: 'plain' });
      const notFollower = await failureOf(
        runIn(env, act().esPauseFollow, { ...pairInput, indices: ['plain'] }),
      );
      expect(notFollower).toMatchObject({ type: 'IndexNotFollower', nonRetryable: true });
      const missing = await failureOf(runIn(env, act().esResumeFollow, { ...pairInput, indices: ['ghost'] }));
      expect(missing).toMatchObject({ type: 'EsIndexNotFound', nonRetryable: true });
    });

    it('cannot resume while the link is cut (retryable EsRemoteUnreachable) nor once the leader is gone', async () => {
      await runIn(env, act().esPauseFollow, pairInput);
      t.emulator.faults.cutLink('gra', 'rbx');
      const cut = await failureOf(runIn(env, act().esResumeFollow, { ...pairInput, indices: ['orders'] }));
      expect(cut).toMatchObject({ type: 'EsRemoteUnreachable', nonRetryable: false });
      t.emulator.faults.restoreLink('gra', 'rbx');
      t.emulator.faults.deleteIndex('gra', 'orders');
      const gone = await failureOf(runIn(env, act().esResumeFollow, { ...pairInput, indices: ['orders'] }));
      expect(gone).toMatchObject({ type: 'LeaderIndexMissing', nonRetryable: true });
    });
  });

  describe('auto-follow patterns', () => {
    beforeEach(async () => {
      await t.rbx.ccr.putAutoFollowPattern({
        name: 'logs-from-gra',
        remote_cluster: 'gra',
        leader_index_patterns: ['logs-*'],
        follow_index_pattern: '{{leader_index}}',
      });
    });

    it('pauses and resumes idempotently', async () => {
      const input = { ...pairInput, patterns: ['logs-from-gra'] };
      expect((await runIn(env, act().esPauseAutoFollow, input)).patterns).toEqual([
        { name: 'logs-from-gra', outcome: 'paused' },
      ]);
      expect((await runIn(env, act().esPauseAutoFollow, input)).patterns[0]?.outcome).toBe('already-paused');
      const stored = await t.rbx.ccr.getAutoFollowPattern({ name: 'logs-from-gra' });
      expect(stored.patterns[0]?.pattern.active).toBe(false);
      expect((await runIn(env, act().esResumeAutoFollow, input)).patterns[0]?.outcome).toBe('resumed');
      expect((await runIn(env, act().esResumeAutoFollow, input)).patterns[0]?.outcome).toBe('already-active');
    });

    it('refuses an unknown pattern non-retryably', async () => {
      const failure = await failureOf(
        runIn(env, act().esPauseAutoFollow, { ...pairInput, patterns: ['nope'] }),
      );
      expect(failure).toMatchObject({ type: 'AutoFollowPatternNotFound', nonRetryable: true });
    });
  });

  describe('remote cluster configuration', () => {
    it('configures the remote on the old primary for failback, idempotently, and waits until connected', async () => {
      const first = await runIn(env, act().esConfigureRemoteCluster, { ...pairInput, site: 'gra' });
      expect(first).toMatchObject({
        site: 'gra',
        alias: 'rbx',
        remoteSite: 'rbx',
        mode: 'sniff',
        addresses: [t.emulator.cluster('rbx').address],
        changed: true,
        connected: true,
      });
      const settings = await t.gra.cluster.getSettings({ flat_settings: true });
      expect(settings.persistent?.['cluster.remote.rbx.seeds']).toEqual([t.emulator.cluster('rbx').address]);
      const second = await runIn(env, act().esConfigureRemoteCluster, { ...pairInput, site: 'gra' });
      expect(second).toMatchObject({ changed: false, connected: true });
      // rbx was configured by hand (seeds only, sniff by default): nothing to change either.
      const rbx = await runIn(env, act().esConfigureRemoteCluster, { ...pairInput, site: 'rbx' });
      expect(rbx).toMatchObject({ alias: 'gra', changed: false, connected: true });
      const status = await runIn(env, act().esRemoteClusterStatus, { ...pairInput, site: 'gra' });
      expect(status).toMatchObject({ configured: true, connected: true });
    });

    it('repairs a remote pointing elsewhere, and reports it not connected while the other cluster is down', async () => {
      await t.rbx.cluster.putSettings({
        persistent: { cluster: { remote: { gra: { seeds: ['127.0.0.1:1'] } } } },
      });
      const wrong = await runIn(env, act().esRemoteClusterStatus, { ...pairInput, site: 'rbx' });
      expect(wrong).toMatchObject({ configured: false, connected: false });
      await t.emulator.faults.setClusterDown('gra', true);
      const fixed = await runIn(env, act().esConfigureRemoteCluster, {
        ...pairInput,
        site: 'rbx',
        connectTimeout: '300ms',
      });
      expect(fixed).toMatchObject({ changed: true, connected: false });
      await t.emulator.faults.setClusterDown('gra', false);
      const status = await runIn(env, act().esRemoteClusterStatus, { ...pairInput, site: 'rbx' });
      expect(status).toMatchObject({ configured: true, connected: true });
    });
  });

  describe('remote cluster configuration in proxy mode', () => {
    const proxyKeys = (settings: Record<string, unknown> | undefined) =>
      Object.fromEntries(Object.entries(settings ?? {}).filter(([k]) => k.startsWith('cluster.remote.gra.')));

    it('keeps the server name and socket count someone else set when the runbook does not name them', async () => {
      await t.stop();
      t = await startPair({ graTransport: { mode: 'proxy' } });
      const gra = t.emulator.cluster('gra').address;
      await t.rbx.cluster.putSettings({
        persistent: {
          'cluster.remote.gra.seeds': null,
          'cluster.remote.gra.mode': 'proxy',
          'cluster.remote.gra.proxy_address': '127.0.0.1:1',
          'cluster.remote.gra.server_name': 'gra.es.example.net',
          'cluster.remote.gra.proxy_socket_connections': 6,
        },
      });
      const result = await runIn(env, act().esConfigureRemoteCluster, { ...pairInput, site: 'rbx' });
      expect(result).toMatchObject({ mode: 'proxy', addresses: [gra], changed: true, connected: true });
      const settings = await t.rbx.cluster.getSettings({ flat_settings: true });
      expect(proxyKeys(settings.persistent)).toEqual({
        'cluster.remote.gra.mode': 'proxy',
        'cluster.remote.gra.proxy_address': gra,
        'cluster.remote.gra.server_name': 'gra.es.example.net',
        'cluster.remote.gra.proxy_socket_connections': '6',
      });
      const status = await runIn(env, act().esRemoteClusterStatus, { ...pairInput, site: 'rbx' });
      expect(status).toMatchObject({ configured: true, connected: true });
    });

    it("applies the runbook's proxy mode and server name over a sniff-mode remote", async () => {
      await t.stop();
      t = await startPair({ graTransport: { mode: 'proxy', serverName: 'gra.es.example.net' } });
      await t.rbx.cluster.putSettings({ persistent: { 'cluster.remote.gra.node_connections': 2 } });
      const result = await runIn(env, act().esConfigureRemoteCluster, { ...pairInput, site: 'rbx' });
      expect(result).toMatchObject({ mode: 'proxy', changed: true, connected: true });
      const settings = await t.rbx.cluster.getSettings({ flat_settings: true });
      // The sniff-only keys go: Elasticsearch refuses them beside proxy mode.
      expect(proxyKeys(settings.persistent)).toEqual({
        'cluster.remote.gra.mode': 'proxy',
        'cluster.remote.gra.proxy_address': t.emulator.cluster('gra').address,
        'cluster.remote.gra.server_name': 'gra.es.example.net',
      });
      const info = await t.rbx.cluster.remoteInfo();
      expect(info.gra).toMatchObject({ mode: 'proxy', server_name: 'gra.es.example.net', connected: true });
    });

    it('refuses a bad input naming the field, before any request', async () => {
      const failure = await failureOf(
        runIn(env, act().esConfigureRemoteCluster, { ...pairInput, site: 'rbx', connectTimeout: 'soon' }),
      );
      expect(failure).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
      expect(failure.message).toMatch(/connectTimeout/);
    });
  });

  describe('promotion under faults', () => {
    it('promotes while the leader cluster is down, warning about the retention lease it could not remove', async () => {
      await t.emulator.faults.setClusterDown('gra', true);
      const result = await runIn(env, act().esPromoteFollowers, pairInput);
      expect(result.promoted).toBe(2);
      expect(result.indices[0]?.warnings[0]).toMatch(/retention lease/);
      expect(await isFollower(t.rbx, 'orders')).toBe(false);
      expect(await canWrite(t.rbx, 'orders')).toBe(true);
    });

    it('promotes a follower whose leader index was deleted', async () => {
      t.emulator.faults.deleteIndex('gra', 'orders');
      const result = await runIn(env, act().esPromoteFollowers, pairInput);
      expect(result.indices.map((i) => i.performed.length)).toEqual([4, 4]);
      expect(await canWrite(t.rbx, 'orders')).toBe(true);
    });

    it('fails with retryable EsUnreachable when the follower cluster itself is down', async () => {
      await t.emulator.faults.setClusterDown('rbx', true);
      const failure = await failureOf(runIn(env, act().esPromoteFollowers, pairInput));
      expect(failure).toMatchObject({ type: 'EsUnreachable', nonRetryable: false });
    });
  });

  describe('follow (failback)', () => {
    /** Failover happened: rbx's followers are promoted, rbx took a write, gra (the old primary) is back. */
    async function afterFailover(): Promise<void> {
      await runIn(env, act().esPromoteFollowers, pairInput);
      await t.rbx.index({ index: 'orders', id: 'after-failover', document: { on: 'rbx' }, refresh: true });
      await runIn(env, act().esConfigureRemoteCluster, { ...pairInput, site: 'gra' });
    }

    it('refuses to follow onto an existing open index, naming its document count', async () => {
      await afterFailover();
      const failure = await failureOf(runIn(env, act().esFollowIndices, { ...pairInput, site: 'gra' }));
      expect(failure).toMatchObject({ type: 'FollowerIndexExists', nonRetryable: true });
      expect(failure.message).toMatch(/an open index orders already exists with 3 documents/);
      expect(await isFollower(t.gra, 'orders')).toBe(false);
      expect((await t.gra.count({ index: 'orders' })).count).toBe(3);
    });

    it('replaces the named open indices when asked, warning that their writes are lost; then is idempotent', async () => {
      await afterFailover();
      // A write the old primary took after the failover: replacing the index discards it.
      await t.gra.index({ index: 'orders', id: 'stray', document: { on: 'gra' }, refresh: true });
      const result = await runIn(env, act().esFollowIndices, {
        ...pairInput,
        site: 'gra',
        replaceExisting: ['orders', 'customers'],
      });
      expect(result).toMatchObject({ site: 'gra', leaderSite: 'rbx', remoteCluster: 'rbx' });
      expect(result.indices[0]).toMatchObject({ index: 'orders', outcome: 'replaced', discardedDocs: 4 });
      expect(result.warnings[0]).toMatch(/writes it received since the failover are LOST/);
      expect(await isFollower(t.gra, 'orders')).toBe(true);
      const ids = (await t.gra.search({ index: 'orders', size: 20 })).hits.hits.map((h) => h._id).sort();
      expect(ids).toEqual(['after-failover', 'd0', 'd1', 'd2']);
      const again = await runIn(env, act().esFollowIndices, { ...pairInput, site: 'gra' });
      expect(again.indices.map((i) => i.outcome)).toEqual(['already-following', 'already-following']);
    });

    it('refuses to replace a closed regular index unless named in replaceExisting, and creates missing followers', async () => {
      await afterFailover();
      await t.gra.indices.close({ index: 'orders' });
      await t.gra.indices.delete({ index: 'customers' });
      const refused = await failureOf(runIn(env, act().esFollowIndices, { ...pairInput, site: 'gra' }));
      expect(refused).toMatchObject({ type: 'FollowerIndexExists', nonRetryable: true });
      expect(refused.message).toMatch(/a closed index orders already exists/);
      expect(await isFollower(t.gra, 'orders')).toBe(false);
      const result = await runIn(env, act().esFollowIndices, {
        ...pairInput,
        site: 'gra',
        replaceExisting: ['orders'],
      });
      // The refusal of one index does not stop the batch: customers was created by the first call.
      expect(result.indices.map((i) => i.outcome)).toEqual(['replaced', 'already-following']);
      expect(result.warnings).toHaveLength(1);
      expect(await isFollower(t.gra, 'orders')).toBe(true);
      expect(await isFollower(t.gra, 'customers')).toBe(true);
      expect((await t.gra.count({ index: 'orders' })).count).toBe(4);
    });

    it('recreates a closed follower whose follow task still runs by pausing it first', async () => {
      // rbx's orders follows gra's; closed without pausing, its shard follow task survives.
      await t.rbx.indices.close({ index: 'orders' });
      await t.gra.index({ index: 'orders', id: 'while-closed', document: { n: 7 } });
      const result = await runIn(env, act().esFollowIndices, {
        ...pairInput,
        site: 'rbx',
        indices: ['orders'],
      });
      expect(result.indices[0]).toMatchObject({
        index: 'orders',
        outcome: 'recreated-from-closed',
        followingStarted: true,
      });
      await t.gra.index({ index: 'orders', id: 'after-recreate', document: { n: 8 } });
      await waitFor('the recreated follower to follow', async () => (await refreshed(t.rbx, 'orders')) === 5);
      const status = await runIn(env, act().esFollowerStatus, { ...pairInput, indices: ['orders'] });
      expect(status.indices[0]).toMatchObject({ state: 'active', healthy: true });
    });

    it('follows a large index without waiting on the restore in one request, heartbeating until it is active', async () => {
      await t.stop();
      t = await startPair({ requestTimeout: '1s' });
      await t.followed(['orders', 'customers'], 3);
      await afterFailover();
      await t.gra.indices.delete({ index: 'customers' });
      // 3 documents of 7 bytes at 8 bytes/s: a restore of about 2.6 s, longer than the 1 s request timeout.
      await t.gra.cluster.putSettings({ persistent: { 'ccr.indices.recovery.max_bytes_per_sec': '8b' } });
      const beats: unknown[] = [];
      const watched = esActivityEnv();
      watched.on('heartbeat', (d: unknown) => beats.push(d));
      const result = await runIn(watched, act().esFollowIndices, {
        ...pairInput,
        site: 'gra',
        indices: ['customers'],
      });
      expect(result.indices[0]).toMatchObject({
        index: 'customers',
        outcome: 'created',
        followingStarted: true,
      });
      expect(beats).toContainEqual(expect.objectContaining({ index: 'customers', waiting: 'restore' }));
      expect((await t.gra.ccr.followInfo({ index: 'customers' })).follower_indices[0]?.status).toBe('active');
      expect(await refreshed(t.gra, 'customers')).toBe(3);
    });

    it('gives up waiting for a restore after restoreTimeout with a retryable FollowerNotReady', async () => {
      await afterFailover();
      await t.gra.indices.delete({ index: 'customers' });
      await t.gra.cluster.putSettings({ persistent: { 'ccr.indices.recovery.max_bytes_per_sec': '1b' } });
      const failure = await failureOf(
        runIn(env, act().esFollowIndices, {
          ...pairInput,
          site: 'gra',
          indices: ['customers'],
          restoreTimeout: '500ms',
        }),
      );
      expect(failure).toMatchObject({ type: 'FollowerNotReady', nonRetryable: false });
      expect(failure.message).toMatch(/customers is still restoring from rbx:customers after 0\.5 s/);
    });

    it('refuses a missing leader index non-retryably and a cut link retryably', async () => {
      await afterFailover();
      const missing = await failureOf(
        runIn(env, act().esFollowIndices, { ...pairInput, site: 'gra', indices: ['not-on-rbx'] }),
      );
      expect(missing).toMatchObject({ type: 'LeaderIndexMissing', nonRetryable: true });
      await t.gra.indices.delete({ index: 'orders' });
      t.emulator.faults.cutLink('gra', 'rbx');
      const cut = await failureOf(
        runIn(env, act().esFollowIndices, { ...pairInput, site: 'gra', indices: ['orders'] }),
      );
      expect(cut).toMatchObject({ type: 'EsRemoteUnreachable', nonRetryable: false });
    });
  });

  describe('run-time input validation', () => {
    it('refuses bad inputs of the destructive activities non-retryably, naming the field, changing nothing', async () => {
      const cases: [string, Promise<unknown>, RegExp][] = [
        [
          'esFollowIndices',
          runIn(env, act().esFollowIndices, { ...pairInput, site: 'gra', indices: ['orders', 'logs-*'] }),
          /indices\[1\]: must be an exact index name/,
        ],
        [
          'esFollowIndices',
          runIn(env, act().esFollowIndices, {
            ...pairInput,
            site: 'gra',
            replaceExisting: 'yes',
          } as never),
          /replaceExisting: /,
        ],
        [
          'esFollowIndices',
          runIn(env, act().esFollowIndices, { ...pairInput, site: 'gra', replaceExisitng: true } as never),
          /replaceExisitng/,
        ],
        [
          'esPromoteFollowers',
          runIn(env, act().esPromoteFollowers, { ...pairInput, concurrency: 0 }),
          /concurrency: /,
        ],
        [
          'esPromoteFollowers',
          runIn(env, act().esPromoteFollowers, { ...pairInput, indices: ['_all'] }),
          /indices\[0\]: must be an exact index name/,
        ],
        [
          'esPauseFollow',
          runIn(env, act().esPauseFollow, { ...pairInput, indices: ['Orders'] }),
          /indices\[0\]/,
        ],
        ['esResumeFollow', runIn(env, act().esResumeFollow, { pair: 42 } as never), /pair: /],
      ];
      for (const [name, call, field] of cases) {
        const failure = await failureOf(call);
        expect(failure, name).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
        expect(failure.message, name).toMatch(new RegExp(`^${name}: invalid input: `));
        expect(failure.message, name).toMatch(field);
      }
      const status = await runIn(env, act().esFollowerStatus, pairInput);
      expect(status.indices.map((i) => i.state)).toEqual(['active', 'active']);
      expect(await isFollower(t.gra, 'orders')).toBe(false);
    });
  });
});
