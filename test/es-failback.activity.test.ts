/**
 * The Elasticsearch half of a failback's reprotect, against the in-process ES emulator (3 shards per index): how
 * many documents the old leader holds that the new leader lacks (what replacing it discards), counted in a point in
 * time and recounted under the write block, and the auto-follow patterns mirrored onto the old primary's cluster
 * and removed again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ES_TEST_PAIR,
  esActivityEnv,
  failureOf,
  runIn,
  startEsTestPair,
  type EsTestPair,
} from './helpers/es';

const pairInput = { pair: ES_TEST_PAIR };

describe.each([8, 9] as const)('Elasticsearch failback activities against Elasticsearch %i', (esVersion) => {
  let t: EsTestPair;
  const env = esActivityEnv();
  const act = () => t.activities;

  beforeEach(async () => {
    t = await startEsTestPair({
      esVersion,
      autoFollowPatterns: ['logs-from-gra'],
    });
    await t.followed(['orders', 'customers'], 3);
    await t.rbx.ccr.putAutoFollowPattern({
      name: 'logs-from-gra',
      remote_cluster: 'gra',
      leader_index_patterns: ['logs-*'],
      follow_index_pattern: '{{leader_index}}',
    });
    // The failover: rbx's followers are promoted, rbx takes writes, its auto-follow is paused.
    await runIn(env, act().esPauseAutoFollow, pairInput);
    await runIn(env, act().esPromoteFollowers, pairInput);
    await t.rbx.index({ index: 'orders', id: 'after-failover', document: { on: 'rbx' }, refresh: true });
  });
  afterEach(async () => t.stop());

  it('counts the documents the old leader holds that the new leader lacks, then none once it follows', async () => {
    const none = await runIn(env, act().esDivergence, { ...pairInput, site: 'gra' });
    expect(none).toMatchObject({ site: 'gra', leaderSite: 'rbx', total: 0 });
    expect(none.indices.map((i) => [i.index, i.documents, i.divergent])).toEqual([
      ['orders', 3, 0],
      ['customers', 3, 0],
    ]);
    expect(none.description).toMatch(/holds no document that rbx lacks/);

    // Writes the old primary took after the failover: a new document and a changed one. Paged 1 at a time.
    await t.gra.index({ index: 'orders', id: 'stray', document: { on: 'gra' } });
    await t.gra.index({ index: 'orders', id: 'd1', document: { changed: true }, refresh: true });
    const some = await runIn(env, act().esDivergence, { ...pairInput, site: 'gra', pageSize: 1 });
    expect(some.total).toBe(2);
    expect(some.indices[0]).toMatchObject({ index: 'orders', documents: 4, divergent: 2 });
    expect(some.indices[0]!.sampleIds.sort()).toEqual(['d1', 'stray']);
    expect(some.description).toMatch(/orders holds 2 document\(s\) that rbx lacks or holds otherwise/);

    await runIn(env, act().esConfigureRemoteCluster, { ...pairInput, site: 'gra' });
    await runIn(env, act().esFollowIndices, { ...pairInput, site: 'gra', replaceExisting: true });
    const following = await runIn(env, act().esDivergence, { ...pairInput, site: 'gra' });
    expect(following.indices.map((i) => i.following)).toEqual([true, true]);
    expect(following.total).toBe(0);
  });

  it('counts every document of a multi-shard index exactly once, whatever the page size', async () => {
    // 20 new documents and a changed one on the old primary, spread over its 3 shards.
    await t.gra.bulk({
      operations: Array.from({ length: 20 }, (_, i) => [
        { index: { _index: 'orders', _id: `stray-${i}` } },
        { i },
      ]).flat(),
    });
    await t.gra.index({ index: 'orders', id: 'd1', document: { changed: true }, refresh: true });
    for (const pageSize of [1, 2, 5, 500]) {
      const report = await runIn(env, act().esDivergence, { ...pairInput, site: 'gra', pageSize });
      expect(
        report.indices.map((i) => [i.index, i.documents, i.divergent]),
        `pageSize ${pageSize}`,
      ).toEqual([
        ['orders', 23, 21],
        ['customers', 3, 0],
      ]);
      expect(report.total).toBe(21);
    }
  });

  it('closes its point in time after the count, and when the count fails', async () => {
    const openContexts = async () => {
      const stats = await t.gra.nodes.stats({ metric: 'indices', index_metric: 'search' });
      return Object.values(stats.nodes)[0]?.indices?.search?.open_contexts;
    };
    await runIn(env, act().esDivergence, { ...pairInput, site: 'gra', pageSize: 1 });
    expect(await openContexts()).toBe(0);
    // The leader goes away after the old primary's point in time is open: the count fails, retryably.
    await t.emulator.faults.setClusterDown('rbx', true);
    const failure = await failureOf(runIn(env, act().esDivergence, { ...pairInput, site: 'gra' }));
    expect(failure).toMatchObject({ type: 'EsUnreachable', nonRetryable: false });
    expect(failure.message).toMatch(/^rbx: divergence orders: read the leader/);
    expect(await openContexts()).toBe(0);
  });

  it('recounts under the write block, reporting the earlier count beside the new one', async () => {
    const first = await runIn(env, act().esDivergence, { ...pairInput, site: 'gra' });
    expect(first.total).toBe(0);
    // A write lands on the old primary between the first count and the fence.
    await t.gra.index({ index: 'orders', id: 'late', document: { on: 'gra' }, refresh: true });
    await runIn(env, act().esFenceWrites, { ...pairInput, site: 'gra' });
    const recount = await runIn(env, act().esDivergence, {
      ...pairInput,
      site: 'gra',
      underWriteBlock: true,
      previous: first,
    });
    expect(recount).toMatchObject({ total: 1, previousTotal: 0, underWriteBlock: true });
    expect(recount.indices[0]).toMatchObject({
      index: 'orders',
      divergent: 1,
      sampleIds: ['late'],
      writeBlocked: true,
      previousDivergent: 0,
    });
    expect(recount.description).toBe(
      'gra/orders holds 1 document(s) that rbx lacks or holds otherwise (e.g. late; 0 at the earlier count) (counted under the write block): replacing it by a follower discards them.',
    );

    // Without the block on one index, the recount refuses to run: its count could change under it.
    await runIn(env, act().esUnfenceWrites, { ...pairInput, site: 'gra', indices: ['customers'] });
    const unfenced = await failureOf(
      runIn(env, act().esDivergence, { ...pairInput, site: 'gra', underWriteBlock: true }),
    );
    expect(unfenced).toMatchObject({ type: 'IndexNotWriteBlocked', nonRetryable: true });
    expect(unfenced.message).toMatch(/^gra: customers has no write block before the count/);
  });

  it('mirrors the auto-follow patterns onto the old primary, idempotently, and deletes them again', async () => {
    await t.rbx.indices.create({ index: 'logs-old', settings: { number_of_replicas: 0 } });
    await runIn(env, act().esConfigureRemoteCluster, { ...pairInput, site: 'gra' });
    const mirrored = await runIn(env, act().esMirrorAutoFollowPatterns, { ...pairInput, site: 'gra' });
    expect(mirrored.patterns).toEqual([{ name: 'logs-from-gra', outcome: 'created' }]);
    expect(mirrored.existingLeaderIndices).toEqual(['logs-old']);
    const onGra = await t.gra.ccr.getAutoFollowPattern({ name: 'logs-from-gra' });
    expect(onGra.patterns[0]!.pattern).toMatchObject({
      remote_cluster: 'rbx',
      leader_index_patterns: ['logs-*'],
      follow_index_pattern: '{{leader_index}}',
      active: true,
    });
    const again = await runIn(env, act().esMirrorAutoFollowPatterns, { ...pairInput, site: 'gra' });
    expect(again.patterns).toEqual([{ name: 'logs-from-gra', outcome: 'already-there' }]);

    // A new index on rbx (the new leader) is followed by gra.
    await t.rbx.indices.create({ index: 'logs-new', settings: { number_of_replicas: 0 } });
    await expect
      .poll(async () => (await t.gra.indices.exists({ index: 'logs-new' })) === true, { timeout: 10_000 })
      .toBe(true);

    const deleted = await runIn(env, act().esDeleteAutoFollowPatterns, { ...pairInput, site: 'gra' });
    expect(deleted.patterns).toEqual([{ name: 'logs-from-gra', outcome: 'deleted' }]);
    const gone = await runIn(env, act().esDeleteAutoFollowPatterns, { ...pairInput, site: 'gra' });
    expect(gone.patterns).toEqual([{ name: 'logs-from-gra', outcome: 'already-absent' }]);
    // rbx's own pattern is untouched.
    expect((await t.rbx.ccr.getAutoFollowPattern({ name: 'logs-from-gra' })).patterns).toHaveLength(1);
  });

  it('refuses to mirror a pattern that exists on neither site', async () => {
    await t.rbx.ccr.deleteAutoFollowPattern({ name: 'logs-from-gra' });
    const failure = await failureOf(
      runIn(env, act().esMirrorAutoFollowPatterns, { ...pairInput, site: 'gra' }),
    );
    expect(failure).toMatchObject({ type: 'AutoFollowPatternNotFound', nonRetryable: true });
  });
});
