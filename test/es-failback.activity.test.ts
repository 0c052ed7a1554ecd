/**
 * The Elasticsearch half of a failback's reprotect, against the in-process ES emulator: how many documents the
 * old leader holds that the new leader lacks (what replacing it discards), and the auto-follow patterns mirrored
 * onto the old primary's cluster and removed again.
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

describe('Elasticsearch failback activities', () => {
  let t: EsTestPair;
  const env = esActivityEnv();
  const act = () => t.activities;

  beforeEach(async () => {
    t = await startEsTestPair({ autoFollowPatterns: ['logs-from-gra'] });
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
