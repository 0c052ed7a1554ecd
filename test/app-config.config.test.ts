/**
 * The runbook's `apps.hosts[].config` (how an app finds its database): each bad field refused with its path and why,
 * a good one accepted with its defaults, and what the workflow is told of it (no credentials, no template).
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createPairSettingsActivities } from '../activities/pair-settings';
import { RunbookRegistry } from '../activities/runbooks';
import { parseRunbook, RunbookError } from '../config/load';
import { TEST_APPROVER, TEST_APPROVER_LINE } from './helpers/approver';

const host = (name: string, site: string, config?: Record<string, unknown>) => ({
  name,
  site,
  ssh: { host: '10.0.0.9', user: 'deploy', privateKey: 'env:SSH_KEY', hostKey: TEST_APPROVER.publicKey },
  start: 'systemctl start app',
  stop: 'systemctl stop app',
  healthUrl: 'http://10.0.0.9:8080/health',
  ...(config ? { config } : {}),
});

const dns = (targets: Record<string, string>, subDomain = 'db-rbx') => ({
  kind: 'ovh-dns',
  ovh: { applicationKey: 'env:K', applicationSecret: 'env:S', consumerKey: 'env:C' },
  zone: 'example.test',
  subDomain,
  fieldType: 'A',
  targets,
});

function runbook(gra?: Record<string, unknown>, rbx?: Record<string, unknown>) {
  return {
    pair: 'test-pair',
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    mysql: {
      user: 'dr',
      password: 'env:DR_MYSQL_PASSWORD',
      replicationUser: 'repl',
      replicationPassword: 'env:DR_REPL',
      servers: [
        { name: 'db-gra-1', site: 'gra', host: '10.0.0.1', port: 3306, role: 'primary' },
        { name: 'db-rbx-1', site: 'rbx', host: '10.0.0.2', port: 3306, role: 'replica' },
        { name: 'db-rbx-2', site: 'rbx', host: '10.0.0.3', port: 3306, role: 'replica' },
      ],
    },
    apps: { hosts: [host('app-gra-1', 'gra', gra), host('app-rbx-1', 'rbx', rbx)] },
    approval: { approvers: [TEST_APPROVER_LINE] },
  };
}

function problems(doc: ReturnType<typeof runbook>): string[] {
  try {
    parseRunbook(stringify(doc), '/etc/dr/test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(RunbookError);
    return (err as RunbookError).problems;
  }
  throw new Error('the runbook was accepted');
}

describe('runbook: apps.hosts[].config', () => {
  it('accepts each kind, with the template defaults, and tells the workflow only its kind and what a step names', async () => {
    const doc = runbook(
      { kind: 'fixed', database: 'db-gra-1' },
      {
        kind: 'template',
        template: 'file:db.env.tmpl',
        path: '/etc/app/db.env',
        reload: 'systemctl reload app',
      },
    );
    const loaded = parseRunbook(stringify(doc), '/etc/dr/test.yaml');
    expect(loaded.runbook.apps?.hosts[1]?.config).toEqual({
      kind: 'template',
      template: 'file:db.env.tmpl',
      path: '/etc/app/db.env',
      reload: 'systemctl reload app',
      mode: '0640',
    });
    const settings = await createPairSettingsActivities({
      runbooks: new RunbookRegistry(new Map([['test-pair', loaded]])),
    }).pairSettings({ pair: 'test-pair' });
    expect(settings.apps).toEqual([
      { name: 'app-gra-1', site: 'gra', config: { kind: 'fixed', database: 'db-gra-1' } },
      { name: 'app-rbx-1', site: 'rbx', config: { kind: 'template', path: '/etc/app/db.env', reload: true } },
    ]);

    const withDns = parseRunbook(
      stringify(runbook(undefined, dns({ 'db-rbx-1': '10.0.0.2', 'db-rbx-2': '10.0.0.3' }))),
      '/etc/dr/test.yaml',
    );
    const dnsSettings = await createPairSettingsActivities({
      runbooks: new RunbookRegistry(new Map([['test-pair', withDns]])),
    }).pairSettings({ pair: 'test-pair' });
    // No config: as before the setting (nothing in the settings); no credentials of the record.
    expect(dnsSettings.apps).toEqual([
      { name: 'app-gra-1', site: 'gra' },
      { name: 'app-rbx-1', site: 'rbx', config: { kind: 'ovh-dns', record: 'db-rbx.example.test A' } },
    ]);
    expect(withDns.runbook.apps?.hosts[1]?.config).toMatchObject({ ttl: 60, refreshTimeout: '5m' });
  });

  it('refuses an unknown kind, a template that is not a file reference, a relative or quoted path, a bad mode', () => {
    expect(problems(runbook(undefined, { kind: 'consul' }))).toEqual([
      "apps.hosts[1].config.kind: Invalid discriminator value. Expected 'fixed' | 'template' | 'ovh-dns'",
    ]);
    expect(
      problems(
        runbook(undefined, { kind: 'template', template: '/etc/t.tmpl', path: 'db.env', mode: '999' }),
      ),
    ).toEqual([
      'apps.hosts[1].config.template: must be a file reference "file:PATH" naming the template',
      'apps.hosts[1].config.path: must be an absolute file path on the app host (no spaces, quotes, backslashes or "$")',
      'apps.hosts[1].config.mode: must be an octal file mode such as "0640"',
    ]);
    expect(
      problems(runbook(undefined, { kind: 'template', template: 'file:t', path: '/etc/app/$HOME db.env' })),
    ).toEqual([
      'apps.hosts[1].config.path: must be an absolute file path on the app host (no spaces, quotes, backslashes or "$")',
    ]);
  });

  it('refuses a fixed database or a DNS target that is no MySQL server, and targets missing a server of the site', () => {
    expect(problems(runbook(undefined, { kind: 'fixed', database: 'db-rbx-9' }))).toEqual([
      'apps.hosts[1].config.database: names unknown MySQL server "db-rbx-9" (known: db-gra-1, db-rbx-1, db-rbx-2)',
    ]);
    expect(problems(runbook(undefined, dns({ 'db-rbx-1': '10.0.0.2', 'db-rbx-7': '10.0.0.7' })))).toEqual([
      'apps.hosts[1].config.targets.db-rbx-7: names unknown MySQL server "db-rbx-7" (known: db-gra-1, db-rbx-1, db-rbx-2)',
      'apps.hosts[1].config.targets: must have a target for every MySQL server of site "rbx" (any may be promoted there): missing db-rbx-2',
    ]);
  });

  it('refuses one DNS record for the apps of both sites', () => {
    expect(
      problems(
        runbook(
          dns({ 'db-gra-1': '10.0.0.1' }, 'db'),
          dns({ 'db-rbx-1': '10.0.0.2', 'db-rbx-2': '10.0.0.3' }, 'db'),
        ),
      ),
    ).toEqual([
      "apps.hosts[1].config.subDomain: record a db.example.test is also the one of apps.hosts[0] of site \"gra\": each site's apps need a record of their own, or pointing the standby's apps at the promoted server would move the live site's too",
    ]);
  });
});
