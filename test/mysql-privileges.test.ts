import { readFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlServerProblems, type MysqlQuery } from '../client/doctor';
import {
  grantStatements,
  missingPrivileges,
  privilegesMarkdown,
  REQUIRED_PRIVILEGES,
} from '../common/mysql-privileges';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const ACCOUNTS = { user: 'dr_orchestrator', replicationUser: 'dr_repl' };

/** A server that answers doctor's statements from fixed grants, as SHOW GRANTS prints them. */
function stubServer(version: string, own: string[], replication: string[]): MysqlQuery {
  return async (sql) => {
    if (sql === 'SELECT VERSION() AS version') return [{ version }];
    if (sql === 'SHOW GRANTS') return own.map((g) => ({ 'Grants for dr_orchestrator@%': g }));
    if (sql.startsWith('SELECT Host AS host FROM mysql.user')) return [{ host: '%' }];
    if (sql === 'SHOW GRANTS FOR ?@?') return replication.map((g) => ({ 'Grants for dr_repl@%': g }));
    throw new Error(`unexpected ${sql}`);
  };
}

describe('privileges the activities need: one list, for the guide and for drctl doctor', () => {
  it("the production guide's GRANT statements and their reasons are generated from the list", () => {
    const guide = readFileSync(path.join(__dirname, '..', 'docs', 'production.md'), 'utf8');
    expect(guide).toContain(privilegesMarkdown('mysql'));
    expect(guide).toContain(privilegesMarkdown('mariadb'));
  });

  it('salvage, replication and read-only toggling are on it, per dialect', () => {
    const names = (dialect: 'mysql' | 'mariadb', account: 'orchestrator' | 'replication') =>
      REQUIRED_PRIVILEGES[dialect][account].map((p) => p.privilege);
    expect(names('mariadb', 'orchestrator')).toEqual(
      expect.arrayContaining(['BINLOG REPLAY', 'READ_ONLY ADMIN']),
    );
    expect(names('mysql', 'orchestrator')).toEqual(
      expect.arrayContaining(['BINLOG_ADMIN', 'SYSTEM_VARIABLES_ADMIN']),
    );
    expect(names('mysql', 'replication')).toEqual(['REPLICATION SLAVE']);
    expect(names('mariadb', 'replication')).toEqual(['REPLICATION SLAVE']);
  });

  it('reads SHOW GRANTS as the servers print it: ALL PRIVILEGES, aliases, SUPER only where it still counts', () => {
    expect(
      missingPrivileges('mariadb', 'orchestrator', '10.11.19-MariaDB', [
        'GRANT ALL PRIVILEGES ON *.* TO `x`@`%`',
      ]),
    ).toEqual([]);
    const everything = grantStatements('mysql', 'orchestrator', '`x`@`%`');
    expect(missingPrivileges('mysql', 'orchestrator', '8.0.36', everything)).toEqual([]);
    const superInstead = everything.map((g) => g.replace('SYSTEM_VARIABLES_ADMIN', 'SUPER'));
    expect(missingPrivileges('mysql', 'orchestrator', '8.0.36', superInstead)).toEqual([]);
    // MariaDB 10.11 separated READ ONLY ADMIN from SUPER (MDEV-29596); before, SUPER gave it.
    const mariadb = grantStatements('mariadb', 'orchestrator', '`x`@`%`').map((g) =>
      g.replace('READ_ONLY ADMIN', 'SUPER').replace('SLAVE MONITOR', 'REPLICA MONITOR'),
    );
    expect(
      missingPrivileges('mariadb', 'orchestrator', '10.11.19-MariaDB', mariadb).map((p) => p.privilege),
    ).toEqual(['READ_ONLY ADMIN']);
    expect(missingPrivileges('mariadb', 'orchestrator', '10.10.7-MariaDB', mariadb)).toEqual([]);
  });

  it('doctor names a server older than the activities need, and what an account lacks', async () => {
    const grants = grantStatements('mysql', 'orchestrator', '`dr_orchestrator`@`%`');
    const old = await mysqlServerProblems(
      stubServer('8.0.22', grants, ['GRANT REPLICATION SLAVE ON *.* TO `dr_repl`@`%`']),
      'db-a',
      ACCOUNTS,
    );
    expect(old.problems).toEqual([
      'db-a runs MySQL 8.0.22, older than 8.0.23: it lacks CHANGE REPLICATION SOURCE TO, which repoint and promote use; upgrade it.',
    ]);
    const lacking = await mysqlServerProblems(
      stubServer(
        '8.0.36',
        grants.map((g) => g.replace(', BINLOG_ADMIN', '')),
        ['GRANT USAGE ON *.* TO `dr_repl`@`%`'],
      ),
      'db-a',
      ACCOUNTS,
    );
    expect(lacking.problems).toEqual([
      "dr_orchestrator on db-a lacks BINLOG_ADMIN on *.* (salvage: the BINLOG statements of mysqlbinlog's output).",
      'dr_repl@% on db-a lacks REPLICATION SLAVE on *.* (replicas: reading the binlog of their source).',
    ]);
  });
});

/** The guide's statements on a real, fresh MariaDB server: doctor finds nothing, then names a revoked privilege. */
describe('drctl doctor against the grants of the production guide (scratch MariaDB)', () => {
  let s: ScratchPair;
  const accounts = { user: 'doc_orchestrator', replicationUser: 'doc_repl' };
  const password = 'doc-pw-7';
  let connection: mysql.Connection;
  const problems = () =>
    mysqlServerProblems(
      async (sql, values) => (await connection.query(sql, values))[0] as Record<string, unknown>[],
      'db-gra-1',
      accounts,
    );

  beforeAll(async () => {
    s = await startScratchPair();
    const orchestrator = `'${accounts.user}'@'%'`;
    const replication = `'${accounts.replicationUser}'@'%'`;
    await s.cluster.sql(
      'db-gra-1',
      [
        `CREATE USER ${orchestrator} IDENTIFIED BY '${password}'`,
        `CREATE USER ${replication} IDENTIFIED BY '${password}'`,
        ...grantStatements('mariadb', 'orchestrator', orchestrator),
        ...grantStatements('mariadb', 'replication', replication),
      ]
        .map((statement) => statement.replace(/;$/, ''))
        .join(';\n'),
    );
    connection = await mysql.createConnection({
      host: '127.0.0.1',
      port: s.cluster.instance('db-gra-1').port,
      user: accounts.user,
      password,
    });
  });
  afterAll(async () => {
    await connection?.end();
    await s?.destroy();
  });

  it('finds nothing missing, then names the privilege revoked', async () => {
    expect((await problems()).problems).toEqual([]);
    await s.cluster.sql('db-gra-1', `REVOKE BINLOG REPLAY ON *.* FROM '${accounts.user}'@'%'`);
    await s.cluster.sql('db-gra-1', `REVOKE REPLICATION SLAVE ON *.* FROM '${accounts.replicationUser}'@'%'`);
    expect((await problems()).problems).toEqual([
      "doc_orchestrator on db-gra-1 lacks BINLOG REPLAY on *.* (salvage: the BINLOG statements of mariadb-binlog's output).",
      'doc_repl@% on db-gra-1 lacks REPLICATION SLAVE on *.* (replicas: reading the binlog of their source).',
    ]);
  });
});
