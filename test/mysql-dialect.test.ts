import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  binlogReadCommand,
  changeSourceStatement,
  detectDialect,
  gtidSubtractStatement,
  killConnectionSql,
  MARIADB_BINLOG,
  parseVersion,
  readOnlyBypassPrivileges,
  redactedSql,
  repointMode,
  SQL,
  waitForGtidStatement,
  waitReached,
} from '../activities/mysql/dialect';
import { classifyMysqlError, mysqlFailure } from '../activities/mysql/errors';
import { grantsGlobally } from '../activities/mysql/read-only-bypass';
import { redact } from '../common/redact';
import type { MysqlServerStatus } from '../activities/mysql/status';
import { mariadbErrantRanges, mariadbMaxPos, mysqlGtidUnion } from '../common/gtid';
import { chooseCandidate } from '../common/mysql-candidates';
import { SecretUnavailableError } from '../config/secrets';
import { FAKE_UUIDS, fakeMysql8Pair, type FakeMysql8 } from './helpers/fake-mysql8';

const SOURCE = { host: '10.0.0.5', port: 3306, user: 'repl', password: "s3cr'et", connectRetry: 5 };

describe('MySQL 8 statements (generated SQL)', () => {
  it('uses the 8.0.22+ replica vocabulary and super_read_only', () => {
    expect(SQL.mysql).toMatchObject({
      replicaStatus: 'SHOW REPLICA STATUS',
      stopReplica: 'STOP REPLICA',
      startReplica: 'START REPLICA',
      startSqlThread: 'START REPLICA SQL_THREAD',
      resetReplicaAll: 'RESET REPLICA ALL',
      fence: ['SET GLOBAL super_read_only=ON'],
      unfence: ['SET GLOBAL super_read_only=OFF', 'SET GLOBAL read_only=OFF'],
    });
    expect(SQL.mysql.serverState).toBe(
      'SELECT @@global.read_only AS read_only, @@global.super_read_only AS super_read_only, ' +
        '@@global.gtid_executed AS gtid_executed, @@global.gtid_mode AS gtid_mode, ' +
        '@@global.enforce_gtid_consistency AS enforce_gtid_consistency, @@global.server_uuid AS server_id',
    );
  });

  it('repoints with CHANGE REPLICATION SOURCE TO … SOURCE_AUTO_POSITION=1, the password as a redacted value', () => {
    const statement = changeSourceStatement('mysql', 'auto_position', SOURCE);
    expect(statement.sql).toBe(
      'CHANGE REPLICATION SOURCE TO SOURCE_HOST=?, SOURCE_PORT=?, SOURCE_USER=?, SOURCE_PASSWORD=?, ' +
        'SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=?, GET_SOURCE_PUBLIC_KEY=1',
    );
    expect(statement.values).toEqual(['10.0.0.5', 3306, 'repl', "s3cr'et", 5]);
    expect(redactedSql(statement)).toBe(
      "CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.5', SOURCE_PORT=3306, SOURCE_USER='repl', " +
        "SOURCE_PASSWORD='***', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=5, GET_SOURCE_PUBLIC_KEY=1",
    );
    expect(repointMode('mysql', '8.0.36', true)).toBe('auto_position');
    expect(repointMode('mysql', '8.0.36', false)).toBe('auto_position');
  });

  it('requires TLS for replication when the runbook says so: SOURCE_SSL=1 with the CA, server certificate verified', () => {
    const statement = changeSourceStatement('mysql', 'auto_position', {
      ...SOURCE,
      tlsCa: '/etc/mysql/ca.pem',
    });
    expect(redactedSql(statement)).toBe(
      "CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.5', SOURCE_PORT=3306, SOURCE_USER='repl', " +
        "SOURCE_PASSWORD='***', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=5, GET_SOURCE_PUBLIC_KEY=1, " +
        "SOURCE_SSL=1, SOURCE_SSL_CA='/etc/mysql/ca.pem', SOURCE_SSL_VERIFY_SERVER_CERT=1",
    );
    expect(statement.secretValues).toEqual([3]);
  });

  it('waits with WAIT_FOR_EXECUTED_GTID_SET (0 = reached, 1 = timeout) and finds errant GTIDs with GTID_SUBTRACT', () => {
    expect(waitForGtidStatement('mysql', 'uuid:1-5', 2)).toEqual({
      sql: 'SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS result',
      values: ['uuid:1-5', 2],
    });
    expect(waitReached(0)).toBe(true);
    expect(waitReached('0')).toBe(true);
    expect(waitReached(1)).toBe(false);
    expect(waitReached(null)).toBe(false);
    expect(gtidSubtractStatement('a:1-5', 'a:1-3')).toEqual({
      sql: 'SELECT GTID_SUBTRACT(?, ?) AS errant',
      values: ['a:1-5', 'a:1-3'],
    });
    expect(killConnectionSql(42)).toBe('KILL CONNECTION 42');
    expect(() => killConnectionSql(Number.NaN)).toThrow(/invalid connection id/);
  });
});

