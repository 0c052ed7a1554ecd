import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadRunbook, loadRunbooks, parseRunbook, RunbookError } from '../config/load';
import { durationMs } from '../config/duration';
import { createPairSettingsActivities } from '../activities/pair-settings';
import { RunbookRegistry } from '../activities/runbooks';
import { TEST_APPROVER_LINE } from './helpers/approver';

const RUNBOOKS = path.resolve(__dirname, '..', 'config', 'runbooks');

const minimal = () => ({
  pair: 'test-pair',
  sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
  mysql: {
    user: 'dr',
    password: 'env:DR_MYSQL_PASSWORD',
    replicationUser: 'repl',
    replicationPassword: 'file:/run/secrets/repl',
    servers: [
      { name: 'db-gra-1', site: 'gra', host: '10.0.0.1', port: 3306, role: 'primary' },
      { name: 'db-rbx-1', site: 'rbx', host: '10.0.0.2', port: 3306, role: 'replica' },
    ],
  },
  approval: { approvers: [TEST_APPROVER_LINE] } as Record<string, unknown>,
});

type Doc = ReturnType<typeof minimal> & Record<string, unknown>;

function problemsOf(mutate: (doc: Doc) => void): string[] {
  const doc = minimal() as Doc;
  mutate(doc);
  try {
    parseRunbook(stringify(doc), 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(RunbookError);
    return (err as RunbookError).problems;
  }
  throw new Error('the runbook was accepted');
}

describe('runbook validation', () => {
  it('accepts every shipped runbook (the production template is tested filled in: production-template.test.ts)', () => {
    const files = readdirSync(RUNBOOKS).filter(
      (f) => f.endsWith('.yaml') && f !== 'production-template.yaml',
    );
    expect(files).toEqual(expect.arrayContaining(['local.yaml', 'local-ovh-iplb.yaml', 'compose.yaml']));
    for (const file of files)
      expect(loadRunbook(path.join(RUNBOOKS, file)).runbook.pair).toMatch(/^[a-z0-9-]+$/);
  });

  it('fills safe defaults: approval required, probe hysteresis', () => {
    const { runbook } = parseRunbook(stringify(minimal()), 'test.yaml');
    expect(runbook.approval.policy).toBe('required');
    expect(runbook.approval.onTimeout).toBe('reject');
    expect(runbook.probes).toEqual({ interval: '5s', timeout: '2s', fall: 3, rise: 2 });
    expect(runbook.mysql.maxLagSeconds).toBe(10);
    expect(runbook.mysql.statementTimeout).toBe('30s');
    expect(runbook.mysql.tls).toBeUndefined();
  });

  it('reads approvers as allowed_signers lines, file references (read at run time) and, if allowed, bare names', () => {
    const doc = minimal() as Doc;
    doc.approval = { approvers: [TEST_APPROVER_LINE, 'file:approvers/allowed_signers'] };
    const { runbook } = parseRunbook(stringify(doc), 'test.yaml');
    expect(runbook.approval).toEqual({
      policy: 'required',
      approvers: [TEST_APPROVER_LINE, 'file:approvers/allowed_signers'],
      unsigned: 'refuse',
      signatureMaxAge: '10m',
      fourEyes: false,
      timeout: '30m',
      onTimeout: 'reject',
    });
    doc.approval = { approvers: ['oncall', TEST_APPROVER_LINE], unsigned: 'allow', fourEyes: true };
    expect(parseRunbook(stringify(doc), 'test.yaml').runbook.approval).toMatchObject({
      approvers: ['oncall', TEST_APPROVER_LINE],
      unsigned: 'allow',
      fourEyes: true,
    });
  });

  it('accepts TLS for the MySQL connections (CA file) and for replication (CA path on the servers)', () => {
    const doc = minimal() as Doc;
    Object.assign(doc.mysql, {
      tls: { ca: 'file:certs/mysql-ca.pem' },
      replicationTls: { ca: '/etc/mysql/ssl/ca.pem' },
    });
    const { runbook } = parseRunbook(stringify(doc), 'test.yaml');
    expect(runbook.mysql.tls).toEqual({ ca: 'file:certs/mysql-ca.pem' });
    expect(runbook.mysql.replicationTls).toEqual({ ca: '/etc/mysql/ssl/ca.pem' });
  });

  const dbSsh = {
    host: '10.0.0.1',
    user: 'dr',
    privateKey: 'file:/etc/dr/ssh.key',
    hostKey: 'file:/etc/dr/db-gra-1.pub',
  };
  const salvage = {
    binlogIndex: '/var/lib/mysql/mariadb-bin.index',
    keepDown: 'systemctl mask --runtime --now mariadb',
  };

  it("accepts a MySQL server's ssh and salvage sections (binlog salvage), with a salvage timeout", () => {
    const doc = minimal() as Doc;
    Object.assign(doc.mysql.servers[0]!, { ssh: dbSsh, salvage });
    const { runbook } = parseRunbook(stringify(doc), 'test.yaml');
    expect(runbook.mysql.servers[0]).toMatchObject({ ssh: { ...dbSsh, port: 22 }, salvage });
    expect(runbook.timeouts.salvage).toBe('2m');
  });

  const esSection = {
    clusters: [
      { site: 'gra', url: 'http://es-gra:9200', remoteAlias: 'rbx' },
      { site: 'rbx', url: 'http://es-rbx:9200', remoteAlias: 'gra' },
    ],
  };
  const pairSettingsOf = (doc: Doc) => {
    const loaded = parseRunbook(stringify(doc), 'test.yaml');
    const registry = new RunbookRegistry(new Map([[loaded.runbook.pair, loaded]]));
    return createPairSettingsActivities({ runbooks: registry }).pairSettings({ pair: loaded.runbook.pair });
  };

  it('detection: every system the runbook declares is critical unless detection.critical says otherwise', async () => {
    const doc = minimal() as Doc;
    doc.elasticsearch = esSection;
    expect((await pairSettingsOf(doc)).detection).toEqual({ critical: ['mysql', 'elasticsearch'] });
    doc.detection = { critical: ['mysql'] };
    expect((await pairSettingsOf(doc)).detection).toEqual({ critical: ['mysql'] });
  });

  it('fencing.watchFor: how long an unfenced old site is watched, 24 hours unless the runbook says', async () => {
    const doc = minimal() as Doc;
    expect((await pairSettingsOf(doc)).fencing).toEqual({ watchForMs: 86_400_000 });
    (doc as Record<string, unknown>).fencing = { watchFor: '90m' };
    expect((await pairSettingsOf(doc)).fencing).toEqual({ watchForMs: 5_400_000 });
  });

  const cases: [string, (d: Doc) => void, RegExp][] = [
    [
      'a watch of an unfenced old site that lasts no time',
      (d) => ((d as Record<string, unknown>).fencing = { watchFor: '0h' }),
      /^fencing\.watchFor: must be longer than 0/,
    ],
    [
      'a heartbeat timeout too short for a busy worker',
      (d) => ((d as Record<string, Record<string, unknown>>).timeouts = { heartbeat: '500ms' }),
      /^timeouts\.heartbeat: must be between 1s and 10m: /,
    ],
    [
      'a heartbeat timeout that would hold the fence window for long',
      (d) => ((d as Record<string, Record<string, unknown>>).timeouts = { heartbeat: '1h' }),
      /^timeouts\.heartbeat: must be between 1s and 10m: /,
    ],
    [
      'a watch of an unfenced old site that is not a duration',
      (d) => ((d as Record<string, unknown>).fencing = { watchFor: 'a day' }),
      /^fencing\.watchFor: must be a duration/,
    ],
    [
      'a critical system detection does not know',
      (d) => (d.detection = { critical: ['mysql', 'memcached'] }),
      /^detection\.critical\[1\]: /,
    ],
    [
      'a critical system the runbook does not declare',
      (d) => (d.detection = { critical: ['mysql', 'elasticsearch'] }),
      /^detection\.critical\[1\]: names "elasticsearch", which the runbook does not declare/,
    ],
    [
      'a critical system named twice',
      (d) => (d.detection = { critical: ['mysql', 'mysql'] }),
      /^detection\.critical\[1\]: names "mysql" twice/,
    ],
    [
      'no critical system',
      (d) => (d.detection = { critical: [] }),
      /^detection\.critical: must name at least one system/,
    ],
    [
      'a MySQL server with ssh but no salvage section',
      (d) => Object.assign(d.mysql.servers[0]!, { ssh: dbSsh }),
      /^mysql\.servers\[0\]\.salvage: is required with ssh/,
    ],
    [
      'a binlog index that is not an absolute path',
      (d) =>
        Object.assign(d.mysql.servers[0]!, { ssh: dbSsh, salvage: { ...salvage, binlogIndex: 'bin.index' } }),
      /^mysql\.servers\[0\]\.salvage\.binlogIndex: must be an absolute path/,
    ],
    ['a missing section', (d) => delete (d as Partial<Doc>).mysql, /^mysql: /],
    [
      'a port that is a string',
      (d) => ((d.mysql.servers[1] as Record<string, unknown>).port = '3306'),
      /^mysql\.servers\[1\]\.port: /,
    ],
    ['a port out of range', (d) => (d.mysql.servers[0]!.port = 70000), /^mysql\.servers\[0\]\.port: /],
    [
      'a plain-text password',
      (d) => (d.mysql.password = 'hunter2'),
      /^mysql\.password: must be a secret reference/,
    ],
    ['an unknown field', (d) => ((d.mysql as Record<string, unknown>).passwd = 'x'), /^mysql: .*passwd/],
    [
      'a MySQL CA given as a plain path',
      (d) => ((d.mysql as Record<string, unknown>).tls = { ca: '/etc/mysql/ca.pem' }),
      /^mysql\.tls\.ca: must be a file reference "file:PATH"/,
    ],
    [
      'a replication CA given as a relative path',
      (d) => ((d.mysql as Record<string, unknown>).replicationTls = { ca: 'ca.pem' }),
      /^mysql\.replicationTls\.ca: must be an absolute path on the database servers/,
    ],
    [
      'a MySQL statement timeout that is not a duration',
      (d) => ((d.mysql as Record<string, unknown>).statementTimeout = 30),
      /^mysql\.statementTimeout: /,
    ],
    ['two primaries', (d) => (d.mysql.servers[1]!.role = 'primary'), /^mysql\.servers: exactly one server/],
    [
      'the removed timeouts.run (a timeout that would kill a run mid-move)',
      (d) => ((d as Record<string, unknown>).timeouts = { run: '4h' }),
      /^timeouts\.run: is no longer supported: a timeout that kills a run mid-move would strand the pair/,
    ],
    [
      'duplicate server names',
      (d) => (d.mysql.servers[1]!.name = 'db-gra-1'),
      /^mysql\.servers\[1\]\.name: duplicate/,
    ],
    [
      'a server in an unknown site',
      (d) => (d.mysql.servers[1]!.site = 'sbg'),
      /^mysql\.servers\[1\]\.site: names unknown site "sbg"/,
    ],
    ['the same site twice', (d) => (d.sites.standby.name = 'gra'), /^sites\.standby\.name: must differ/],
    ['a bad pair name', (d) => (d.pair = 'Shop Prod'), /^pair: must be lower-case/],
    [
      'a bad duration',
      (d) => (d.probes = { interval: 'five seconds' }),
      /^probes\.interval: must be a duration/,
    ],
    ['a zero fall count', (d) => (d.probes = { fall: 0 }), /^probes\.fall: /],
    [
      'auto-after without delay',
      (d) => (d.approval = { policy: 'auto-after', approvers: ['a'] }),
      /^approval\.delay: is required/,
    ],
    [
      'no approvers, even with an automatic policy',
      (d) => (d.approval = { policy: 'auto', approvers: [] }),
      /^approval\.approvers: must list at least one approver, whatever the policy: past the point of no return/,
    ],
    [
      'no approval section',
      (d) => delete (d as Partial<Doc>).approval,
      /^approval: is required: list the approvers/,
    ],
    [
      'an approver named without a key, unsigned answers refused',
      (d) => (d.approval = { approvers: [TEST_APPROVER_LINE, 'oncall'] }),
      /^approval\.approvers\[1\]: "oncall" has no key: .* or set approval\.unsigned: allow/,
    ],
    [
      'an approver with an RSA key',
      (d) => (d.approval = { approvers: ['alice ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ alice@laptop'] }),
      /^approval\.approvers\[0\]: must be an allowed_signers line .*: the key type is "ssh-rsa": only ssh-ed25519 keys/,
    ],
    [
      'an approver line whose key is mistyped',
      (d) => (d.approval = { approvers: ['alice ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwPjxITxoKLD4v'] }),
      /^approval\.approvers\[0\]: .*the ssh-ed25519 key does not parse/,
    ],
    [
      'an approver line with an unquoted option',
      (d) =>
        (d.approval = {
          approvers: [`alice valid-before=20270101 ${TEST_APPROVER_LINE.split(' ').slice(2).join(' ')}`],
        }),
      /^approval\.approvers\[0\]: .*valid-before needs a value in double quotes/,
    ],
    [
      'an unsigned setting that is neither refuse nor allow',
      (d) => (d.approval = { approvers: [TEST_APPROVER_LINE], unsigned: 'yes' }),
      /^approval\.unsigned: /,
    ],
    [
      'a signature maximum age that is not a duration',
      (d) => (d.approval = { approvers: [TEST_APPROVER_LINE], signatureMaxAge: 600 }),
      /^approval\.signatureMaxAge: /,
    ],
    ['an unknown traffic provider', (d) => (d.traffic = { provider: 'route53' }), /^traffic\.provider: /],
    [
      'a HAProxy switch without a server for the standby',
      (d) =>
        (d.traffic = {
          provider: 'haproxy',
          socket: '/run/haproxy.sock',
          backend: 'app',
          servers: { gra: 'gra' },
        }),
      /^traffic\.servers: must have an entry for site "rbx"/,
    ],
    [
      'an OVH secret written in clear',
      (d) =>
        (d.traffic = {
          provider: 'ovh-dns',
          ovh: { applicationKey: 'AK', applicationSecret: 'env:S', consumerKey: 'env:C' },
          zone: 'example.com',
          subDomain: 'www',
          fieldType: 'A',
          targets: { gra: '1.2.3.4', rbx: '5.6.7.8' },
        }),
      /^traffic\.ovh\.applicationKey: must be a secret reference/,
    ],
    ...(() => {
      const cloudLb = (fields: Record<string, unknown>) => ({
        provider: 'ovh-cloud-lb',
        ovh: { applicationKey: 'env:AK', applicationSecret: 'env:S', consumerKey: 'env:C' },
        serviceName: '0123456789abcdef0123456789abcdef',
        regionName: 'GRA11',
        loadBalancerId: 'd0e6cdc9-f500-5d77-a157-1dac715113d7',
        listenerId: 'f33a1cd5-757f-5b09-afe4-43e52d01ffef',
        pools: { gra: '73399792-85d0-5bed-aa81-6b246ef26aa9', rbx: 'c5aa9f24-6916-5db0-ae95-97883d691d9b' },
        ...fields,
      });
      const cases: [string, (d: Doc) => void, RegExp][] = [
        [
          'a Public Cloud LB listener that is not an OpenStack ID',
          (d) => (d.traffic = cloudLb({ listenerId: 'app-http' })),
          /^traffic\.listenerId: must be an OpenStack ID/,
        ],
        [
          'a Public Cloud LB without a pool for the standby',
          (d) => (d.traffic = cloudLb({ pools: { gra: '73399792-85d0-5bed-aa81-6b246ef26aa9' } })),
          /^traffic\.pools: must have an entry for site "rbx"/,
        ],
        [
          'a Public Cloud LB with one pool for both sites',
          (d) =>
            (d.traffic = cloudLb({
              pools: {
                gra: '73399792-85d0-5bed-aa81-6b246ef26aa9',
                rbx: '73399792-85d0-5bed-aa81-6b246ef26aa9',
              },
            })),
          /^traffic\.pools\.rbx: is pool 73399792-85d0-5bed-aa81-6b246ef26aa9, already the pool of site "gra"/,
        ],
        [
          "a Public Cloud LB restore weight out of Octavia's range",
          (d) => (d.traffic = cloudLb({ restoreWeight: 0 })),
          /^traffic\.restoreWeight: /,
        ],
      ];
      return cases;
    })(),
    [
      'an SSH host without a pinned host key',
      (d) =>
        (d.apps = {
          hosts: [
            {
              name: 'app-1',
              site: 'rbx',
              ssh: { host: 'h', user: 'u', privateKey: 'file:/k', hostKey: 'anything' },
              start: 'systemctl start app',
              stop: 'systemctl stop app',
              healthUrl: 'http://h/health',
            },
          ],
        }),
      /^apps\.hosts\[0\]\.ssh\.hostKey: must be an OpenSSH public host key/,
    ],
    [
      'an Elasticsearch URL that is not http',
      (d) =>
        (d.elasticsearch = {
          clusters: [
            { site: 'gra', url: 'ftp://x', remoteAlias: 'rbx' },
            { site: 'rbx', url: 'http://y', remoteAlias: 'gra' },
          ],
        }),
      /^elasticsearch\.clusters\[0\]\.url: must be an http\(s\) URL/,
    ],
  ];

  it.each(cases)('rejects %s and names the field', (_label, mutate, expected) => {
    const problems = problemsOf(mutate);
    expect(
      problems.some((p) => expected.test(p)),
      `problems were:\n${problems.join('\n')}`,
    ).toBe(true);
  });

  it('reports every problem at once, not only the first', () => {
    const problems = problemsOf((d) => {
      d.mysql.servers[0]!.port = 0;
      d.mysql.password = 'clear';
    });
    expect(problems.length).toBeGreaterThanOrEqual(2);
  });

  it('reports YAML syntax errors and unreadable files clearly', () => {
    expect(() => parseRunbook('pair: [unclosed', 'broken.yaml')).toThrow(
      /broken\.yaml: invalid runbook[\s\S]*YAML syntax/,
    );
    expect(() => parseRunbook('pair: a\npair: b\n', 'dup.yaml')).toThrow(/YAML syntax/);
    expect(() => loadRunbook('/nonexistent/runbook.yaml')).toThrow(/cannot read file: ENOENT/);
  });

  it('refuses two runbooks for the same pair', () => {
    const local = path.join(RUNBOOKS, 'local.yaml');
    expect(() => loadRunbooks([local, local])).toThrow(/pair: "local" is already defined/);
  });

  it('converts durations', () => {
    expect(durationMs('500ms')).toBe(500);
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('5m')).toBe(300_000);
    expect(durationMs('1h')).toBe(3_600_000);
    expect(() => durationMs('5 minutes')).toThrow(/invalid duration/);
  });
});

