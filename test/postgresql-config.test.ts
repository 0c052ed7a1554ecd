import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseRunbook, RunbookError } from '../config/load';
import { declaredSystems } from '../config/schema';
import { TEST_APPROVER_LINE } from './helpers/approver';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const ssh = { host: '10.0.1.1', user: 'postgres', privateKey: 'file:/run/secrets/ssh', hostKey: HOST_KEY };

const runbook = (postgresql: Record<string, unknown>) => ({
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
  postgresql,
  approval: { approvers: [TEST_APPROVER_LINE] },
});

const pg = (overrides: Record<string, unknown> = {}) => ({
  user: 'dr_admin',
  password: 'env:DR_PG_PASSWORD',
  replicationUser: 'replicator',
  replicationPassword: 'file:/run/secrets/pg-repl',
  servers: [
    {
      name: 'pg-gra',
      site: 'gra',
      role: 'primary',
      host: '10.0.1.1',
      dataDirectory: '/var/lib/postgresql/15/main',
      ssh,
    },
    {
      name: 'pg-rbx',
      site: 'rbx',
      role: 'standby',
      host: '10.0.1.2',
      dataDirectory: '/var/lib/postgresql/15/main',
      ssh,
    },
  ],
  ...overrides,
});

function problemsOf(doc: unknown): string[] {
  try {
    parseRunbook(stringify(doc), 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(RunbookError);
    return (err as RunbookError).problems;
  }
  throw new Error('the runbook was accepted');
}

describe('the runbook postgresql section', () => {
  it('takes a primary and a standby, with defaults, and declares the system', () => {
    const parsed = parseRunbook(stringify(runbook(pg())), 'test.yaml').runbook;
    expect(parsed.postgresql).toMatchObject({
      database: 'postgres',
      binDirectory: '/usr/lib/postgresql/15/bin',
      maxLagBytes: 16 * 1024 * 1024,
    });
    expect(parsed.postgresql!.servers[0]!.port).toBe(5432);
    expect(declaredSystems(parsed)).toContain('postgresql');
  });

  it('names each bad field', () => {
    const servers = pg().servers;
    const problems = problemsOf(
      runbook(
        pg({
          password: 'hunter2',
          maxLagBytes: -1,
          servers: [
            { ...servers[0], site: 'rbx', dataDirectory: 'relative/dir' },
            { ...servers[1], role: 'primary', osUser: 'Root!' },
          ],
        }),
      ),
    );
    expect(problems.join('\n')).toMatch(/postgresql\.password/);
    expect(problems.join('\n')).toMatch(/postgresql\.maxLagBytes/);
    expect(problems.join('\n')).toMatch(/postgresql\.servers\[0\]\.dataDirectory: must be an absolute path/);
    expect(problems.join('\n')).toMatch(/postgresql\.servers\[1\]\.osUser: must be a user name/);
    expect(problems.join('\n')).toMatch(
      /postgresql\.servers: exactly one server must have role "primary" \(found 2\)/,
    );
    expect(problems.join('\n')).toMatch(/postgresql\.servers\[1\]\.site: names site "rbx" twice/);
  });

  it('wants the primary in the primary site and a standby in the standby site', () => {
    const [gra, rbx] = pg().servers;
    const problems = problemsOf(
      runbook(
        pg({
          servers: [
            { ...gra, site: 'rbx' },
            { ...rbx, site: 'gra' },
          ],
        }),
      ),
    );
    expect(problems.join('\n')).toMatch(
      /postgresql\.servers\[0\]\.site: the primary server must be in the primary site "gra"/,
    );
    const onlyGra = problemsOf(runbook(pg({ servers: [gra, { ...rbx, site: 'gra', name: 'pg-gra-2' }] })));
    expect(onlyGra.join('\n')).toMatch(/postgresql\.servers: must have a server in the standby site/);
  });
});
