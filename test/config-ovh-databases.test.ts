/**
 * The runbook's ovhDatabases section: a valid one is accepted with safe defaults and reaches the pair settings (names
 * and regions, no credentials); every bad field is refused naming it; a runbook without the section has no
 * ovhDatabases in its settings and does not declare the system.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createPairSettingsActivities } from '../activities/pair-settings';
import { RunbookRegistry } from '../activities/runbooks';
import { parseRunbook, RunbookError } from '../config/load';
import { declaredSystems } from '../config/schema';
import { TEST_APPROVER_LINE } from './helpers/approver';

const CLUSTER = '5f0c7c2e-1d3a-4b8e-9f6a-2c4d5e6f7a8b';

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
  approval: { approvers: [TEST_APPROVER_LINE] },
});

const section = (service: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({
  ovh: {
    applicationKey: 'env:OVH_AK',
    applicationSecret: 'env:OVH_AS',
    consumerKey: 'env:OVH_CK',
  },
  passwordsDir: '/var/lib/drctl/db-passwords',
  services: [
    {
      name: 'app-db',
      engine: 'mysql',
      serviceName: 'abc123',
      clusterId: CLUSTER,
      drRegion: 'SBG',
      ...service,
    },
  ],
  ...rest,
});

const parse = (ovhDatabases?: unknown) =>
  parseRunbook(stringify({ ...minimal(), ...(ovhDatabases ? { ovhDatabases } : {}) }), 'test.yaml');

function problemsOf(ovhDatabases: unknown): string[] {
  try {
    parse(ovhDatabases);
  } catch (err) {
    expect(err).toBeInstanceOf(RunbookError);
    return (err as RunbookError).problems;
  }
  throw new Error('the runbook was accepted');
}

describe('runbook ovhDatabases section', () => {
  it('accepts a service with safe defaults, and the pair settings carry its names and regions, never credentials', async () => {
    const loaded = parse(section());
    expect(loaded.runbook.ovhDatabases?.services[0]).toMatchObject({
      users: [],
      ipRestrictions: [],
      readyTimeout: '12h',
      maxBackupAge: '26h',
    });
    expect(declaredSystems(loaded.runbook)).toContain('ovh-database');
    const settings = await createPairSettingsActivities({
      runbooks: new RunbookRegistry(new Map([['test-pair', loaded]])),
    }).pairSettings({ pair: 'test-pair' });
    expect(settings.ovhDatabases).toEqual([
      {
        name: 'app-db',
        engine: 'mysql',
        clusterId: CLUSTER,
        drRegion: 'SBG',
        users: [],
        ipRestrictions: [],
        readyTimeoutMs: 12 * 3_600_000,
      },
    ]);
    // Not a detection witness: the default critical systems leave it out, and naming it is refused.
    expect(settings.detection?.critical).toEqual(['mysql']);
    expect(JSON.stringify(settings)).not.toContain('OVH_AS');
  });

  it('accepts a PostgreSQL service too', () => {
    expect(parse(section({ engine: 'postgresql' })).runbook.ovhDatabases?.services[0]?.engine).toBe(
      'postgresql',
    );
  });

  it('leaves a runbook without it as it was: no ovhDatabases settings, the system not declared', async () => {
    const loaded = parse();
    expect(declaredSystems(loaded.runbook)).not.toContain('ovh-database');
    const settings = await createPairSettingsActivities({
      runbooks: new RunbookRegistry(new Map([['test-pair', loaded]])),
    }).pairSettings({ pair: 'test-pair' });
    expect('ovhDatabases' in settings).toBe(false);
  });

  it.each([
    [{ engine: 'redis' }, 'ovhDatabases.services[0].engine'],
    [{ clusterId: 'not-a-uuid' }, 'ovhDatabases.services[0].clusterId: must be an OpenStack ID'],
    [{ drRegion: 'sbg' }, 'ovhDatabases.services[0].drRegion: must be an OVH region name'],
    [{ users: ['app', 'app'] }, 'ovhDatabases.services[0].users[1]: names user "app" twice'],
    [{ users: ['../etc'] }, 'ovhDatabases.services[0].users[0]: must be a database user name'],
    [
      { ipRestrictions: [{ ip: '10.0.0.0/33' }] },
      'ovhDatabases.services[0].ipRestrictions[0].ip: must be an IPv4 block',
    ],
    [{ readyTimeout: 'soon' }, 'ovhDatabases.services[0].readyTimeout: must be a duration'],
    [{ nodes: 4 }, 'ovhDatabases.services[0].nodes'],
    [{ password: 'x' }, 'ovhDatabases.services[0]: Unrecognized key'],
  ])('refuses %j naming the field', (service, problem) => {
    expect(problemsOf(section(service)).join('\n')).toContain(problem);
  });

  it('refuses detection.critical naming ovh-database: it observes nothing, so it could never be judged down', () => {
    const doc = { ...minimal(), ovhDatabases: section(), detection: { critical: ['mysql', 'ovh-database'] } };
    let problems: string[] = [];
    try {
      parseRunbook(stringify(doc), 'test.yaml');
    } catch (err) {
      problems = (err as RunbookError).problems;
    }
    expect(problems.join('\n')).toContain(
      'detection.critical[1]: names "ovh-database", which observes nothing',
    );
  });

  it('refuses a section without passwordsDir, without services, with a name twice or without credentials', () => {
    expect(problemsOf({ ...section(), passwordsDir: undefined }).join('\n')).toContain(
      'ovhDatabases.passwordsDir',
    );
    expect(problemsOf({ ...section(), services: [] }).join('\n')).toContain('ovhDatabases.services');
    const twice = section();
    twice.services.push({ ...twice.services[0]! });
    expect(problemsOf(twice).join('\n')).toContain('ovhDatabases.services[1].name: names "app-db" twice');
    expect(problemsOf({ ...section(), ovh: {} }).join('\n')).toContain('ovhDatabases.ovh');
  });
});
