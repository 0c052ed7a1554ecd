import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import mysql, { type Pool } from 'mysql2/promise';
import { stringify } from 'yaml';
import { createActivities, createClients } from '../../activities';
import { MysqlConnections } from '../../activities/mysql/connections';
import { parseMysqlGtidSet } from '../../common/gtid';
import { loadRunbooks } from '../../config/load';
import { runActivity } from './local-stack';
import { TEST_APPROVER_LINE } from './approver';

/**
 * A scripted stand-in for MySQL 8.0 servers that accepts only the statements of activities/mysql/dialect.ts
 * (anything else fails like a syntax error), keeps just enough state (read-only flags, gtid_executed, the
 * replication configuration, sessions) to answer them, and records every statement it receives. It is a
 * check that the activities speak the MySQL dialect, not a MySQL emulator: replication is instant.
 */
export interface FakeReplica {
  host: string;
  port: number;
  user: string;
  password: string;
  autoPosition: boolean;
  io: 'Yes' | 'No';
  sql: 'Yes' | 'No';
  retrieved: string;
}

export interface FakeServer {
  name: string;
  port: number;
  uuid: string;
  readOnly: boolean;
  superReadOnly: boolean;
  /** What SELECT VERSION() answers (8.0.36 by default). */
  version: string;
  gtidMode: 'ON' | 'OFF' | 'ON_PERMISSIVE' | 'OFF_PERMISSIVE';
  enforceGtidConsistency: 'ON' | 'OFF' | 'WARN';
  /** Semi-sync switches by name; a name is absent when its plugin is not loaded (none by default). */
  semiSync: Map<string, boolean>;
  /** Transaction numbers of each uuid in gtid_executed. */
  executed: Map<string, Set<number>>;
  replica?: FakeReplica;
  sessions: { id: number; user: string; command: string }[];
  statements: string[];
  /** Answers a statement in place of the stand-in when it returns something (or throws), e.g. to inject a fault. */
  intercept?: (statement: string) => unknown;
}

const toSet = (text: string) => {
  const out = new Map<string, Set<number>>();
  for (const [uuid, intervals] of parseMysqlGtidSet(text)) {
    const seqs = out.get(uuid) ?? new Set<number>();
    for (const [from, to] of intervals) for (let n = from; n <= to; n++) seqs.add(n);
    out.set(uuid, seqs);
  }
  return out;
};

/**
 * A GTID set as MySQL prints it: uuids in order, members separated by ",\n" (mysql-server sql/rpl_gtid_set.cc,
 * `Gtid_set::default_string_format`, whose gtid_set_separator is ",\n"; so gtid_executed, Executed_Gtid_Set,
 * Retrieved_Gtid_Set and GTID_SUBTRACT() of several sources span several lines).
 */
const toText = (set: Map<string, Set<number>>) =>
  [...set.entries()]
    .filter(([, seqs]) => seqs.size > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([uuid, seqs]) => {
      const sorted = [...seqs].sort((a, b) => a - b);
      const ranges: string[] = [];
      let start = sorted[0] as number;
      let prev = start;
      for (const n of [...sorted.slice(1), Number.NaN]) {
        if (n === prev + 1) {
          prev = n;
          continue;
        }
        ranges.push(start === prev ? `${start}` : `${start}-${prev}`);
        start = n;
        prev = n;
      }
      return `${uuid}:${ranges.join(':')}`;
    })
    .join(',\n');