describe('runbook validation: OVH credentials', () => {
  const dns = (ovh: Record<string, unknown>) => (d: Doc) =>
    (d.traffic = {
      provider: 'ovh-dns',
      ovh,
      zone: 'example.com',
      subDomain: 'www',
      fieldType: 'A',
      targets: { gra: '1.2.3.4', rbx: '5.6.7.8' },
    });
  const legacy = { applicationKey: 'env:AK', applicationSecret: 'env:AS', consumerKey: 'env:CK' };
  const oauth2 = { clientId: 'env:OVH_CLIENT_ID', clientSecret: 'file:/run/secrets/ovh-client-secret' };

  it('accepts an OAuth2 service account (clientId, clientSecret) as the second way to authenticate', () => {
    const doc = minimal() as Doc;
    dns(oauth2)(doc);
    const traffic = parseRunbook(stringify(doc), 'test.yaml').runbook.traffic;
    expect(traffic?.provider === 'ovh-dns' && traffic.ovh).toEqual({ endpoint: 'ovh-eu', ...oauth2 });
  });

  it.each([
    ['both kinds of credentials', { ...legacy, ...oauth2 }, /^traffic\.ovh\.clientId: .*not both/],
    [
      'no credentials',
      {},
      /^traffic\.ovh: needs either applicationKey, applicationSecret and consumerKey .* or clientId and clientSecret/,
    ],
    [
      'a client id without its secret',
      { clientId: 'env:ID' },
      /^traffic\.ovh\.clientSecret: is required with clientId/,
    ],
    [
      'an application secret without its key',
      { applicationSecret: 'env:AS', consumerKey: 'env:CK' },
      /^traffic\.ovh\.applicationKey: is required with/,
    ],
    [
      'a client secret written in clear',
      { clientId: 'env:ID', clientSecret: 's3cr3t' },
      /^traffic\.ovh\.clientSecret: must be a secret reference/,
    ],
    [
      'a service account on a host of its own without tokenUrl',
      { ...oauth2, host: 'localhost', port: 18443 },
      /^traffic\.ovh\.tokenUrl: is required for an OAuth2 service account with host/,
    ],
    [
      'a service account on an endpoint without OAuth2',
      { ...oauth2, endpoint: 'kimsufi-eu' },
      /^traffic\.ovh\.endpoint: .*OAuth2/,
    ],
    ['an unknown endpoint', { ...legacy, endpoint: 'ovh-mars' }, /^traffic\.ovh\.endpoint: /],
  ])('refuses %s, naming the field', (_label, ovh, expected) => {
    const problems = problemsOf(dns(ovh));
    expect(
      problems.some((p) => expected.test(p)),
      `problems were:\n${problems.join('\n')}`,
    ).toBe(true);
  });
});

