import { describe, expect, it } from 'vitest';
import type { MysqlServerStatus } from '../activities/mysql/status';
import type { PairSettings } from '../activities/pair-settings';
import { versionTooOld } from '../common/mysql-requirements';
import { evaluateMysqlReadiness } from '../workflows/checks/mysql-readiness';
import { fakeSettings } from './helpers/fake-pair';

const A = '3e11fa47-71ca-11e1-9e33-c80aa9429562';

const settings: PairSettings = fakeSettings({
  pair: 'p',
  mysql: {
    servers: [
      { name: 'db-1', site: 'gra', role: 'primary', host: '10.0.0.1', port: 3306 },
      { name: 'db-2', site: 'rbx', role: 'replica', host: '10.0.0.2', port: 3306 },
    ],
    maxLagSeconds: 10,
  },
});

const replication = (gtidPositioning: string, gtid: string) => ({
  ioRunning: 'Yes',
  sqlRunning: 'Yes',
  lagSeconds: 0,
  sourceHost: '10.0.0.1',
  sourcePort: 3306,
  retrievedGtid: gtid,
  lastIoError: '',
  lastSqlError: '',
  gtidPositioning,
});

const mysql = (server: string, extra: Partial<MysqlServerStatus> = {}): MysqlServerStatus => ({
  server,
  site: server === 'db-1' ? 'gra' : 'rbx',
  reachable: true,
  dialect: 'mysql',
  version: '8.0.36',
  readOnly: server !== 'db-1',
  superReadOnly: server !== 'db-1',
  gtidExecuted: `${A}:1-10`,
  gtidMode: 'ON',
  enforceGtidConsistency: 'ON',
  semiSync: {},
  ...(server === 'db-1' ? {} : { replication: replication('auto_position', `${A}:1-10`) }),
  ...extra,
});

const mariadb = (server: string, extra: Partial<MysqlServerStatus> = {}): MysqlServerStatus => ({
  server,
  site: server === 'db-1' ? 'gra' : 'rbx',
  reachable: true,
  dialect: 'mariadb',
  version: '10.11.19-MariaDB-0+deb12u1-log',
  readOnly: server !== 'db-1',
  gtidExecuted: '0-1-10',
  gtidBinlogPos: '0-1-10',
  logSlaveUpdates: true,
  semiSync: {
    source: { variable: 'rpl_semi_sync_master_enabled', enabled: false },
    replica: { variable: 'rpl_semi_sync_slave_enabled', enabled: false },
  },
  ...(server === 'db-1' ? {} : { replication: replication('Slave_Pos', '0-1-10') }),
  ...extra,
});

const check = (statuses: MysqlServerStatus[], name: string) =>
  evaluateMysqlReadiness(settings, statuses).find((c) => c.name === name);

