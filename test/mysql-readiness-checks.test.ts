import { describe, expect, it } from 'vitest';
import type { MysqlServerStatus } from '../activities/mysql/status';
import type { PairSettings } from '../activities/pair-settings';
import { evaluateMysqlReadiness } from '../workflows/checks/mysql-readiness';
import { fakeSettings } from './helpers/fake-pair';

const A = '3e11fa47-71ca-11e1-9e33-c80aa9429562';

const settings: PairSettings = fakeSettings({
  pair: 'p',
  mysql: {
    servers: [
      { name: 'db-gra-1', site: 'gra', role: 'primary', host: '10.0.0.1', port: 3306 },
      { name: 'db-rbx-1', site: 'rbx', role: 'replica', host: '10.0.0.2', port: 3306 },
    ],
    maxLagSeconds: 10,
  },
});

const primary = (extra: Partial<MysqlServerStatus> = {}): MysqlServerStatus => ({
  server: 'db-gra-1',
  site: 'gra',
  reachable: true,
  dialect: 'mysql',
  version: '8.4.2',
  readOnly: false,
  superReadOnly: false,
  gtidExecuted: `${A}:1-10:batch:1-3`,
  ...extra,
});

const replica = (extra: Partial<MysqlServerStatus> = {}): MysqlServerStatus => ({
  server: 'db-rbx-1',
  site: 'rbx',
  reachable: true,
  dialect: 'mysql',
  version: '8.4.2',
  readOnly: true,
  superReadOnly: true,
  gtidExecuted: `${A}:1-8:batch:1-3`,
  replication: {
    ioRunning: 'Yes',
    sqlRunning: 'Yes',
    lagSeconds: 0,
    sourceHost: '10.0.0.1',
    sourcePort: 3306,
    retrievedGtid: `${A}:1-10:batch:1-3`,
    lastIoError: '',
    lastSqlError: '',
  },
  ...extra,
});

/** The readiness judgement runs inside the workflow: it must never throw on data it cannot read. */
describe('MySQL readiness checks (pure, workflow code)', () => {
  it('compares MySQL 8.3+ tagged GTID sets', () => {
    const checks = evaluateMysqlReadiness(settings, [primary(), replica()]);
    expect(checks.find((c) => c.name === 'db-rbx-1.gtid')).toMatchObject({
      ok: true,
      sentence: expect.stringContaining('2 transaction(s) behind'),
    });
  });

  it('turns an unparsable GTID set into a failed check with its sentence, not an exception', () => {
    const checks = evaluateMysqlReadiness(settings, [primary(), replica({ gtidExecuted: `${A}:1-8:7x:1` })]);
    expect(checks.find((c) => c.name === 'db-rbx-1.gtid')).toEqual({
      name: 'db-rbx-1.gtid',
      ok: false,
      sentence: `cannot compare the GTIDs of replica db-rbx-1 with the primary's: invalid GTID range "7x" in "${A}:1-8:7x:1".`,
    });
  });

  // The statuses are read at the same time: under writes, a replica read a moment after the primary already
  // holds the primary's next transactions. Those came from the primary; only GTIDs of another origin are errant.
  it("MySQL: the primary's own later transactions on a replica read after it are not errant; others are", () => {
    const B = '4f22ab58-82db-22f2-af44-d91bb9530673';
    const ahead = evaluateMysqlReadiness(settings, [
      primary({ serverId: A }),
      replica({ gtidExecuted: `${A}:1-12:batch:1-3` }),
    ]);
    expect(ahead.find((c) => c.name === 'db-rbx-1.gtid')).toMatchObject({ ok: true });
    const errant = evaluateMysqlReadiness(settings, [
      primary({ serverId: A }),
      replica({ gtidExecuted: `${A}:1-12:batch:1-3,${B}:1-2` }),
    ]);
    expect(errant.find((c) => c.name === 'db-rbx-1.gtid')).toMatchObject({
      ok: false,
      sentence: expect.stringContaining('2 transaction(s) the primary lacks (errant)'),
    });
  });

  it('names a replica holding an incomplete rebuild as a failed check, with the command that repairs it', () => {
    const checks = evaluateMysqlReadiness(settings, [
      primary(),
      replica({ rebuildIncomplete: { startedAt: '2026-12-07T10:00:00.000Z', source: 'db-gra-1' } }),
    ]);
    expect(checks.find((c) => c.name === 'db-rbx-1.rebuild-incomplete')).toEqual({
      name: 'db-rbx-1.rebuild-incomplete',
      ok: false,
      sentence:
        'db-rbx-1 holds an incomplete rebuild (started at 2026-12-07T10:00:00.000Z from db-gra-1): run the rebuild again before repointing or promoting it.',
    });
    expect(evaluateMysqlReadiness(settings, [primary(), replica()]).map((c) => c.name)).not.toContain(
      'db-rbx-1.rebuild-incomplete',
    );
  });

  it("MariaDB: the primary's own later transactions on a replica read after it are not errant; others are", () => {
    const maria = (extra: Partial<MysqlServerStatus>) => ({
      dialect: 'mariadb' as const,
      version: '10.11.6-MariaDB',
      ...extra,
    });
    const ahead = evaluateMysqlReadiness(settings, [
      primary(maria({ serverId: '1', gtidExecuted: '0-1-519' })),
      replica(maria({ gtidExecuted: '0-1-521' })),
    ]);
    expect(ahead.find((c) => c.name === 'db-rbx-1.gtid')).toMatchObject({ ok: true });
    const errant = evaluateMysqlReadiness(settings, [
      primary(maria({ serverId: '1', gtidExecuted: '0-1-519' })),
      replica(maria({ gtidExecuted: '0-2-521' })),
    ]);
    expect(errant.find((c) => c.name === 'db-rbx-1.gtid')).toMatchObject({
      ok: false,
      sentence: expect.stringContaining('2 transaction(s) the primary lacks (errant)'),
    });
  });
});
