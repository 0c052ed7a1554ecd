/**
 * Elasticsearch 8.x and 9.x: the REST compatibility headers. The 9.x client's own headers (`compatible-with=9`) are
 * refused by an 8.x server the way a real one refuses them; the activities' transport speaks each cluster's major.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, errors } from '@elastic/elasticsearch';
import { afterEach, describe, expect, it } from 'vitest';
import { startEsEmulator, type RunningEsEmulator } from '../dev/es-emulator/emulator';
import { versionedTransport } from '../activities/elasticsearch/transport';
import { ES_TEST_PAIR, esActivityEnv, failureOf, runIn, startEsTestPair } from './helpers/es';

/** What an 8.x server answers to the 9.x client's headers on a request with a body (issue elasticsearch-js#2909). */
const ES8_REFUSAL = {
  error: {
    root_cause: [
      {
        type: 'media_type_header_exception',
        reason: 'Invalid media-type value on headers [Content-Type, Accept]',
      },
    ],
    type: 'media_type_header_exception',
    reason: 'Invalid media-type value on headers [Content-Type, Accept]',
    caused_by: {
      type: 'status_exception',
      reason:
        'Accept version must be either version 8 or 7, but found 9. Accept=application/vnd.elasticsearch+json; compatible-with=9',
    },
  },
  status: 400,
};

async function rejection(call: Promise<unknown>): Promise<errors.ResponseError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(errors.ResponseError);
  return error as errors.ResponseError;
}

