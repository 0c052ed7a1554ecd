/**
 * Fencing Elasticsearch during a failover, against the in-process ES emulator: the old site's leader indices (the
 * followed ones and the auto-followed ones) get the write block and refuse writes, idempotently; a retry after a
 * lost answer finishes the job; the rollback lifts the block; a missing index and an unreachable site are typed
 * failures; the status read tells whether the site is still fenced.
 */
import { errors } from '@elastic/elasticsearch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EsCluster } from '../activities/elasticsearch/clients';
import { expectEsError, waitFor } from './contract/es-helpers';
import {
  ES_TEST_PAIR,
  esActivityEnv,
  failureOf,
  runIn,
  startEsTestPair,
  type EsTestPair,
} from './helpers/es';

const pairInput = { pair: ES_TEST_PAIR };
const gra = { ...pairInput, site: 'gra' };
const WRITE_BLOCKED = (index: string) => `index [${index}] blocked by: [FORBIDDEN/8/index write (api)];`;

/** Loses the answer of the next add-block or remove-block request after it took effect. */
class LosingCluster extends EsCluster {
  lose: 'add' | 'remove' | undefined;
  readonly calls = { add: 0, remove: 0 };

  override async addWriteBlock(index: string) {
    this.calls.add++;
    const result = await super.addWriteBlock(index);
    this.maybeLose('add');
    return result;
  }

  override async removeWriteBlock(index: string) {
    this.calls.remove++;
    await super.removeWriteBlock(index);
    this.maybeLose('remove');
  }

  private maybeLose(call: 'add' | 'remove'): void {
    if (this.lose !== call) return;
    this.lose = undefined;
    throw new errors.ConnectionError(`simulated connection loss right after the ${call}-block request`);
  }
}