/** A quoted value of a statement as mysql2 formatted it ("\n" escaped), back to its text. */
const unescaped = (value: string) => value.replace(/\\n/g, '\n').replace(/\\'/g, "'");

const union = (a: Map<string, Set<number>>, b: Map<string, Set<number>>) => {
  for (const [uuid, seqs] of b) {
    const into = a.get(uuid) ?? new Set<number>();
    for (const n of seqs) into.add(n);
    a.set(uuid, into);
  }
};

export class FakeMysql8 {
  readonly servers = new Map<string, FakeServer>();
  private nextSession = 100;

  add(
    name: string,
    port: number,
    uuid: string,
    role: 'primary' | 'replica',
    sourcePort?: number,
  ): FakeServer {
    const server: FakeServer = {
      name,
      port,
      uuid,
      readOnly: role === 'replica',
      superReadOnly: role === 'replica',
      version: '8.0.36',
      gtidMode: 'ON',
      enforceGtidConsistency: 'ON',
      semiSync: new Map(),
      executed: new Map(),
      sessions: [{ id: this.nextSession++, user: 'app', command: 'Sleep' }],
      statements: [],
      replica:
        role === 'replica'
          ? {
              host: '127.0.0.1',
              port: sourcePort ?? 0,
              user: 'repl',
              password: 'x',
              autoPosition: true,
              io: 'Yes',
              sql: 'Yes',
              retrieved: '',
            }
          : undefined,
    };
    this.servers.set(name, server);
    return server;
  }

  /** Commits `count` transactions on `name` (as its own, with its uuid). */
  write(name: string, count: number): void {
    const server = this.get(name);
    const seqs = server.executed.get(server.uuid) ?? new Set<number>();
    const start = seqs.size + 1;
    for (let n = start; n < start + count; n++) seqs.add(n);
    server.executed.set(server.uuid, seqs);
    this.sync();
  }

  get(name: string): FakeServer {
    const server = this.servers.get(name);
    if (!server) throw new Error(`no fake server ${name}`);
    return server;
  }

  gtidExecuted(name: string): string {
    return toText(this.get(name).executed);
  }

  /** Replication is instant: every running replica holds what its source holds. */
  private sync(): void {
    for (let round = 0; round < 3; round++) {
      for (const server of this.servers.values()) {
        const r = server.replica;
        if (!r || r.io !== 'Yes') continue;
        const source = [...this.servers.values()].find((s) => s.port === r.port);
        if (!source) continue;
        r.retrieved = toText(source.executed);
        if (r.sql === 'Yes') union(server.executed, source.executed);
      }
    }
  }

  pool(name: string): Pool {
    const query = async (options: string | { sql: string; values?: unknown[] }) => [
      this.answer(name, typeof options === 'string' ? { sql: options } : options),
      [],
    ];
    const connection = { query, release: () => undefined, destroy: () => undefined };
    return { query, getConnection: async () => connection } as unknown as Pool;
  }

  private answer(name: string, options: { sql: string; values?: unknown[] }): unknown {
    const server = this.get(name);
    const text = mysql.format(options.sql, (options.values ?? []) as never[]);
    server.statements.push(text);
    this.sync();
    const intercepted = server.intercept?.(text);
    if (intercepted !== undefined) return intercepted;
    const syntax = () =>
      Object.assign(new Error(`You have an error in your SQL syntax near '${text.slice(0, 40)}'`), {
        code: 'ER_PARSE_ERROR',
        errno: 1064,
        sqlState: '42000',
      });
    let m: RegExpExecArray | null;
    if (text === 'SELECT VERSION() AS version') return [{ version: server.version }];
    if (
      text.startsWith('SELECT @@global.read_only AS read_only, @@global.super_read_only AS super_read_only,')
    )
      return [
        {
          read_only: server.readOnly ? 1 : 0,
          super_read_only: server.superReadOnly ? 1 : 0,
          gtid_executed: toText(server.executed),
          gtid_mode: server.gtidMode,
          enforce_gtid_consistency: server.enforceGtidConsistency,
          server_id: server.uuid,
        },
      ];
    if (text === 'SHOW REPLICA STATUS') {
      const r = server.replica;
      if (!r) return [];
      const source = [...this.servers.values()].find((s) => s.port === r.port);
      return [
        {
          Replica_IO_Running: r.io,
          Replica_SQL_Running: r.sql,
          Seconds_Behind_Source: r.io === 'Yes' && r.sql === 'Yes' ? 0 : null,
          Source_Host: r.host,
          Source_Port: r.port,
          Retrieved_Gtid_Set: r.retrieved,
          Executed_Gtid_Set: toText(server.executed),
          Last_IO_Errno: 0,
          Last_IO_Error: '',
          Last_SQL_Errno: 0,
          Last_SQL_Error: '',
          Source_Server_Id: source ? 1 : 0,
          Replica_SQL_Running_State: 'Replica has read all relay log; waiting for more updates',
          SQL_Delay: 0,
          Auto_Position: r.autoPosition ? 1 : 0,
        },
      ];
    }
    if (text === 'STOP REPLICA') {
      if (server.replica) Object.assign(server.replica, { io: 'No', sql: 'No' });
      return { affectedRows: 0 };
    }
    if (text === 'START REPLICA' || text === 'START REPLICA SQL_THREAD') {
      if (!server.replica)
        throw Object.assign(new Error('no source configured'), { code: 'ER_REPLICA_CONFIGURATION' });
      server.replica.sql = 'Yes';
      if (text === 'START REPLICA') server.replica.io = 'Yes';
      this.sync();
      return { affectedRows: 0 };
    }
    if (text === 'RESET REPLICA ALL') {
      if (server.replica?.io === 'Yes' || server.replica?.sql === 'Yes')
        throw Object.assign(new Error('replica threads running'), { code: 'ER_REPLICA_CHANNEL_MUST_STOP' });
      server.replica = undefined;
      return { affectedRows: 0 };
    }
    if (text === "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%_enabled'")
      return [...server.semiSync].map(([name, on]) => ({ Variable_name: name, Value: on ? 'ON' : 'OFF' }));
    if ((m = /^SET GLOBAL (rpl_semi_sync_\w+_enabled)=ON$/.exec(text))) {
      // Only the loaded plugin's variables exist (MySQL: "Unknown system variable" otherwise).
      if (!server.semiSync.has(m[1] as string))
        throw Object.assign(new Error(`Unknown system variable '${m[1]}'`), {
          code: 'ER_UNKNOWN_SYSTEM_VARIABLE',
        });
      server.semiSync.set(m[1] as string, true);
      return { affectedRows: 0 };
    }
    if ((m = /^SET GLOBAL super_read_only=(ON|OFF)$/.exec(text))) {
      server.superReadOnly = m[1] === 'ON';
      if (server.superReadOnly) server.readOnly = true;
      return { affectedRows: 0 };
    }
    if ((m = /^SET GLOBAL read_only=(ON|OFF)$/.exec(text))) {
      server.readOnly = m[1] === 'ON';
      if (!server.readOnly) server.superReadOnly = false;
      return { affectedRows: 0 };
    }
    if (
      (m =
        /^CHANGE REPLICATION SOURCE TO SOURCE_HOST='([^']*)', SOURCE_PORT=(\d+), SOURCE_USER='([^']*)', SOURCE_PASSWORD='([^']*)', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=(\d+), GET_SOURCE_PUBLIC_KEY=1$/.exec(
          text,
        ))
    ) {
      if (server.replica?.io === 'Yes' || server.replica?.sql === 'Yes')
        throw Object.assign(new Error('replica threads running'), { code: 'ER_REPLICA_CHANNEL_MUST_STOP' });
      server.replica = {
        host: m[1] as string,
        port: Number(m[2]),
        user: m[3] as string,
        password: m[4] as string,
        autoPosition: true,
        io: 'No',
        sql: 'No',
        retrieved: '',
      };
      return { affectedRows: 0 };
    }
    if ((m = /^SELECT WAIT_FOR_EXECUTED_GTID_SET\('([^']*)', (\d+)\) AS result$/.exec(text))) {
      const wanted = toSet(unescaped(m[1] as string));
      const missing = [...wanted].some(([uuid, seqs]) =>
        [...seqs].some((n) => !server.executed.get(uuid)?.has(n)),
      );
      return [{ result: missing ? 1 : 0 }];
    }
    if ((m = /^SELECT GTID_SUBTRACT\('([^']*)', '([^']*)'\) AS errant$/.exec(text))) {
      const [a, b] = [toSet(unescaped(m[1] as string)), toSet(unescaped(m[2] as string))];
      for (const [uuid, seqs] of a) for (const n of b.get(uuid) ?? []) seqs.delete(n);
      return [{ errant: toText(a) }];
    }
    if (
      text.startsWith('SELECT ID AS id, USER AS user, COMMAND AS command FROM information_schema.PROCESSLIST')
    )
      return server.sessions.map((s) => ({ ...s }));
    if ((m = /^KILL CONNECTION (\d+)$/.exec(text))) {
      server.sessions = server.sessions.filter((s) => s.id !== Number(m?.[1]));
      return { affectedRows: 0 };
    }
    throw syntax();
  }
}