describe('Elasticsearch REST compatibility', () => {
  let emulator: RunningEsEmulator | undefined;
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await emulator?.stop();
    emulator = undefined;
  });
  const client = (c: Client) => (clients.push(c), c);

  async function emulated(version: 8 | 9): Promise<string> {
    emulator = await startEsEmulator({ clusters: [{ name: 'es', version }] });
    return emulator.cluster('es').url;
  }

  it("the 9.x client's default headers fail against an 8.x cluster with media_type_header_exception", async () => {
    const es = client(new Client({ node: await emulated(8), maxRetries: 0 }));
    const refused = await rejection(
      es.indices.create({ index: 'orders', settings: { number_of_shards: 1 } }),
    );
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toEqual(ES8_REFUSAL);
    // A body-less request passes: its Accept lists two media types, which Elasticsearch reads as a range and ignores.
    expect((await es.info()).version.number).toMatch(/^8\./);
  });

  it('an 8.x cluster accepts compatible-with 7 and 8, a 9.x cluster 8 and 9, and both plain application/json', async () => {
    const send = async (version: 8 | 9, compatibleWith: number | undefined) => {
      const url = await emulated(version);
      const type =
        compatibleWith === undefined
          ? 'application/json'
          : `application/vnd.elasticsearch+json; compatible-with=${compatibleWith}`;
      const answer = await fetch(`${url}/_cluster/settings`, {
        method: 'PUT',
        headers: { accept: type, 'content-type': type },
        body: JSON.stringify({ persistent: {} }),
      });
      const body = (await answer.json()) as { error?: { caused_by?: { reason?: string } } };
      await emulator?.stop();
      return { status: answer.status, reason: body.error?.caused_by?.reason };
    };
    for (const [version, accepted, refused] of [
      [8, [7, 8, undefined], [9, 6]],
      [9, [8, 9, undefined], [10, 7]],
    ] as const) {
      for (const n of accepted)
        expect(await send(version, n), `${version} takes ${n}`).toEqual({ status: 200 });
      for (const n of refused) {
        expect(await send(version, n)).toEqual({
          status: 400,
          reason: `Accept version must be either version ${version} or ${version - 1}, but found ${n}. Accept=application/vnd.elasticsearch+json; compatible-with=${n}`,
        });
      }
    }
  });

  it('refuses Accept and Content-Type that disagree, or a compatible version on one header only', async () => {
    const url = await emulated(9);
    const put = (accept: string, contentType: string) =>
      fetch(`${url}/_cluster/settings`, {
        method: 'PUT',
        headers: { accept, 'content-type': contentType },
        body: '{"persistent":{}}',
      }).then(async (r) => ({
        status: r.status,
        reason: ((await r.json()) as { error?: { caused_by?: { reason?: string } } }).error?.caused_by
          ?.reason,
      }));
    const v = (n: number) => `application/vnd.elasticsearch+json; compatible-with=${n}`;
    expect(await put(v(8), v(9))).toEqual({
      status: 400,
      reason: `A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match. Accept=${v(8)}, Content-Type=${v(9)}`,
    });
    expect(await put(v(9), 'application/json')).toEqual({
      status: 400,
      reason: `A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version. Accept=${v(9)}, Content-Type=application/json`,
    });
  });

  it.each([8, 9] as const)(
    'the activities’ transport reads the version once from GET / and works against %i.x, bulk included',
    async (version) => {
      const es = client(
        new Client({
          node: await emulated(version),
          maxRetries: 0,
          Transport: versionedTransport({ site: 'es', field: 'elasticsearch.clusters[0]' }),
        }),
      );
      await es.indices.create({ index: 'orders', settings: { number_of_shards: 1 } });
      const bulk = await es.bulk({
        refresh: true,
        operations: [{ index: { _index: 'orders', _id: '1' } }, { n: 1 }],
      });
      expect(bulk.errors).toBe(false);
      expect((await es.count({ index: 'orders' })).count).toBe(1);
    },
  );

  it('sends GET / as plain JSON, then compatible-with=8 to an 8.x cluster (x-ndjson for bulk)', async () => {
    const seen: { method?: string; url?: string; accept?: string; contentType?: string }[] = [];
    const server = http.createServer((req, res) => {
      seen.push({
        method: req.method,
        url: req.url,
        accept: req.headers.accept,
        contentType: req.headers['content-type'],
      });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end(
        JSON.stringify(req.url === '/' ? { version: { number: '8.12.1' } } : { errors: false, items: [] }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const es = client(
        new Client({
          node: `http://127.0.0.1:${port}`,
          maxRetries: 0,
          Transport: versionedTransport({ site: 'es', field: 'elasticsearch.clusters[0]' }),
        }),
      );
      await es.bulk({ operations: [{ index: { _index: 'orders' } }, { n: 1 }] });
      await es.bulk({ operations: [{ index: { _index: 'orders' } }, { n: 2 }] });
      const json8 = 'application/vnd.elasticsearch+json; compatible-with=8';
      expect(seen).toEqual([
        { method: 'GET', url: '/', accept: 'application/json', contentType: 'application/json' },
        {
          method: 'POST',
          url: '/_bulk',
          accept: json8,
          contentType: 'application/vnd.elasticsearch+x-ndjson; compatible-with=8',
        },
        {
          method: 'POST',
          url: '/_bulk',
          accept: json8,
          contentType: 'application/vnd.elasticsearch+x-ndjson; compatible-with=8',
        },
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses a cluster that is neither 8.x nor 9.x, naming the version and the runbook field', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end(JSON.stringify({ version: { number: '7.17.9' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const es = client(
        new Client({
          node: `http://127.0.0.1:${port}`,
          maxRetries: 0,
          Transport: versionedTransport({ site: 'gra', field: 'elasticsearch.clusters[0]' }),
        }),
      );
      const failure = await failureOf(es.cluster.health());
      expect(failure).toMatchObject({ type: 'EsVersionUnsupported', nonRetryable: true });
      expect(failure.message).toBe(
        'gra: the cluster runs Elasticsearch 7.17.9; only 8.x and 9.x are supported (elasticsearch.clusters[0].version)',
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a runbook that says 9 for an 8.x cluster fails non-retryably, naming Elasticsearch's refusal", async () => {
    const t = await startEsTestPair({ esVersion: 8, runbookVersion: 9 });
    try {
      const failure = await failureOf(
        runIn(esActivityEnv(), t.activities.esConfigureRemoteCluster, { pair: ES_TEST_PAIR, site: 'gra' }),
      );
      expect(failure).toMatchObject({ type: 'EsVersionUnsupported', nonRetryable: true });
      expect(failure.message).toMatch(
        /media_type_header_exception.*Accept version must be either version 8 or 7/,
      );
    } finally {
      await t.stop();
    }
  });

  it('a runbook that says 8 works against a 9.x cluster (Elasticsearch 9 accepts compatible-with=8)', async () => {
    const t = await startEsTestPair({ esVersion: 9, runbookVersion: 8 });
    try {
      const result = await runIn(esActivityEnv(), t.activities.esConfigureRemoteCluster, {
        pair: ES_TEST_PAIR,
        site: 'gra',
      });
      expect(result).toMatchObject({ changed: true, connected: true });
    } finally {
      await t.stop();
    }
  });
});
