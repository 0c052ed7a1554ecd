/** The runbook's elasticsearch section: what the activities rely on is validated at load, naming the field. */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { desiredRemoteSettings } from '../activities/elasticsearch/control';
import { loadRunbook, parseRunbook, RunbookError } from '../config/load';
import { TEST_APPROVER_LINE } from './helpers/approver';

const runbook = (elasticsearch: Record<string, unknown>) => ({
  pair: 'es-config',
  sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
  elasticsearch,
  mysql: {
    user: 'dr',
    password: 'env:X',
    replicationUser: 'repl',
    replicationPassword: 'env:X',
    servers: [
      { name: 'db-gra-1', site: 'gra', host: '10.0.0.1', port: 3306, role: 'primary' },
      { name: 'db-rbx-1', site: 'rbx', host: '10.0.0.2', port: 3306, role: 'replica' },
    ],
  },
  approval: { approvers: [TEST_APPROVER_LINE] },
});

const gra = { site: 'gra', url: 'https://es-gra:9200', remoteAlias: 'rbx' };
const rbx = { site: 'rbx', url: 'https://es-rbx:9200', remoteAlias: 'gra' };

function problems(elasticsearch: Record<string, unknown>): string[] {
  try {
    parseRunbook(stringify(runbook(elasticsearch)), 'es.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(RunbookError);
    return (err as RunbookError).problems;
  }
  throw new Error('the runbook was accepted');
}

describe('elasticsearch runbook section', () => {
  it('takes a version (8 or 9) and a ca file reference per cluster, and names a bad one', () => {
    const { runbook: parsed } = parseRunbook(
      stringify(runbook({ clusters: [{ ...gra, version: 8, ca: 'file:ca.pem' }, rbx] })),
      'es.yaml',
    );
    expect(parsed.elasticsearch?.clusters[0]).toMatchObject({ version: 8, ca: 'file:ca.pem' });
    expect(problems({ clusters: [{ ...gra, version: 7, ca: '/etc/ca.pem' }, rbx] })).toEqual([
      'elasticsearch.clusters[0].version: must be 8 or 9',
      'elasticsearch.clusters[0].ca: must be a file reference "file:PATH" naming the CA certificate (PEM)',
    ]);
  });

  it('applies defaults: concurrency 8, request timeout 30s, sniff on <host>:9300', () => {
    const { runbook: parsed } = parseRunbook(stringify(runbook({ clusters: [gra, rbx] })), 'es.yaml');
    expect(parsed.elasticsearch).toMatchObject({
      promoteConcurrency: 8,
      requestTimeout: '30s',
      maxLagOperations: 1000,
    });
    expect(desiredRemoteSettings('gra', parsed.elasticsearch!.clusters[0]!)).toEqual({
      'cluster.remote.gra.mode': 'sniff',
      'cluster.remote.gra.seeds': ['es-gra:9300'],
    });
  });

  it('writes proxy-mode remote settings from the transport section', () => {
    const { runbook: parsed } = parseRunbook(
      stringify(
        runbook({
          clusters: [
            {
              ...gra,
              transport: { mode: 'proxy', address: 'gra.proxy:9400', serverName: 'es-gra.example.com' },
            },
            rbx,
          ],
        }),
      ),
      'es.yaml',
    );
    expect(desiredRemoteSettings('gra', parsed.elasticsearch!.clusters[0]!)).toEqual({
      'cluster.remote.gra.mode': 'proxy',
      'cluster.remote.gra.proxy_address': 'gra.proxy:9400',
      'cluster.remote.gra.server_name': 'es-gra.example.com',
    });
  });

  it('names a bad transport address, a duplicate site and a concurrency out of range', () => {
    expect(problems({ clusters: [{ ...gra, transport: { address: 'no-port' } }, rbx] })).toEqual([
      'elasticsearch.clusters[0].transport.address: must be "host:port"',
    ]);
    expect(problems({ clusters: [gra, { ...rbx, site: 'gra' }] })).toEqual([
      'elasticsearch.clusters[1].site: duplicate site "gra"',
    ]);
    expect(problems({ clusters: [gra, rbx], promoteConcurrency: 0 })[0]).toMatch(
      /^elasticsearch\.promoteConcurrency: /,
    );
    expect(problems({ clusters: [gra, rbx], apiKey: 'x' })[0]).toMatch(/^elasticsearch: Unrecognized key/);
  });

  it('refuses an API key or URL credentials sent over http:// to a remote host, naming the field', () => {
    expect(problems({ clusters: [{ ...gra, url: 'http://es-gra:9200', apiKey: 'env:K' }, rbx] })).toEqual([
      'elasticsearch.clusters[0].apiKey: would travel in clear over http://es-gra:9200: use an https:// url (http is accepted with credentials only for a loopback host)',
    ]);
    expect(problems({ clusters: [gra, { ...rbx, url: 'http://elastic:secret@es-rbx:9200' }] })).toEqual([
      'elasticsearch.clusters[1].url: must not carry credentials (user:password@): runbooks hold only secret references; give them to the field made for it',
    ]);
    const loopback = runbook({
      clusters: [
        { ...gra, url: 'http://127.0.0.1:9200', apiKey: 'env:K' },
        { ...rbx, apiKey: 'env:K' },
      ],
    });
    expect(parseRunbook(stringify(loopback), 'es.yaml').runbook.elasticsearch?.clusters[0]?.apiKey).toBe(
      'env:K',
    );
  });

  it('keeps the local stack runbook valid (http without a key)', () => {
    const { runbook: local } = loadRunbook('config/runbooks/local.yaml');
    expect(local.elasticsearch?.clusters.every((c) => c.url.startsWith('http://') && !c.apiKey)).toBe(true);
  });

  it('refuses follower index names that are not exact Elasticsearch index names', () => {
    const bad = ['logs-*', 'a,b', '_all', '-x', '+x', '_x', 'Orders', '..', 'a b', 'x'.repeat(256)];
    for (const name of bad) {
      const found = problems({ clusters: [gra, rbx], followerIndices: ['orders', name] });
      expect(found, name).toHaveLength(1);
      expect(found[0], name).toMatch(/^elasticsearch\.followerIndices\[1\]: must be an exact index name/);
    }
  });
});