describe('MariaDB statements (generated SQL)', () => {
  it('uses the SLAVE vocabulary and read_only', () => {
    expect(SQL.mariadb).toMatchObject({
      replicaStatus: 'SHOW SLAVE STATUS',
      stopReplica: 'STOP SLAVE',
      resetReplicaAll: 'RESET SLAVE ALL',
      fence: ['SET GLOBAL read_only=ON'],
      unfence: ['SET GLOBAL read_only=OFF'],
    });
    expect(waitForGtidStatement('mariadb', '0-1-5', 2).sql).toBe('SELECT MASTER_GTID_WAIT(?, ?) AS result');
    expect(waitReached(-1)).toBe(false);
    expect(redactedSql(MARIADB_BINLOG.events('mariadb-bin.000002', 5000, 5000))).toBe(
      "SHOW BINLOG EVENTS IN 'mariadb-bin.000002' LIMIT 5000, 5000",
    );
  });

  it('repoints a replica with slave_pos, a former primary with MASTER_DEMOTE_TO_SLAVE (10.10+) or current_pos', () => {
    expect(repointMode('mariadb', '10.11.19-MariaDB-0+deb12u1-log', false)).toBe('slave_pos');
    expect(repointMode('mariadb', '10.11.19-MariaDB-0+deb12u1-log', true)).toBe('demote');
    expect(repointMode('mariadb', '11.4.2-MariaDB', true)).toBe('demote');
    expect(repointMode('mariadb', '10.6.18-MariaDB', true)).toBe('current_pos');
    const show = (mode: 'slave_pos' | 'demote' | 'current_pos') =>
      redactedSql(changeSourceStatement('mariadb', mode, SOURCE));
    expect(show('slave_pos')).toBe(
      "CHANGE MASTER TO MASTER_HOST='10.0.0.5', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='***', " +
        'MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5',
    );
    expect(show('demote')).toContain('MASTER_USE_GTID=slave_pos, MASTER_DEMOTE_TO_SLAVE=1');
    expect(show('current_pos')).toContain('MASTER_USE_GTID=current_pos,');
  });

  it('requires TLS for replication when the runbook says so: MASTER_SSL=1 with the CA, server certificate verified', () => {
    for (const mode of ['slave_pos', 'demote', 'current_pos'] as const) {
      const statement = changeSourceStatement('mariadb', mode, { ...SOURCE, tlsCa: '/etc/mysql/ca.pem' });
      expect(redactedSql(statement)).toMatch(
        /^CHANGE MASTER TO MASTER_HOST='10\.0\.0\.5', .*, MASTER_CONNECT_RETRY=5, MASTER_SSL=1, MASTER_SSL_CA='\/etc\/mysql\/ca\.pem', MASTER_SSL_VERIFY_SERVER_CERT=1$/,
      );
    }
  });

  it('knows which privileges pass read_only: READ ONLY ADMIN, and SUPER before 10.11', () => {
    expect(readOnlyBypassPrivileges(parseVersion('10.11.19-MariaDB-0+deb12u1-log'))).toEqual([
      'READ_ONLY ADMIN',
    ]);
    expect(readOnlyBypassPrivileges(parseVersion('11.4.2-MariaDB'))).toEqual(['READ_ONLY ADMIN']);
    expect(readOnlyBypassPrivileges(parseVersion('10.6.18-MariaDB'))).toEqual(['READ_ONLY ADMIN', 'SUPER']);
    const only = ['READ_ONLY ADMIN'];
    expect(grantsGlobally('GRANT INSERT, READ_ONLY ADMIN ON *.* TO `dba_role`', only)).toBe(true);
    expect(grantsGlobally('GRANT ALL PRIVILEGES ON *.* TO `allr`', only)).toBe(true);
    expect(grantsGlobally('GRANT ALL PRIVILEGES ON `app`.* TO `app`@`%`', only)).toBe(false);
    expect(grantsGlobally('GRANT SUPER ON *.* TO `sup`@`%`', only)).toBe(false);
    expect(grantsGlobally('GRANT `dba_role` TO `outer_role`', only)).toBe(false);
  });

  it('detects the dialect and version from SELECT VERSION()', () => {
    expect(detectDialect('10.11.19-MariaDB-0+deb12u1-log')).toBe('mariadb');
    expect(detectDialect('8.0.36')).toBe('mysql');
    expect(parseVersion('8.0.36-0ubuntu0.22.04.1')).toEqual([8, 0, 36]);
    expect(parseVersion('garbage')).toEqual([0, 0, 0]);
  });
});