describe.each([8, 9] as const)('Elasticsearch write fence against Elasticsearch %i', (esVersion) => {
  let t: EsTestPair;
  let graCluster: LosingCluster | undefined;
  const env = esActivityEnv();
  const act = () => t.activities;

  beforeEach(async () => {
    graCluster = undefined;
    t = await startEsTestPair({
      esVersion,
      autoFollowPatterns: ['logs-from-gra'],
      clusterFactory: (args) => {
        const cluster = new LosingCluster(...args);
        if (args[1] === 'gra') graCluster = cluster;
        return cluster;
      },
    });
    await t.followed(['orders', 'customers'], 3);
    await t.rbx.ccr.putAutoFollowPattern({
      name: 'logs-from-gra',
      remote_cluster: 'gra',
      leader_index_patterns: ['logs-*'],
      follow_index_pattern: '{{leader_index}}',
    });
    await t.gra.indices.create({
      index: 'logs-app',
      settings: { number_of_shards: 2, number_of_replicas: 0 },
    });
    await t.gra.indices.create({ index: 'unrelated', settings: { number_of_replicas: 0 } });
  });
  afterEach(async () => t.stop());

  const blocked = async (index: string) => {
    const settings = await t.gra.indices.getSettings({ index, flat_settings: true });
    return (settings[index]?.settings as Record<string, unknown>)['index.blocks.write'];
  };

  it('fences the followed and auto-followed leader indices; again changes nothing; unfencing lifts it', async () => {
    const fenced = await runIn(env, act().esFenceWrites, gra);
    expect(fenced).toEqual({
      site: 'gra',
      indices: [
        { index: 'orders', outcome: 'fenced' },
        { index: 'customers', outcome: 'fenced' },
        { index: 'logs-app', outcome: 'fenced' },
      ],
      steps: [
        'gra: PUT orders/_block/write',
        'gra: PUT customers/_block/write',
        'gra: PUT logs-app/_block/write',
      ],
      description:
        'gra: orders, customers, logs-app refuse writes now (index.blocks.write; added on orders, customers, logs-app).',
    });
    expect(await blocked('orders')).toBe('true');
    expect(await blocked('unrelated')).toBeUndefined();
    await expectEsError(t.gra.index({ index: 'orders', id: 'x', document: { n: 1 } }), {
      status: 403,
      type: 'cluster_block_exception',
      reason: WRITE_BLOCKED('orders'),
    });
    const status = await runIn(env, act().esWriteBlockStatus, gra);
    expect(status).toMatchObject({
      fenced: true,
      blocked: ['orders', 'customers', 'logs-app'],
      unblocked: [],
      missing: [],
      description: 'gra: orders, customers, logs-app refuse writes (write block): the site is fenced.',
    });

    const again = await runIn(env, act().esFenceWrites, gra);
    expect(again.indices.map((i) => i.outcome)).toEqual([
      'already-fenced',
      'already-fenced',
      'already-fenced',
    ]);
    expect(again.steps).toEqual([]);
    expect(again.description).toBe(
      'gra: orders, customers, logs-app already refused writes (index.blocks.write).',
    );

    const lifted = await runIn(env, act().esUnfenceWrites, gra);
    expect(lifted.indices.map((i) => i.outcome)).toEqual(['unfenced', 'unfenced', 'unfenced']);
    expect(lifted.steps).toEqual([
      'gra: PUT orders/_settings {"index.blocks.write": null}',
      'gra: PUT customers/_settings {"index.blocks.write": null}',
      'gra: PUT logs-app/_settings {"index.blocks.write": null}',
    ]);
    expect(await blocked('orders')).toBeUndefined();
    expect((await t.gra.index({ index: 'orders', id: 'x', document: { n: 1 } })).result).toBe('created');
    const liftedAgain = await runIn(env, act().esUnfenceWrites, gra);
    expect(liftedAgain.indices.map((i) => i.outcome)).toEqual([
      'already-unfenced',
      'already-unfenced',
      'already-unfenced',
    ]);
    expect(liftedAgain.steps).toEqual([]);
    expect((await runIn(env, act().esWriteBlockStatus, gra)).description).toBe(
      'gra: orders, customers, logs-app take writes: the site is not fenced.',
    );
  });

  it('finishes a fence, and an unfence, whose answer was lost, without doing anything twice', async () => {
    const orders = { ...gra, indices: ['orders'] };
    await runIn(env, act().esWriteBlockStatus, orders); // creates gra's cluster object
    graCluster!.lose = 'add';
    const lost = await failureOf(runIn(env, act().esFenceWrites, orders));
    expect(lost).toMatchObject({ type: 'EsUnreachable', nonRetryable: false });
    expect(await blocked('orders')).toBe('true');
    const retried = await runIn(env, act().esFenceWrites, orders);
    // The retry asks for the block again (that confirms the shards account for it) and finds nothing to add.
    expect(retried).toMatchObject({ indices: [{ index: 'orders', outcome: 'already-fenced' }], steps: [] });
    expect(graCluster!.calls.add).toBe(2);
    expect((await runIn(env, act().esWriteBlockStatus, orders)).fenced).toBe(true);

    graCluster!.lose = 'remove';
    const lostUnfence = await failureOf(runIn(env, act().esUnfenceWrites, orders));
    expect(lostUnfence).toMatchObject({ type: 'EsUnreachable', nonRetryable: false });
    expect(await blocked('orders')).toBeUndefined();
    const unfenced = await runIn(env, act().esUnfenceWrites, orders);
    expect(unfenced).toMatchObject({
      indices: [{ index: 'orders', outcome: 'already-unfenced' }],
      steps: [],
    });
    expect(graCluster!.calls.remove).toBe(1);
  });

  it('names a missing index: the fence fails for it (fencing the others), the rollback and the status report it', async () => {
    const input = { ...gra, indices: ['orders', 'gone'] };
    const failure = await failureOf(runIn(env, act().esFenceWrites, input));
    expect(failure).toMatchObject({ type: 'EsIndexNotFound', nonRetryable: true });
    expect(failure.message).toBe(
      'gra: fence writes gone: no such index, so it cannot carry a write block (a client write would create it unblocked)',
    );
    expect(await blocked('orders')).toBe('true');
    const status = await runIn(env, act().esWriteBlockStatus, input);
    expect(status).toMatchObject({ fenced: false, blocked: ['orders'], missing: ['gone'] });
    expect(status.description).toBe(
      'gra: orders refuses writes (write block); gone does not exist: the site is partly fenced.',
    );
    const lifted = await runIn(env, act().esUnfenceWrites, input);
    expect(lifted.indices).toEqual([
      { index: 'orders', outcome: 'unfenced' },
      { index: 'gone', outcome: 'missing' },
    ]);
    expect(lifted.description).toBe(
      'gra: orders takes writes again (write block removed from orders); gone does not exist.',
    );
  });

  it('fails retryably while the site is unreachable, and refuses an input without a site', async () => {
    await t.emulator.faults.setClusterDown('gra', true);
    const down = await failureOf(runIn(env, act().esFenceWrites, { ...gra, indices: ['orders'] }));
    expect(down).toMatchObject({ type: 'EsUnreachable', nonRetryable: false });
    await t.emulator.faults.setClusterDown('gra', false);
    await waitFor('gra to answer again', async () => (await t.gra.ping()) === true);
    const invalid = await failureOf(runIn(env, act().esFenceWrites, pairInput as never));
    expect(invalid).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(invalid.message).toMatch(/^esFenceWrites: invalid input: site: /);
  });
});