describe('runbook validation: URLs never carry credentials', () => {
  const withApps = (healthUrl: string) => (d: Doc) =>
    (d.apps = {
      hosts: [
        {
          name: 'app-1',
          site: 'rbx',
          ssh: {
            host: 'h',
            user: 'u',
            privateKey: 'file:/k',
            hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI',
          },
          start: 'systemctl start app',
          stop: 'systemctl stop app',
          healthUrl,
        },
      ],
    });
  const haproxy = (entryUrl: string) => (d: Doc) =>
    (d.traffic = {
      provider: 'haproxy',
      socket: '/run/haproxy.sock',
      backend: 'app',
      servers: { gra: 'gra', rbx: 'rbx' },
      entryUrl,
    });
  const es = (url: string) => (d: Doc) =>
    (d.elasticsearch = {
      clusters: [
        { site: 'gra', url, remoteAlias: 'rbx' },
        { site: 'rbx', url: 'http://y:9200', remoteAlias: 'gra' },
      ],
    });
  const ovh = (ovh: Record<string, unknown>) => (d: Doc) =>
    (d.traffic = {
      provider: 'ovh-dns',
      ovh,
      zone: 'example.com',
      subDomain: 'www',
      fieldType: 'A',
      targets: { gra: '1.2.3.4', rbx: '5.6.7.8' },
    });
  const cases: [string, (d: Doc) => void, RegExp][] = [
    ['an app health URL', withApps('http://admin:hunter2@10.0.0.5/health'), /^apps\.hosts\[0\]\.healthUrl: /],
    ['a traffic entry URL', haproxy('https://probe:hunter2@shop.example.com/health'), /^traffic\.entryUrl: /],
    [
      'an Elasticsearch URL',
      es('https://elastic:hunter2@es-gra:9200'),
      /^elasticsearch\.clusters\[0\]\.url: /,
    ],
    ['a user name alone', es('https://elastic@es-gra:9200'), /^elasticsearch\.clusters\[0\]\.url: /],
    [
      'an OVH token URL',
      ovh({
        host: 'localhost',
        clientId: 'env:I',
        clientSecret: 'env:S',
        tokenUrl: 'https://a:hunter2@localhost/auth/',
      }),
      /^traffic\.ovh\.tokenUrl: /,
    ],
    [
      'an OVH host',
      ovh({
        host: 'a:hunter2@localhost',
        applicationKey: 'env:A',
        applicationSecret: 'env:B',
        consumerKey: 'env:C',
      }),
      /^traffic\.ovh\.host: /,
    ],
  ];
  it.each(cases)(
    'refuses credentials in %s, naming the field and not echoing them',
    (_label, mutate, field) => {
      const problems = problemsOf(mutate);
      const problem = problems.find((p) => field.test(p));
      expect(problem, `problems were:\n${problems.join('\n')}`).toMatch(/must not carry credentials/);
      expect(problems.join('\n')).not.toContain('hunter2');
    },
  );
});
