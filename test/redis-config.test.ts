import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createPairSettingsActivities } from '../activities/pair-settings';
import { RunbookRegistry } from '../activities/runbooks';
import { parseRunbook, RunbookError } from '../config/load';
import { TEST_APPROVER_LINE } from './helpers/approver';

const redisSection = () => ({
  servers: [
    { name: 'redis-gra', site: 'gra', role: 'master', host: '10.0.0.5', port: 6379 },
    { name: 'redis-rbx', site: 'rbx', role: 'replica', host: '10.0.1.5', port: 6379 },
  ] as Record<string, unknown>[],
  password: 'env:DR_REDIS_PASSWORD',
});

const runbook = (redis?: Record<string, unknown>) => ({
  pair: 'test-pair',
  sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
  mysql: {
    user: 'dr',
    password: 'env:DR_MYSQL_PASSWORD',
    replicationUser: 'repl',
    replicationPassword: 'env:DR_REPL_PASSWORD',
    servers: [
      { name: 'db-gra-1', site: 'gra', host: '10.0.0.1', port: 3306, role: 'primary' },
      { name: 'db-rbx-1', site: 'rbx', host: '10.0.0.2', port: 3306, role: 'replica' },
    ],
  },
  ...(redis ? { redis } : {}),
  approval: { approvers: [TEST_APPROVER_LINE] },
});

function problemsOf(mutate: (redis: ReturnType<typeof redisSection>) => void): string[] {
  const redis = redisSection();
  mutate(redis);
  try {
    parseRunbook(stringify(runbook(redis)), 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(RunbookError);
    return (err as RunbookError).problems;
  }
  throw new Error('the runbook was accepted');
}

async function settingsOf(doc: Record<string, unknown>) {
  const loaded = parseRunbook(stringify(doc), '/tmp/test.yaml');
  const registry = new RunbookRegistry(new Map([[loaded.runbook.pair, loaded]]));
  return createPairSettingsActivities({ runbooks: registry }).pairSettings({ pair: loaded.runbook.pair });
}

describe('runbook: the redis section', () => {
  it('is optional; with it, redis is a declared (critical) system and the settings carry its servers and limits, never the password', async () => {
    const without = await settingsOf(runbook());
    expect(without.redis).toBeUndefined();
    expect(without.detection).toEqual({ critical: ['mysql'] });
    const withRedis = await settingsOf(runbook(redisSection()));
    expect(withRedis.detection).toEqual({ critical: ['mysql', 'redis'] });
    expect(withRedis.redis).toEqual({
      servers: [
        { name: 'redis-gra', site: 'gra', role: 'master', host: '10.0.0.5', port: 6379 },
        { name: 'redis-rbx', site: 'rbx', role: 'replica', host: '10.0.1.5', port: 6379 },
      ],
      pauseMs: 120_000,
      catchUpMs: 30_000,
    });
    expect(JSON.stringify(withRedis)).not.toContain('DR_REDIS_PASSWORD');
  });

  it('names the bad field: role, site, count, password, durations', () => {
    expect(problemsOf((r) => (r.servers[1]!.role = 'master'))).toEqual([
      expect.stringMatching(/^redis\.servers: exactly one server must have role "master" \(found 2\)/),
    ]);
    expect(problemsOf((r) => (r.servers[1]!.site = 'sbg'))).toEqual([
      expect.stringMatching(/^redis\.servers\[1\]\.site: names unknown site "sbg"/),
    ]);
    expect(problemsOf((r) => (r.servers[1]!.site = 'gra'))).toEqual([
      expect.stringMatching(/^redis\.servers\[1\]\.site: is "gra" like servers\[0\]/),
    ]);
    expect(
      problemsOf((r) => {
        r.servers[0]!.role = 'replica';
        r.servers[1]!.role = 'master';
      }),
    ).toEqual([
      expect.stringMatching(/^redis\.servers\[1\]\.site: the master must be in the primary site "gra"/),
    ]);
    expect(problemsOf((r) => r.servers.pop())).toEqual([
      expect.stringMatching(/^redis\.servers: must list exactly two servers/),
    ]);
    expect(problemsOf((r) => (r.password = 'hunter2'))).toEqual([
      expect.stringMatching(/^redis\.password: must be a secret reference/),
    ]);
    expect(problemsOf((r) => Object.assign(r, { pauseTimeout: '2 minutes' }))).toEqual([
      expect.stringMatching(/^redis\.pauseTimeout: must be a duration/),
    ]);
    expect(problemsOf((r) => (r.servers[0]!.role = 'primary'))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^redis\.servers\[0\]\.role: must be "master" or "replica"/),
      ]),
    );
    expect(problemsOf((r) => Object.assign(r, { sentinel: true }))).toEqual([
      expect.stringMatching(/^redis: .*sentinel/),
    ]);
  });
});