describe('errors never carry a secret', () => {
  it('redacts secrets (plain and SQL-escaped) and classifies failures', () => {
    expect(redact("near 's3cr\\'et', MASTER_CONNECT", ["s3cr'et"])).toBe("near '***', MASTER_CONNECT");
    const failure = mysqlFailure(
      'db-1',
      Object.assign(new Error("syntax error near 's3cr\\'et'"), {
        code: 'ER_PARSE_ERROR',
        sql: "… 's3cr\\'et' …",
      }),
      ["s3cr'et"],
    );
    expect(failure.message).toBe("db-1: syntax error near '***' (ER_PARSE_ERROR)");
    expect(JSON.stringify(failure)).not.toContain('s3cr');
    expect(classifyMysqlError({ code: 'ECONNREFUSED' })).toBe('MysqlUnreachable');
    expect(classifyMysqlError({ code: 'ER_ACCESS_DENIED_ERROR' })).toBe('InvalidCredentials');
    expect(classifyMysqlError({ code: 'ETIMEDOUT' })).toBe('MysqlTimeout');
    expect(classifyMysqlError(new SecretUnavailableError('env:X', 'not set'))).toBe('SecretUnavailable');
    expect(mysqlFailure('db-1', new SecretUnavailableError('env:X', 'not set')).nonRetryable).toBe(true);
  });
});

describe('GTID helpers for failover', () => {
  it('finds MariaDB errant ranges per originating server from gtid_binlog_state', () => {
    // The old primary (server 1) kept writing after the new primary (server 2) took over at 0-1-100.
    expect(mariadbErrantRanges('0-1-105', '0-1-100,0-2-130')).toEqual([
      { domain: 0, serverId: 1, referenceSeq: 100, lastSeq: 105 },
    ]);
    // A local write on replica 3.
    expect(mariadbErrantRanges('0-1-100,0-3-101', '0-1-100,0-2-120')).toEqual([
      { domain: 0, serverId: 3, referenceSeq: 0, lastSeq: 101 },
    ]);
    expect(mariadbErrantRanges('0-1-100', '0-1-100,0-2-120')).toEqual([]);
    expect(mariadbErrantRanges('', '0-1-100')).toEqual([]);
  });

  it('takes unions of positions and sets', () => {
    expect(mariadbMaxPos('0-1-10,1-1-3', '0-2-12', '')).toBe('0-2-12,1-1-3');
    expect(mysqlGtidUnion('a:1-3', '', 'b:1')).toBe('a:1-3,b:1');
  });
});