describe('MySQL readiness: GTIDs in use, versions and semi-sync (pure)', () => {
  it('passes a MySQL pair with gtid_mode=ON, enforce_gtid_consistency=ON and auto-positioning', () => {
    const checks = evaluateMysqlReadiness(settings, [mysql('db-1'), mysql('db-2')]);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['db-1.gtid-mode', 'db-2.gtid-mode', 'db-1.version', 'db-2.version']),
    );
  });

  it('fails a MySQL server without GTIDs, whose empty sets would pass the catch-up comparison', () => {
    const statuses = [
      mysql('db-1', { gtidMode: 'OFF', gtidExecuted: '' }),
      mysql('db-2', { gtidExecuted: '' }),
    ];
    expect(check(statuses, 'db-1.gtid-mode')).toEqual({
      name: 'db-1.gtid-mode',
      ok: false,
      sentence:
        'db-1 has gtid_mode=OFF and enforce_gtid_consistency=ON: the failover compares GTIDs, which needs both ON.',
    });
    expect(check([mysql('db-1', { enforceGtidConsistency: 'WARN' })], 'db-1.gtid-mode')?.ok).toBe(false);
    expect(
      check(
        [mysql('db-1'), mysql('db-2', { replication: replication('no', `${A}:1-10`) })],
        'db-2.gtid-mode',
      ),
    ).toMatchObject({ ok: false, sentence: expect.stringContaining('SOURCE_AUTO_POSITION=0') });
  });

  it('fails a MariaDB replica that does not position itself by GTID, and a primary with no GTID in its binlog', () => {
    expect(check([mariadb('db-1'), mariadb('db-2')], 'db-2.gtid-mode')?.ok).toBe(true);
    expect(
      check([mariadb('db-1'), mariadb('db-2', { replication: replication('No', '') })], 'db-2.gtid-mode'),
    ).toEqual({
      name: 'db-2.gtid-mode',
      ok: false,
      sentence:
        'db-2 replicates without GTIDs (Using_Gtid=No): repoint it with CHANGE MASTER TO MASTER_USE_GTID=slave_pos.',
    });
    expect(check([mariadb('db-1', { gtidBinlogPos: '' }), mariadb('db-2')], 'db-1.gtid-mode')).toMatchObject({
      ok: false,
      sentence: expect.stringContaining('primary db-1 has an empty gtid_binlog_pos'),
    });
  });

  it('names a server older than MySQL 8.0.23 or MariaDB 10.8', () => {
    expect(check([mysql('db-1', { version: '8.0.22' })], 'db-1.version')).toEqual({
      name: 'db-1.version',
      ok: false,
      sentence:
        'db-1 runs MySQL 8.0.22, older than 8.0.23: it lacks CHANGE REPLICATION SOURCE TO, which repoint and promote use; upgrade it.',
    });
    expect(check([mariadb('db-1', { version: '10.6.18-MariaDB-log' })], 'db-1.version')?.sentence).toBe(
      'db-1 runs MariaDB 10.6.18-MariaDB-log, older than 10.8.0: it lacks mariadb-binlog --start-position with GTIDs, ' +
        'which the salvage of a dead primary uses; upgrade it.',
    );
    expect(versionTooOld('x', 'mysql', '8.0.23')).toBeUndefined();
    expect(versionTooOld('x', 'mysql', '8.4.0')).toBeUndefined();
    expect(versionTooOld('x', 'mariadb', '10.8.0-MariaDB')).toBeUndefined();
    expect(versionTooOld('x', 'mariadb', '11.4.2-MariaDB')).toBeUndefined();
  });

  it('says when the primary is semi-synchronous and a replica is not; says nothing when the primary is not', () => {
    const on = { variable: 'rpl_semi_sync_source_enabled', enabled: true };
    expect(check([mysql('db-1', { semiSync: { source: on } }), mysql('db-2')], 'db-2.semi-sync')).toEqual({
      name: 'db-2.semi-sync',
      ok: false,
      sentence:
        'primary db-1 replicates semi-synchronously but replica db-2 does not (no semi-sync replica plugin loaded): ' +
        'it acknowledges nothing, and once promoted its own replicas would not either; enable it there.',
    });
    const replicaOn = { replica: { variable: 'rpl_semi_sync_replica_enabled', enabled: true } };
    expect(
      check(
        [mysql('db-1', { semiSync: { source: on } }), mysql('db-2', { semiSync: replicaOn })],
        'db-2.semi-sync',
      )?.ok,
    ).toBe(true);
    expect(check([mariadb('db-1'), mariadb('db-2')], 'db-2.semi-sync')).toBeUndefined();
  });

  it('does not judge statuses read by older activity code (no semi-sync facts), so old runs replay alike', () => {
    const old = { semiSync: undefined, gtidMode: undefined, enforceGtidConsistency: undefined };
    const checks = evaluateMysqlReadiness(settings, [mysql('db-1', old), mysql('db-2', old)]);
    expect(checks.filter((c) => c.name.endsWith('.gtid-mode') || c.name.endsWith('.version'))).toEqual([]);
  });
});
