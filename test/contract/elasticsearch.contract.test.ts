/**
 * Black-box contract of the Elasticsearch APIs the orchestrator uses, checked with the real
 * @elastic/elasticsearch client. It runs against the in-process emulator by default, and the same
 * assertions run against two real clusters when ES_LEADER_URL and ES_FOLLOWER_URL are set (see es-target.ts).
 */
import type { Client } from '@elastic/elasticsearch';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createIndex,
  expectEsError,
  followerCheckpoints,
  IndexJanitor,
  refreshedCount,
  uniqueName,
  waitFor,
  waitForCheckpoint,
} from './es-helpers';
import { chooseTarget, type EsContractTarget } from './es-target';
import { defaultRoutingNumShards, shardIdFor } from '../../dev/es-emulator/routing';

const REMOTE = 'contract_leader';
const FOLLOWING_ENGINE_REJECTION =
  'a following engine does not accept operations without an assigned sequence number';
const choice = chooseTarget();
if (!choice.ok) console.log(`[contract] Elasticsearch contract suite skipped: ${choice.reason}`);

const runs: { name: string; open?: () => Promise<EsContractTarget> }[] = choice.ok
  ? choice.runs
  : [{ name: 'no target' }];

describe.skipIf(!choice.ok).each(runs)('Elasticsearch contract against $name', ({ open }) => {
  let target: EsContractTarget;
  let leader: Client;
  let follower: Client;
  const janitor = new IndexJanitor();

  beforeAll(async () => {
    if (!open) return;
    target = await open();
    console.log(`[contract] Elasticsearch contract suite runs against ${target.description}`);
    leader = target.leader;
    follower = target.follower;
    await follower.cluster.putSettings({
      persistent: { cluster: { remote: { [REMOTE]: { seeds: target.leaderRemoteSeeds } } } },
    });
    await waitFor(`remote cluster ${REMOTE} to connect`, async () => {
      const info = (await follower.cluster.remoteInfo()) as Record<string, { connected?: boolean }>;
      return info[REMOTE]?.connected === true;
    });
  });

  afterEach(() => janitor.cleanUp());

  afterAll(async () => {
    if (!target) return;
    await follower.cluster
      .putSettings({ persistent: { cluster: { remote: { [REMOTE]: { seeds: null } } } } })
      .catch(() => undefined);
    await target.close();
  });

  /** A leader index with `docs` documents and its follower, created with wait_for_active_shards=1. */
  async function followedIndex(
    label: string,
    docs = 0,
  ): Promise<{ leaderIndex: string; followerIndex: string }> {
    const leaderIndex = await createIndex(leader, janitor, uniqueName(label));
    for (let i = 0; i < docs; i++)
      await leader.index({ index: leaderIndex, id: `doc-${i}`, document: { n: i } });
    const followerIndex = janitor.track(follower, `${leaderIndex}-follower`);
    await follower.ccr.follow({
      index: followerIndex,
      remote_cluster: REMOTE,
      leader_index: leaderIndex,
      wait_for_active_shards: 1,
    });
    return { leaderIndex, followerIndex };
  }

  describe('transport basics', () => {
    it('identifies itself as Elasticsearch 8 or 9 and answers in the compatible-with media type the client asks for', async () => {
      const response = await leader.transport.request({ method: 'GET', path: '/' }, { meta: true });
      expect(response.statusCode).toBe(200);
      expect(response.headers['x-elastic-product']).toBe('Elasticsearch');
      const info = response.body as { version: { number: string }; tagline: string; cluster_name: string };
      const major = Number(info.version.number.split('.')[0]);
      expect([8, 9]).toContain(major);
      if (target.version !== undefined) expect(major).toBe(target.version);
      expect(response.headers['content-type']).toMatch(
        new RegExp(`^application/vnd\\.elasticsearch\\+json;\\s*compatible-with=${major}`),
      );
      expect(info.tagline).toBe('You Know, for Search');
    });

    it('answers a missing index with a complete index_not_found_exception body', async () => {
      const missing = uniqueName('missing');
      const body = await expectEsError(leader.get({ index: missing, id: '1' }), {
        status: 404,
        type: 'index_not_found_exception',
        reason: `no such index [${missing}]`,
      });
      expect(body.error.root_cause[0]).toMatchObject({ type: 'index_not_found_exception', index: missing });
      expect(body.error.index).toBe(missing);
      expect(body.error['resource.id']).toBe(missing);
    });

    it('refuses an index name longer than 255 bytes with invalid_index_name_exception', async () => {
      const name = `ct-${'é'.repeat(127)}`;
      await expectEsError(leader.indices.create({ index: name }), {
        status: 400,
        type: 'invalid_index_name_exception',
        reason: `Invalid index name [${name}], index name is too long, (257 > 255)`,
      });
    });

    it('refuses to create an index twice with resource_already_exists_exception', async () => {
      const index = await createIndex(leader, janitor, uniqueName('twice'));
      const body = await expectEsError(leader.indices.create({ index }), {
        status: 400,
        type: 'resource_already_exists_exception',
        reason: new RegExp(`^index \\[${index}/[^\\]]+\\] already exists$`),
      });
      expect(body.error.index).toBe(index);
    });
  });

  describe('cluster health', () => {
    it('reaches green for an index without replicas', async () => {
      const index = await createIndex(leader, janitor, uniqueName('green'));
      const health = await leader.cluster.health({ index, wait_for_status: 'green', timeout: '10s' });
      expect(health.status).toBe('green');
      expect(health.timed_out).toBe(false);
      expect(health.active_primary_shards).toBe(1);
    });

    it('answers 408 with timed_out and status red when the index does not exist', async () => {
      const response = await leader.cluster.health(
        { index: uniqueName('absent'), wait_for_status: 'yellow', timeout: '200ms' },
        { ignore: [408], meta: true },
      );
      expect(response.statusCode).toBe(408);
      expect(response.body.timed_out).toBe(true);
      expect(response.body.status).toBe('red');
    });

    it('times out with 408 and status yellow while replicas cannot be assigned', async () => {
      const index = janitor.track(leader, uniqueName('yellow'));
      await leader.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 20 } });
      const response = await leader.cluster.health(
        { index, wait_for_status: 'green', timeout: '300ms' },
        { ignore: [408], meta: true },
      );
      expect(response.statusCode).toBe(408);
      expect(response.body).toMatchObject({ status: 'yellow', timed_out: true });
      expect(response.body.unassigned_shards).toBeGreaterThan(0);
    });
  });

  describe('remote cluster settings', () => {
    it('stores the remote seeds in the persistent cluster settings', async () => {
      const settings = await follower.cluster.getSettings();
      const remote = (settings.persistent as { cluster?: { remote?: Record<string, { seeds?: string[] }> } })
        .cluster?.remote;
      expect(remote?.[REMOTE]?.seeds).toEqual(target.leaderRemoteSeeds);
    });

    it('reports the remote as connected in sniff mode', async () => {
      const info = (await follower.cluster.remoteInfo()) as unknown as Record<
        string,
        Record<string, unknown>
      >;
      expect(info[REMOTE]).toMatchObject({
        connected: true,
        mode: 'sniff',
        seeds: target.leaderRemoteSeeds,
      });
      expect(typeof info[REMOTE]?.skip_unavailable).toBe('boolean');
    });

    it('rejects a proxy address on a remote in sniff mode', async () => {
      const alias = `contract_bad_${Date.now().toString(36)}`;
      await expectEsError(
        follower.cluster.putSettings({
          persistent: { [`cluster.remote.${alias}.proxy_address`]: '127.0.0.1:9400' },
        }),
        { status: 400, type: 'illegal_argument_exception', reason: /cannot be used with the configured/ },
      );
    });
  });

  describe('index lifecycle', () => {
    it('creates, reports, reads settings of and deletes an index', async () => {
      const index = await createIndex(leader, janitor, uniqueName('life'));
      expect(await leader.indices.exists({ index })).toBe(true);
      const settings = await leader.indices.getSettings({ index });
      expect(settings[index]?.settings?.index?.number_of_replicas).toBe('0');
      expect(settings[index]?.settings?.index?.uuid).toEqual(expect.any(String));
      expect(await leader.indices.delete({ index })).toEqual({ acknowledged: true });
      expect(await leader.indices.exists({ index })).toBe(false);
      await expectEsError(leader.indices.delete({ index }), {
        status: 404,
        type: 'index_not_found_exception',
      });
    });

    it('closes and opens an index; a closed index refuses writes and searches', async () => {
      const index = await createIndex(leader, janitor, uniqueName('closed'));
      const closed = await leader.indices.close({ index });
      expect(closed).toMatchObject({
        acknowledged: true,
        shards_acknowledged: true,
        indices: { [index]: { closed: true } },
      });
      await expectEsError(leader.index({ index, document: { a: 1 } }), {
        status: 400,
        type: 'index_closed_exception',
        reason: 'closed',
      });
      await expectEsError(leader.search({ index }), { status: 400, type: 'index_closed_exception' });
      expect(await leader.indices.open({ index })).toEqual({
        acknowledged: true,
        shards_acknowledged: true,
      });
      const written = await leader.index({ index, document: { a: 1 } });
      expect(written.result).toBe('created');
    });

    it('lists open and closed indices with their status in _cat/indices (format=json)', async () => {
      const open = await createIndex(leader, janitor, uniqueName('cat-open'));
      const closed = await createIndex(leader, janitor, uniqueName('cat-closed'));
      await leader.indices.close({ index: closed });
      const rows = (await leader.cat.indices({
        index: [open, closed],
        h: 'index,status',
        format: 'json',
        expand_wildcards: 'all',
      })) as unknown as { index: string; status: string }[];
      expect([...rows].sort((a, b) => a.index.localeCompare(b.index))).toEqual(
        [
          { index: open, status: 'open' },
          { index: closed, status: 'close' },
        ].sort((a, b) => a.index.localeCompare(b.index)),
      );
      await expectEsError(leader.cat.indices({ index: uniqueName('cat-missing'), format: 'json' }), {
        status: 404,
        type: 'index_not_found_exception',
      });
    });
  });

  describe('documents and search', () => {
    it('assigns sequence numbers, versions and primary terms to writes', async () => {
      const index = await createIndex(leader, janitor, uniqueName('docs'));
      const first = await leader.index({ index, id: 'a', document: { user: 'kimchy' } }, { meta: true });
      expect(first.statusCode).toBe(201);
      expect(first.body).toMatchObject({
        _index: index,
        _id: 'a',
        result: 'created',
        _version: 1,
        _seq_no: 0,
        _primary_term: 1,
      });
      const second = await leader.index(
        { index, id: 'a', document: { user: 'kimchy', n: 2 } },
        { meta: true },
      );
      expect(second.statusCode).toBe(200);
      expect(second.body).toMatchObject({ result: 'updated', _version: 2, _seq_no: 1 });
      const doc = await leader.get({ index, id: 'a' });
      expect(doc).toMatchObject({
        found: true,
        _version: 2,
        _seq_no: 1,
        _primary_term: 1,
        _source: { user: 'kimchy', n: 2 },
      });
      const missing = await leader.get({ index, id: 'nope' }, { ignore: [404], meta: true });
      expect(missing.statusCode).toBe(404);
      expect(missing.body).toMatchObject({ _index: index, _id: 'nope', found: false });
      const deleted = await leader.delete({ index, id: 'a' });
      expect(deleted).toMatchObject({ result: 'deleted', _seq_no: 2, _version: 3 });
    });

    it('reports per-item results of a bulk request, including conflicts', async () => {
      const index = await createIndex(leader, janitor, uniqueName('bulk'));
      const ok = await leader.bulk({
        operations: [
          { index: { _index: index, _id: '1' } },
          { n: 1 },
          { create: { _index: index, _id: '2' } },
          { n: 2 },
        ],
      });
      expect(ok.errors).toBe(false);
      expect(ok.items.map((item) => Object.values(item)[0]?.status)).toEqual([201, 201]);
      const conflict = await leader.bulk({
        operations: [{ create: { _index: index, _id: '1' } }, { n: 3 }],
      });
      expect(conflict.errors).toBe(true);
      expect(conflict.items[0]?.create?.status).toBe(409);
      expect(conflict.items[0]?.create?.error?.type).toBe('version_conflict_engine_exception');
    });

    it('counts and searches refreshed documents with match_all and term queries', async () => {
      const index = await createIndex(leader, janitor, uniqueName('search'));
      await leader.bulk({
        operations: [
          { index: { _index: index, _id: '1' } },
          { user: 'kimchy', tag: 'blue' },
          { index: { _index: index, _id: '2' } },
          { user: 'bob', tag: 'green' },
        ],
      });
      const refreshed = await leader.indices.refresh({ index });
      expect(refreshed._shards?.failed).toBe(0);
      expect((await leader.count({ index })).count).toBe(2);
      const all = await leader.search({ index, query: { match_all: {} } });
      expect(all.hits.total).toEqual({ value: 2, relation: 'eq' });
      const term = await leader.search({ index, query: { term: { 'user.keyword': 'kimchy' } } });
      expect(term.hits.hits.map((hit) => hit._id)).toEqual(['1']);
      expect(term.hits.hits[0]?._source).toEqual({ user: 'kimchy', tag: 'blue' });
    });
  });

  describe('shards and routing', () => {
    /** An index with `shards` primary shards and no replica. */
    async function shardedIndex(label: string, shards: number): Promise<string> {
      const index = janitor.track(leader, uniqueName(label));
      await leader.indices.create({ index, settings: { number_of_shards: shards, number_of_replicas: 0 } });
      return index;
    }

    it('routes a document to floorMod(murmur3(_id), routing shards) / factor; sequence numbers count per shard', async () => {
      const index = await shardedIndex('routing', 3);
      const counts = [0, 0, 0];
      for (let i = 0; i < 12; i++) {
        const id = `doc-${i}`;
        const shard = shardIdFor(id, 3, defaultRoutingNumShards(3));
        const written = await leader.index({ index, id, document: { i } });
        expect(written._seq_no, `${id} on shard ${shard}`).toBe(counts[shard]);
        expect(written._shards).toEqual({ total: 1, successful: 1, failed: 0 });
        counts[shard]! += 1;
      }
      expect(counts.every((n) => n > 0)).toBe(true);
      expect(await refreshedCount(leader, index)).toBe(12);
      const settings = await leader.indices.getSettings({ index });
      expect(settings[index]?.settings?.index?.number_of_shards).toBe('3');
    });

    it('refuses to change number_of_shards of a closed index: the setting is final', async () => {
      const index = await shardedIndex('final', 2);
      await leader.indices.close({ index });
      await expectEsError(leader.indices.putSettings({ index, settings: { number_of_shards: 3 } }), {
        status: 400,
        type: 'illegal_argument_exception',
        reason: 'final index setting [index.number_of_shards], not updateable',
      });
    });

    it('follows every shard of a multi-shard leader, one shard follow task and stats entry per shard', async () => {
      const leaderIndex = await shardedIndex('sharded-leader', 3);
      for (let i = 0; i < 9; i++) await leader.index({ index: leaderIndex, id: `doc-${i}`, document: { i } });
      const followerIndex = janitor.track(follower, `${leaderIndex}-follower`);
      await follower.ccr.follow({
        index: followerIndex,
        remote_cluster: REMOTE,
        leader_index: leaderIndex,
        wait_for_active_shards: 1,
      });
      await leader.index({ index: leaderIndex, id: 'doc-after', document: { after: true } });
      await waitFor('the follower to hold the 10 documents', async () =>
        (await refreshedCount(follower, followerIndex)) === 10 ? true : undefined,
      );
      const stats = await waitFor('every shard of the follower to report caught up', async () => {
        const found = (await follower.ccr.followStats({ index: followerIndex })).indices[0];
        const caughtUp = found?.shards.every(
          (s) => s.follower_global_checkpoint === s.leader_global_checkpoint,
        );
        return found && caughtUp ? found : undefined;
      });
      expect(stats.shards.map((s) => s.shard_id).sort()).toEqual([0, 1, 2]);
      const lag = (stats as unknown as { total_global_checkpoint_lag: number }).total_global_checkpoint_lag;
      expect(lag).toBe(0);
      // Sequence numbers count per shard: the checkpoints add up to the documents minus one per shard.
      expect(stats.shards.reduce((sum, s) => sum + s.follower_global_checkpoint + 1, 0)).toBe(10);
    });
  });

  describe('paging with search_after and a point in time', () => {
    /** A 3-shard index holding doc-0 … doc-(n-1), refreshed. */
    async function shardedWithDocs(label: string, docs: number): Promise<string> {
      const index = janitor.track(leader, uniqueName(label));
      await leader.indices.create({ index, settings: { number_of_shards: 3, number_of_replicas: 0 } });
      for (let i = 0; i < docs; i++) await leader.index({ index, id: `doc-${i}`, document: { n: i % 2 } });
      await leader.indices.refresh({ index });
      return index;
    }

    it('skips the tied hits of other shards when search_after pages on _seq_no (not unique across shards)', async () => {
      const index = await shardedWithDocs('seqno-paging', 9);
      const seen: string[] = [];
      let searchAfter: unknown[] | undefined;
      for (;;) {
        const page = await leader.search({
          index,
          size: 1,
          sort: [{ _seq_no: 'asc' }],
          ...(searchAfter ? { search_after: searchAfter as never } : {}),
        });
        const hit = page.hits.hits[0];
        if (!hit) break;
        seen.push(hit._id!);
        searchAfter = hit.sort as unknown[];
      }
      const perShard = [0, 1, 2].map(
        (shard) =>
          Array.from({ length: 9 }, (_, i) => `doc-${i}`).filter(
            (id) => shardIdFor(id, 3, defaultRoutingNumShards(3)) === shard,
          ).length,
      );
      // One hit per distinct sequence number: the largest shard's count, not the 9 documents.
      expect(seen).toHaveLength(Math.max(...perShard));
      expect(seen.length).toBeLessThan(9);
    });

    it('pages every document of its opening exactly once with _shard_doc, whatever is written meanwhile', async () => {
      const index = await shardedWithDocs('pit', 9);
      const opened = await leader.openPointInTime({ index, keep_alive: '1m' });
      expect(opened.id).toMatch(/^[A-Za-z0-9_-]+=*$/);
      expect(opened._shards).toMatchObject({ total: 3, successful: 3, failed: 0 });
      await leader.index({ index, id: 'after-open', document: { n: 1 }, refresh: true });
      const seen: string[] = [];
      let searchAfter: unknown[] | undefined;
      for (;;) {
        const page = await leader.search({
          size: 2,
          pit: { id: opened.id, keep_alive: '1m' },
          sort: [{ _shard_doc: 'asc' }],
          ...(searchAfter ? { search_after: searchAfter as never } : {}),
        });
        expect(page.pit_id).toEqual(expect.any(String));
        if (page.hits.hits.length === 0) break;
        for (const hit of page.hits.hits) {
          expect(hit._index).toBe(index);
          expect(hit.sort).toEqual([expect.any(Number)]);
          seen.push(hit._id!);
        }
        searchAfter = page.hits.hits.at(-1)!.sort as unknown[];
      }
      expect(seen.sort()).toEqual(Array.from({ length: 9 }, (_, i) => `doc-${i}`).sort());

      // Sorted on a field, a PIT search gets _shard_doc as the implicit last sort value.
      const byField = await leader.search({ size: 1, pit: { id: opened.id }, sort: [{ n: 'asc' }] });
      expect(byField.hits.hits[0]?.sort).toEqual([0, expect.any(Number)]);

      expect(await leader.closePointInTime({ id: opened.id })).toEqual({ succeeded: true, num_freed: 3 });
      const again = await leader.closePointInTime({ id: opened.id }, { ignore: [404], meta: true });
      expect(again.statusCode).toBe(404);
      expect(again.body).toEqual({ succeeded: false, num_freed: 0 });
      const body = await expectEsError(
        leader.search({ pit: { id: opened.id }, sort: [{ _shard_doc: 'asc' }] }),
        { status: 404, type: 'search_phase_execution_exception', reason: 'all shards failed' },
      );
      expect(body.error.root_cause[0]).toMatchObject({
        type: 'search_context_missing_exception',
        reason: expect.stringMatching(/^No search context found for id \[\d+\]$/),
      });
      expect(body.error.phase).toBe('query');
    });

    it('refuses an index with a PIT, _shard_doc without one, and a PIT without keep_alive', async () => {
      const index = await shardedWithDocs('pit-refusals', 1);
      const opened = await leader.openPointInTime({ index, keep_alive: '1m' });
      try {
        await expectEsError(leader.search({ index, pit: { id: opened.id } }), {
          status: 400,
          type: 'action_request_validation_exception',
          reason:
            'Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;',
        });
      } finally {
        await leader.closePointInTime({ id: opened.id });
      }
      await expectEsError(leader.search({ index, sort: [{ _shard_doc: 'asc' }] }), {
        status: 400,
        type: 'action_request_validation_exception',
        reason: 'Validation Failed: 1: [_shard_doc] sort field cannot be used without [point in time];',
      });
      await expectEsError(leader.transport.request({ method: 'POST', path: `/${index}/_pit` }), {
        status: 400,
        type: 'action_request_validation_exception',
        reason: 'Validation Failed: 1: [keep_alive] is not specified;',
      });
    });
  });

  describe('write block', () => {
    const WRITE_BLOCKED = (index: string) => `index [${index}] blocked by: [FORBIDDEN/8/index write (api)];`;

    async function blockSetting(index: string): Promise<unknown> {
      const settings = await leader.indices.getSettings({ index });
      return (settings[index]?.settings?.index as { blocks?: { write?: unknown } } | undefined)?.blocks
        ?.write;
    }

    it('refuses index, update, delete and bulk writes with cluster_block_exception 403 until unblocked', async () => {
      const index = await createIndex(leader, janitor, uniqueName('blocked'));
      const other = await createIndex(leader, janitor, uniqueName('unblocked'));
      await leader.index({ index, id: 'kept', document: { n: 1 }, refresh: true });

      expect(await leader.indices.addBlock({ index, block: 'write' })).toEqual({
        acknowledged: true,
        shards_acknowledged: true,
        indices: [{ name: index, blocked: true }],
      });
      expect(await blockSetting(index)).toBe('true');
      // Already blocked: nothing left to do, nothing to wait for.
      expect(await leader.indices.addBlock({ index, block: 'write' })).toEqual({
        acknowledged: true,
        shards_acknowledged: false,
        indices: [],
      });

      const refused = { status: 403, type: 'cluster_block_exception', reason: WRITE_BLOCKED(index) };
      const body = await expectEsError(leader.index({ index, id: 'new', document: { n: 2 } }), refused);
      expect(body.error.root_cause[0]).toEqual({
        type: 'cluster_block_exception',
        reason: WRITE_BLOCKED(index),
      });
      await expectEsError(leader.update({ index, id: 'kept', doc: { n: 3 } }), refused);
      await expectEsError(leader.delete({ index, id: 'kept' }), refused);
      const bulk = await leader.bulk({
        operations: [
          { index: { _index: index, _id: 'bulk-1' } },
          { n: 4 },
          { delete: { _index: index, _id: 'kept' } },
          { index: { _index: other, _id: 'bulk-2' } },
          { n: 5 },
        ],
      });
      expect(bulk.errors).toBe(true);
      expect(bulk.items[0]?.index).toMatchObject({
        _index: index,
        _id: 'bulk-1',
        status: 403,
        error: { type: 'cluster_block_exception', reason: WRITE_BLOCKED(index) },
      });
      expect(bulk.items[1]?.delete).toMatchObject({
        status: 403,
        error: { type: 'cluster_block_exception' },
      });
      expect(bulk.items[2]?.index).toMatchObject({ _index: other, status: 201 });
      // Reads go on.
      expect((await leader.search({ index })).hits.hits.map((hit) => hit._id)).toEqual(['kept']);

      await leader.indices.putSettings({ index, settings: { 'index.blocks.write': false } });
      expect(await blockSetting(index)).toBe('false');
      expect((await leader.index({ index, id: 'new', document: { n: 2 } })).result).toBe('created');

      await leader.indices.putSettings({ index, settings: { index: { blocks: { write: true } } } });
      expect(await blockSetting(index)).toBe('true');
      await expectEsError(leader.index({ index, id: 'again', document: { n: 6 } }), refused);
      await leader.indices.putSettings({ index, settings: { 'index.blocks.write': null } });
      expect(await blockSetting(index)).toBeUndefined();
      expect((await leader.index({ index, id: 'again', document: { n: 6 } })).result).toBe('created');
    });

    it('adds the block to a missing index with index_not_found_exception', async () => {
      const missing = uniqueName('no-block');
      await expectEsError(leader.indices.addBlock({ index: missing, block: 'write' }), {
        status: 404,
        type: 'index_not_found_exception',
        reason: `no such index [${missing}]`,
      });
    });
  });

  describe('following an index', () => {
    it('creates a follower with wait_for_active_shards and copies the leader documents', async () => {
      const leaderIndex = await createIndex(leader, janitor, uniqueName('follow'));
      await leader.index({ index: leaderIndex, id: '1', document: { n: 1 } });
      const followerIndex = janitor.track(follower, `${leaderIndex}-follower`);
      const response = await follower.ccr.follow({
        index: followerIndex,
        remote_cluster: REMOTE,
        leader_index: leaderIndex,
        wait_for_active_shards: 1,
      });
      expect(response).toEqual({
        follow_index_created: true,
        follow_index_shards_acked: true,
        index_following_started: true,
      });
      const info = await follower.ccr.followInfo({ index: followerIndex });
      expect(info.follower_indices).toHaveLength(1);
      expect(info.follower_indices[0]).toMatchObject({
        follower_index: followerIndex,
        remote_cluster: REMOTE,
        leader_index: leaderIndex,
        status: 'active',
        parameters: {
          max_read_request_operation_count: 5120,
          max_outstanding_read_requests: 12,
          max_retry_delay: '500ms',
          read_poll_timeout: '1m',
        },
      });
      await waitFor(
        'the follower to hold the leader document',
        async () => (await refreshedCount(follower, followerIndex)) === 1,
      );
      const settings = await follower.indices.getSettings({ index: followerIndex, flat_settings: true });
      expect(settings[followerIndex]?.settings?.['index.xpack.ccr.following_index']).toBe('true');
    });

    it('answers before the restore completes when wait_for_active_shards is not given', async () => {
      const leaderIndex = await createIndex(leader, janitor, uniqueName('nowait'));
      const followerIndex = janitor.track(follower, `${leaderIndex}-follower`);
      const response = await follower.ccr.follow({
        index: followerIndex,
        remote_cluster: REMOTE,
        leader_index: leaderIndex,
      });
      expect(response).toEqual({
        follow_index_created: true,
        follow_index_shards_acked: false,
        index_following_started: false,
      });
      await waitFor('the follower to become active', async () => {
        const info = await follower.ccr.followInfo({ index: followerIndex });
        return info.follower_indices[0]?.status === 'active';
      });
    });

    it('takes restore time: wait_for_active_shards 1 answers after the restore, 0 at once with the follower paused and red', async () => {
      // 12 documents of ~1 KB restored at 2 KB/s: several seconds on any cluster.
      const leaderIndex = await createIndex(leader, janitor, uniqueName('restore'));
      const payload = 'x'.repeat(1000);
      await leader.bulk({
        refresh: true,
        operations: Array.from({ length: 12 }, (_, i) => [
          { index: { _index: leaderIndex, _id: `doc-${i}` } },
          { n: i, payload },
        ]).flat(),
      });
      await follower.cluster.putSettings({
        persistent: { 'ccr.indices.recovery.max_bytes_per_sec': '2kb' },
      });
      try {
        const noWait = janitor.track(follower, `${leaderIndex}-nowait`);
        const started = Date.now();
        const immediate = await follower.ccr.follow({
          index: noWait,
          remote_cluster: REMOTE,
          leader_index: leaderIndex,
          wait_for_active_shards: 0,
        });
        expect(immediate).toEqual({
          follow_index_created: true,
          follow_index_shards_acked: false,
          index_following_started: false,
        });
        expect(Date.now() - started).toBeLessThan(2000);
        // The restored metadata already carries the CCR metadata; no shard follow task runs yet.
        expect((await follower.ccr.followInfo({ index: noWait })).follower_indices[0]?.status).toBe('paused');
        expect((await follower.cluster.health({ index: noWait })).status).toBe('red');
        await waitFor('the restored follower to become active', async () => {
          const info = await follower.ccr.followInfo({ index: noWait });
          return info.follower_indices[0]?.status === 'active';
        });
        expect(await refreshedCount(follower, noWait)).toBe(12);

        const waiting = janitor.track(follower, `${leaderIndex}-wait`);
        const before = Date.now();
        const waited = await follower.ccr.follow({
          index: waiting,
          remote_cluster: REMOTE,
          leader_index: leaderIndex,
          wait_for_active_shards: 1,
        });
        expect(waited).toEqual({
          follow_index_created: true,
          follow_index_shards_acked: true,
          index_following_started: true,
        });
        expect(Date.now() - before).toBeGreaterThanOrEqual(2000);
        expect((await follower.ccr.followInfo({ index: waiting })).follower_indices[0]?.status).toBe(
          'active',
        );
      } finally {
        await follower.cluster.putSettings({
          persistent: { 'ccr.indices.recovery.max_bytes_per_sec': null },
        });
      }
    });

    it('restores over a closed follower that was not paused, then fails to start following: its task survives', async () => {
      const { leaderIndex, followerIndex } = await followedIndex('closedactive', 1);
      await waitForCheckpoint(follower, followerIndex, 0);
      await follower.indices.close({ index: followerIndex });
      await leader.index({ index: leaderIndex, id: 'after-close', document: { n: 2 }, refresh: true });
      await expectEsError(
        follower.ccr.follow({
          index: followerIndex,
          remote_cluster: REMOTE,
          leader_index: leaderIndex,
          wait_for_active_shards: 1,
        }),
        {
          status: 400,
          type: 'resource_already_exists_exception',
          reason: /^task with id \{.+-0\} already exist$/,
        },
      );
      // The data was replaced all the same: the restore reopened the index with the leader's commit.
      expect(await refreshedCount(follower, followerIndex)).toBe(2);
    });

    it('restores over a closed follower once it is paused, and follows again', async () => {
      const { leaderIndex, followerIndex } = await followedIndex('closedpaused', 1);
      await waitForCheckpoint(follower, followerIndex, 0);
      await follower.ccr.pauseFollow({ index: followerIndex });
      await follower.indices.close({ index: followerIndex });
      await leader.index({ index: leaderIndex, id: 'after-close', document: { n: 2 }, refresh: true });
      const response = await follower.ccr.follow({
        index: followerIndex,
        remote_cluster: REMOTE,
        leader_index: leaderIndex,
        wait_for_active_shards: 1,
      });
      expect(response.index_following_started).toBe(true);
      await leader.index({ index: leaderIndex, id: 'after-refollow', document: { n: 3 } });
      await waitForCheckpoint(follower, followerIndex, 2);
      expect(await refreshedCount(follower, followerIndex)).toBe(3);
    });

    it('refuses writes to a follower index with a 403 status_exception, alone and in bulk', async () => {
      const { followerIndex } = await followedIndex('nowrite');
      await expectEsError(follower.index({ index: followerIndex, id: 'x', document: { a: 1 } }), {
        status: 403,
        type: 'status_exception',
        reason: FOLLOWING_ENGINE_REJECTION,
      });
      const bulk = await follower.bulk({
        operations: [{ index: { _index: followerIndex, _id: 'y' } }, { a: 1 }],
      });
      expect(bulk.errors).toBe(true);
      expect(bulk.items[0]?.index?.status).toBe(403);
      expect(bulk.items[0]?.index?.error).toMatchObject({
        type: 'status_exception',
        reason: FOLLOWING_ENGINE_REJECTION,
      });
    });

    it('cannot follow onto an existing open index (snapshot_restore_exception)', async () => {
      const leaderIndex = await createIndex(leader, janitor, uniqueName('occupied'));
      const existing = await createIndex(follower, janitor, `${leaderIndex}-follower`);
      await expectEsError(
        follower.ccr.follow({ index: existing, remote_cluster: REMOTE, leader_index: leaderIndex }),
        {
          status: 500,
          type: 'snapshot_restore_exception',
          reason: /because an open index with same name already exists in the cluster/,
        },
      );
    });

    it('reports a missing leader index, an unknown remote and a missing field', async () => {
      const missingLeader = uniqueName('noleader');
      const followerIndex = janitor.track(follower, uniqueName('orphan'));
      const body = await expectEsError(
        follower.ccr.follow({ index: followerIndex, remote_cluster: REMOTE, leader_index: missingLeader }),
        { status: 404, type: 'index_not_found_exception', reason: `no such index [${missingLeader}]` },
      );
      expect(body.error.index).toBe(missingLeader);
      await expectEsError(
        follower.ccr.follow({
          index: followerIndex,
          remote_cluster: 'contract_no_such_remote',
          leader_index: missingLeader,
        }),
        {
          status: 404,
          type: 'no_such_remote_cluster_exception',
          reason: 'no such remote cluster: [contract_no_such_remote]',
        },
      );
      await expectEsError(
        follower.transport.request({
          method: 'PUT',
          path: `/${followerIndex}/_ccr/follow`,
          body: { remote_cluster: REMOTE },
        }),
        { status: 400, type: 'action_request_validation_exception', reason: /leader_index\]? is missing/ },
      );
    });
  });

  describe('pause and resume', () => {
    it('pauses a follower, reports it paused, and catches up after resume', async () => {
      const { leaderIndex, followerIndex } = await followedIndex('pause', 2);
      await waitForCheckpoint(follower, followerIndex, 1);
      expect(await follower.ccr.pauseFollow({ index: followerIndex })).toEqual({ acknowledged: true });

      const paused = await follower.ccr.followInfo({ index: followerIndex });
      expect(paused.follower_indices[0]?.status).toBe('paused');
      expect(paused.follower_indices[0]?.parameters).toBeUndefined();
      await expectEsError(follower.ccr.followStats({ index: followerIndex }), {
        status: 404,
        type: 'resource_not_found_exception',
        reason: `No shard follow tasks for follower indices [${followerIndex}]`,
      });
      await expectEsError(follower.ccr.pauseFollow({ index: followerIndex }), {
        status: 400,
        type: 'illegal_argument_exception',
        reason: `no shard follow tasks for [${followerIndex}]`,
      });

      await leader.index({ index: leaderIndex, id: 'while-paused', document: { n: 99 } });
      expect(await follower.ccr.resumeFollow({ index: followerIndex })).toEqual({ acknowledged: true });
      await waitForCheckpoint(follower, followerIndex, 2);
      expect((await follower.get({ index: followerIndex, id: 'while-paused' }))._source).toEqual({ n: 99 });
      await expectEsError(follower.ccr.resumeFollow({ index: followerIndex }), {
        status: 400,
        type: 'resource_already_exists_exception',
        reason: /^task with id \{.+-0\} already exist$/,
      });
    });
  });

  describe('unfollow preconditions', () => {
    it('reports a missing index, a regular index, an open follower and a closed but active follower', async () => {
      const missing = uniqueName('gone');
      await expectEsError(follower.ccr.unfollow({ index: missing }), {
        status: 404,
        type: 'index_not_found_exception',
      });
      await expectEsError(follower.ccr.pauseFollow({ index: missing }), {
        status: 404,
        type: 'index_not_found_exception',
      });

      const regular = await createIndex(follower, janitor, uniqueName('regular'));
      await expectEsError(follower.ccr.unfollow({ index: regular }), {
        status: 400,
        type: 'illegal_argument_exception',
        reason: `index [${regular}] is not a follower index`,
      });
      await expectEsError(follower.ccr.pauseFollow({ index: regular }), {
        status: 400,
        type: 'illegal_argument_exception',
        reason: `index [${regular}] is not a follower index`,
      });
      expect((await follower.ccr.followInfo({ index: regular })).follower_indices).toEqual([]);

      const { followerIndex } = await followedIndex('preconditions');
      await expectEsError(follower.ccr.unfollow({ index: followerIndex }), {
        status: 400,
        type: 'illegal_argument_exception',
        reason: `cannot convert the follower index [${followerIndex}] to a non-follower, because it has not been closed`,
      });
      await follower.indices.close({ index: followerIndex });
      await expectEsError(follower.ccr.unfollow({ index: followerIndex }), {
        status: 400,
        type: 'illegal_argument_exception',
        reason: `cannot convert the follower index [${followerIndex}] to a non-follower, because it has not been paused`,
      });
    });
  });

  describe('promotion', () => {
    it('turns a follower into a writable index: pause, close, unfollow, open, write', async () => {
      const { followerIndex } = await followedIndex('promote', 3);
      await waitForCheckpoint(follower, followerIndex, 2);
      expect(await follower.ccr.pauseFollow({ index: followerIndex })).toEqual({ acknowledged: true });
      expect((await follower.indices.close({ index: followerIndex })).acknowledged).toBe(true);
      expect(await follower.ccr.unfollow({ index: followerIndex })).toEqual({ acknowledged: true });
      await expectEsError(follower.index({ index: followerIndex, document: { a: 1 } }), {
        status: 400,
        type: 'index_closed_exception',
      });
      expect((await follower.indices.open({ index: followerIndex })).acknowledged).toBe(true);

      const written = await follower.index(
        { index: followerIndex, id: 'after-promotion', document: { a: 1 } },
        { meta: true },
      );
      expect(written.statusCode).toBe(201);
      expect(written.body._seq_no).toBe(3);
      expect((await follower.ccr.followInfo({ index: followerIndex })).follower_indices).toEqual([]);
      const settings = await follower.indices.getSettings({ index: followerIndex, flat_settings: true });
      expect(settings[followerIndex]?.settings?.['index.xpack.ccr.following_index']).toBeUndefined();
      expect(await refreshedCount(follower, followerIndex)).toBe(4);
    });
  });

  describe('replication', () => {
    it('catches up with a burst of leader writes and deletes, with consistent checkpoints', async () => {
      const { leaderIndex, followerIndex } = await followedIndex('burst');
      const operations = Array.from({ length: 200 }, (_, i) => [
        { index: { _index: leaderIndex, _id: `d${i}` } },
        { n: i },
      ]).flat();
      const bulk = await leader.bulk({ operations });
      expect(bulk.errors).toBe(false);
      await leader.delete({ index: leaderIndex, id: 'd0' });
      await waitForCheckpoint(follower, followerIndex, 200);

      const { shard } = await followerCheckpoints(follower, followerIndex);
      expect(shard).toMatchObject({
        remote_cluster: REMOTE,
        leader_index: leaderIndex,
        follower_index: followerIndex,
        shard_id: 0,
        leader_max_seq_no: 200,
        follower_max_seq_no: 200,
        read_exceptions: [],
      });
      expect(shard.operations_written).toBe(201);
      expect(shard.fatal_exception).toBeUndefined();
      expect(typeof shard.time_since_last_read_millis).toBe('number');
      expect(await refreshedCount(follower, followerIndex)).toBe(199);

      const all = await follower.ccr.stats();
      expect(all.auto_follow_stats).toMatchObject({ recent_auto_follow_errors: expect.any(Array) });
      expect(all.follow_stats.indices.map((index) => index.index)).toContain(followerIndex);
    });
  });

  describe('auto-follow patterns', () => {
    it('follows leader indices created after the pattern, and manages the pattern', async () => {
      const prefix = uniqueName('af');
      const pattern = `${prefix}-pattern`;
      const before = await createIndex(leader, janitor, `${prefix}-before`);
      janitor.track(follower, `${before}-copy`);
      try {
        const put = await follower.ccr.putAutoFollowPattern({
          name: pattern,
          remote_cluster: REMOTE,
          leader_index_patterns: [`${prefix}-*`],
          follow_index_pattern: '{{leader_index}}-copy',
        });
        expect(put).toEqual({ acknowledged: true });
        const got = await follower.ccr.getAutoFollowPattern({ name: pattern });
        expect(got.patterns).toEqual([
          {
            name: pattern,
            pattern: expect.objectContaining({
              active: true,
              remote_cluster: REMOTE,
              leader_index_patterns: [`${prefix}-*`],
              follow_index_pattern: '{{leader_index}}-copy',
            }),
          },
        ]);

        const after = await createIndex(leader, janitor, `${prefix}-after`);
        await leader.index({ index: after, id: '1', document: { n: 1 } });
        const copy = janitor.track(follower, `${after}-copy`);
        await waitFor(`auto-follower ${copy}`, async () => {
          const info = await follower.ccr.followInfo({ index: copy });
          return info.follower_indices[0]?.leader_index === after;
        });
        await waitFor(`${copy} to replicate`, async () => (await refreshedCount(follower, copy)) === 1);
        expect(await follower.indices.exists({ index: `${before}-copy` })).toBe(false);
        const stats = await follower.ccr.stats();
        expect(stats.auto_follow_stats.number_of_successful_follow_indices).toBeGreaterThanOrEqual(1);

        await follower.ccr.pauseAutoFollowPattern({ name: pattern });
        expect((await follower.ccr.getAutoFollowPattern({ name: pattern })).patterns[0]?.pattern.active).toBe(
          false,
        );
        await follower.ccr.resumeAutoFollowPattern({ name: pattern });
        expect((await follower.ccr.getAutoFollowPattern({ name: pattern })).patterns[0]?.pattern.active).toBe(
          true,
        );
      } finally {
        await follower.ccr.deleteAutoFollowPattern({ name: pattern }, { ignore: [404] });
      }
      await expectEsError(follower.ccr.getAutoFollowPattern({ name: pattern }), {
        status: 404,
        type: 'resource_not_found_exception',
        reason: `auto-follow pattern [${pattern}] is missing`,
      });
      await expectEsError(follower.ccr.pauseAutoFollowPattern({ name: pattern }), {
        status: 404,
        type: 'resource_not_found_exception',
      });
    });
  });
});