const status = (
  server: string,
  repl: Partial<NonNullable<MysqlServerStatus['replication']>> | undefined,
  extra: Partial<MysqlServerStatus> = {},
): MysqlServerStatus => ({
  server,
  site: 'rbx',
  reachable: true,
  dialect: 'mariadb',
  readOnly: true,
  gtidExecuted: '0-1-10',
  replication: repl && {
    ioRunning: 'Yes',
    sqlRunning: 'Yes',
    lagSeconds: 0,
    sourceHost: '127.0.0.1',
    sourcePort: 1,
    retrievedGtid: '0-1-10',
    lastIoError: '',
    lastSqlError: '',
    lastSqlErrno: 0,
    gtidPositioning: 'Slave_Pos',
    receivedOrApplied: '0-1-10',
    pendingTransactions: 0,
    ...repl,
  },
  ...extra,
});

describe('candidate selection (pure)', () => {
  it('prefers the most advanced replica GTID-wise, even when another lags less', () => {
    const choice = chooseCandidate(
      [
        status('db-gra-1', undefined, { site: 'gra', readOnly: false }),
        status('r1', { receivedOrApplied: '0-1-8', lagSeconds: 0 }),
        status('r2', { receivedOrApplied: '0-1-10', lagSeconds: 1, pendingTransactions: 2 }),
      ],
      { exclude: ['db-gra-1'], maxLagSeconds: 5 },
    );
    expect(choice.candidate).toBe('r2');
    expect(choice.ranking.map((r) => [r.server, r.behindBest])).toEqual([
      ['r2', 0],
      ['r1', 2],
    ]);
    expect(choice.sentence).toMatch(/^r2 is the most advanced replica .*r1 lacks 2 of its transactions/);
  });

  it('skips replicas that cannot be promoted and says why; refuses lag beyond the allowance', () => {
    const broken = status('r1', {
      receivedOrApplied: '0-1-20',
      lastSqlErrno: 1062,
      lastSqlError: 'Duplicate entry',
    });
    const down: MysqlServerStatus = {
      server: 'r3',
      site: 'rbx',
      reachable: false,
      error: { type: 'MysqlUnreachable', message: 'refused' },
    };
    const slow = status('r2', { lagSeconds: 30 });
    const choice = chooseCandidate([broken, slow, down], { maxLagSeconds: 10 });
    expect(choice.candidate).toBe('r2');
    expect(choice.tooFarBehind).toBe(true);
    expect(choice.sentence).toBe('the most advanced replica r2 is 30s behind, more than the 10s allowed.');
    expect(choice.ranking.find((r) => r.server === 'r1')?.notes[0]).toMatch(/applier stopped on error 1062/);
    const none = chooseCandidate([broken, down], { maxLagSeconds: 10 });
    expect(none.candidate).toBeUndefined();
    expect(none.sentence).toMatch(/^no replica can be promoted \(r1: applier stopped on error 1062/);
  });

  it('never chooses a server that holds an incomplete rebuild, however advanced', () => {
    const halfCopied = status(
      'r1',
      { receivedOrApplied: '0-1-20' },
      { rebuildIncomplete: { startedAt: '2025-01-01T00:00:00.000Z', source: 'db-rbx-2' } },
    );
    const choice = chooseCandidate([halfCopied, status('r2', {})], { maxLagSeconds: 10 });
    expect(choice.candidate).toBe('r2');
    expect(choice.ranking.find((r) => r.server === 'r1')).toMatchObject({
      eligible: false,
      notes: ['holds an incomplete rebuild (started at 2025-01-01T00:00:00.000Z)'],
    });
  });

  it('filters by site and treats unknown lag (source down) as not refusable', () => {
    const choice = chooseCandidate(
      [
        status('far', { lagSeconds: null, ioRunning: 'Connecting' }, { site: 'other' }),
        status('near', { lagSeconds: null }),
      ],
      { site: 'rbx', maxLagSeconds: 0 },
    );
    expect(choice).toMatchObject({ candidate: 'near', tooFarBehind: false });
    expect(choice.sentence).toMatch(/lag unknown/);
  });
});

/**
 * The activities against a scripted MySQL 8.0 stand-in (test/helpers/fake-mysql8.ts): a planned switchover
 * must send exactly the MySQL statements, and never a MariaDB one (the stand-in rejects unknown statements).
 */
describe('the failover activities speak MySQL 8 (scripted stand-in)', () => {
  const { A, B, C } = FAKE_UUIDS;
  let stand: ReturnType<typeof fakeMysql8Pair>;
  let fake: FakeMysql8;
  let act: ReturnType<typeof fakeMysql8Pair>['act'];
  let taken: ReturnType<typeof fakeMysql8Pair>['taken'];
  const pair = 'fake-mysql8';

  // Each test starts from a fresh stand-in: none depends on what another left behind.
  beforeEach(() => {
    stand = fakeMysql8Pair();
    ({ fake, act, taken } = stand);
  });
  afterEach(() => stand.close());

  /** db-b received 3 more transactions than it applied; db-a is then fenced, db-b caught up and promoted. */
  async function switchOverToDbB(): Promise<void> {
    fake.get('db-b').replica!.sql = 'No';
    fake.write('db-a', 3);
    await act('mysqlFence', { pair, server: 'db-a' });
    await act('mysqlCatchUp', { pair, server: 'db-b', untilServer: 'db-a' });
    await act('mysqlPromote', { pair, server: 'db-b' });
  }

  it('reads status with SHOW REPLICA STATUS and gtid_executed', async () => {
    const all = await act('mysqlServerStatuses', { pair });
    expect(all.map((s) => [s.server, s.dialect, s.readOnly, s.superReadOnly])).toEqual([
      ['db-a', 'mysql', false, false],
      ['db-b', 'mysql', true, true],
      ['db-c', 'mysql', true, true],
    ]);
    expect(all[1]?.replication).toMatchObject({
      ioRunning: 'Yes',
      sqlRunning: 'Yes',
      gtidPositioning: 'auto_position',
      appliedGtid: `${A}:1-5`,
      pendingTransactions: 0,
    });
    expect(all[1]).toMatchObject({ gtidMode: 'ON', enforceGtidConsistency: 'ON', semiSync: {} });
    expect(taken('db-b')).toEqual([
      'SELECT VERSION() AS version',
      SQL.mysql.serverState,
      'SHOW REPLICA STATUS',
      "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%_enabled'",
    ]);
    taken('db-a');
    taken('db-c');
  });

  it('fences, catches up, promotes and repoints with MySQL statements only', async () => {
    // db-b received 3 more transactions but has not applied them.
    fake.get('db-b').replica!.sql = 'No';
    fake.write('db-a', 3);

    const fence = await act('mysqlFence', { pair, server: 'db-a' });
    expect(fence).toMatchObject({
      alreadyFenced: false,
      killedConnections: 1,
      gtidBinlogPos: `${A}:1-8`,
      writersDespiteReadOnly: [],
      notGuaranteed: [],
    });
    expect(fence.description).toBe(
      `db-a is fenced (super_read_only=ON); 1 client session(s) ended; binlog at ${A}:1-8. ` +
        'super_read_only stops every client account, SUPER holders included.',
    );
    expect(taken('db-a').filter((s) => !s.startsWith('SELECT') && !s.startsWith('SHOW'))).toEqual([
      expect.stringMatching(/^KILL CONNECTION \d+$/),
      'SET GLOBAL super_read_only=ON',
    ]);

    const caught = await act('mysqlCatchUp', { pair, server: 'db-b', untilServer: 'db-a' });
    expect(caught).toMatchObject({ target: `${A}:1-8`, applied: `${A}:1-8` });
    expect(taken('db-b')).toEqual(
      expect.arrayContaining([
        'START REPLICA SQL_THREAD',
        `SELECT WAIT_FOR_EXECUTED_GTID_SET('${A}:1-8', 2) AS result`,
      ]),
    );

    expect((await act('mysqlSelectCandidate', { pair, exclude: ['db-a'] })).candidate).toBe('db-b');
    for (const name of ['db-a', 'db-b', 'db-c']) taken(name);

    const promoted = await act('mysqlPromote', { pair, server: 'db-b' });
    expect(promoted.steps).toEqual([
      'STOP REPLICA',
      'RESET REPLICA ALL',
      'SET GLOBAL super_read_only=OFF',
      'SET GLOBAL read_only=OFF',
    ]);
    expect(taken('db-b').filter((s) => !s.startsWith('SELECT') && !s.startsWith('SHOW'))).toEqual(
      promoted.steps,
    );
    expect((await act('mysqlPromote', { pair, server: 'db-b' })).alreadyPromoted).toBe(true);

    for (const server of ['db-c', 'db-a']) {
      taken(server);
      const repointed = await act('mysqlRepoint', { pair, server, source: 'db-b' });
      expect(repointed).toMatchObject({ mode: 'auto_position', ioRunning: 'Yes', sqlRunning: 'Yes' });
      expect(JSON.stringify(repointed)).not.toContain('repl-pw-42');
      const sent = taken(server).filter((s) => !s.startsWith('SELECT') && !s.startsWith('SHOW'));
      expect(sent).toEqual([
        ...(server === 'db-c' ? ['STOP REPLICA'] : []),
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=3302, SOURCE_USER='repl', " +
          "SOURCE_PASSWORD='repl-pw-42', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=5, GET_SOURCE_PUBLIC_KEY=1",
        'START REPLICA',
      ]);
    }
    expect(fake.get('db-a').replica).toMatchObject({ port: 3302, io: 'Yes', sql: 'Yes' });
  });

  it('reads GTID sets of several sources, which MySQL prints over several lines, as one line', async () => {
    await switchOverToDbB();
    await act('mysqlRepoint', { pair, server: 'db-c', source: 'db-b' });
    fake.write('db-b', 2);
    expect(fake.gtidExecuted('db-b')).toBe(`${A}:1-8,\n${B}:1-2`);
    const all = await act('mysqlServerStatuses', { pair });
    const byName = new Map(all.map((s) => [s.server, s]));
    expect(byName.get('db-b')?.gtidExecuted).toBe(`${A}:1-8,${B}:1-2`);
    expect(byName.get('db-c')?.replication).toMatchObject({
      retrievedGtid: `${A}:1-8,${B}:1-2`,
      appliedGtid: `${A}:1-8,${B}:1-2`,
      pendingTransactions: 0,
    });
    taken('db-c');
    const caught = await act('mysqlCatchUp', { pair, server: 'db-c', untilServer: 'db-b' });
    expect(caught).toMatchObject({ target: `${A}:1-8,${B}:1-2`, applied: `${A}:1-8,${B}:1-2` });
    expect(binlogReadCommand('mysql', '/var/lib/mysql/binlog.index', fake.gtidExecuted('db-b'))).toContain(
      `--exclude-gtids='${A}:1-8,${B}:1-2'`,
    );
  });

  it('lists errant transactions with GTID_SUBTRACT and refuses to repoint', async () => {
    await switchOverToDbB();
    fake.get('db-c').replica!.io = 'No';
    fake.get('db-c').replica!.sql = 'No';
    fake.write('db-c', 2); // local writes on a replica
    const report = await act('mysqlFindErrantTransactions', { pair, server: 'db-c', reference: 'db-b' });
    expect(report).toMatchObject({ dialect: 'mysql', count: 2, gtids: [`${C}:1-2`] });
    expect(fake.get('db-c').statements).toContain(
      `SELECT GTID_SUBTRACT('${A}:1-8,${C}:1-2', '${A}:1-8') AS errant`,
    );
    await expect(act('mysqlRepoint', { pair, server: 'db-c', source: 'db-b' })).rejects.toMatchObject({
      type: 'ErrantTransactions',
      nonRetryable: true,
    });
    await expect(act('mysqlRepoint', { pair, server: 'db-c', source: 'db-b' })).rejects.toBeInstanceOf(
      ApplicationFailure,
    );
  });
});