export const FAKE_UUIDS = {
  A: '3e11fa47-71ca-11e1-9e33-c80aa9429562',
  B: '4f22ab58-82db-22f2-af44-d91bb0530673',
  C: '5a33bc69-93ec-33a3-b055-e02cc1641784',
} as const;

/** Passwords of the stand-in pair's runbook (read from the environment, as `env:` secret references). */
export const FAKE_PASSWORDS = { orchestrator: 'orchestrator-pw', replication: 'repl-pw-42' } as const;

/**
 * A runbook (pair "fake-mysql8": db-a primary with 5 transactions, db-b and db-c replicas) whose servers are
 * MySQL 8.0 stand-ins, and the worker's activities over it. `mysql` overrides settings of the runbook's mysql section.
 */
export function fakeMysql8Pair(mysqlSettings: Record<string, unknown> = {}) {
  process.env.DR_FAKE_MYSQL_PASSWORD = FAKE_PASSWORDS.orchestrator;
  process.env.DR_FAKE_REPL_PASSWORD = FAKE_PASSWORDS.replication;
  const pair = 'fake-mysql8';
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'fake-mysql8-')), 'runbook.yaml');
  writeFileSync(
    file,
    stringify({
      pair,
      sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
      mysql: {
        user: 'dr_orchestrator',
        password: 'env:DR_FAKE_MYSQL_PASSWORD',
        replicationUser: 'repl',
        replicationPassword: 'env:DR_FAKE_REPL_PASSWORD',
        servers: [
          { name: 'db-a', site: 'gra', host: '127.0.0.1', port: 3301, role: 'primary' },
          { name: 'db-b', site: 'rbx', host: '127.0.0.1', port: 3302, role: 'replica' },
          { name: 'db-c', site: 'rbx', host: '127.0.0.1', port: 3303, role: 'replica' },
        ],
        killClientConnectionsOnFence: true,
        ...mysqlSettings,
      },
      approval: { policy: 'auto', approvers: [TEST_APPROVER_LINE] },
    }),
  );
  const fake = new FakeMysql8();
  fake.add('db-a', 3301, FAKE_UUIDS.A, 'primary');
  fake.add('db-b', 3302, FAKE_UUIDS.B, 'replica', 3301);
  fake.add('db-c', 3303, FAKE_UUIDS.C, 'replica', 3301);
  fake.write('db-a', 5);
  class FakeConnections extends MysqlConnections {
    override pool(_pair: string, name: string) {
      return fake.pool(name);
    }
  }
  const clients = createClients(loadRunbooks([file]));
  const activities = createActivities({ ...clients, mysql: new FakeConnections(clients.runbooks) });
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const act = <K extends keyof typeof activities>(name: K, ...args: Parameters<(typeof activities)[K]>) =>
    runActivity(env, activities[name] as (...a: unknown[]) => Promise<unknown>, ...args) as ReturnType<
      (typeof activities)[K]
    >;
  /** Statements a server received since the last call. */
  const taken = (name: string) => fake.get(name).statements.splice(0);
  return {
    fake,
    pair,
    act,
    taken,
    close: async () => {
      delete process.env.DR_FAKE_MYSQL_PASSWORD;
      delete process.env.DR_FAKE_REPL_PASSWORD;
      await clients.close();
    },
  };
}
