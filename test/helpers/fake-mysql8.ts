import mysql, { type Pool } from 'mysql2/promise';
import { parseMysqlGtidSet } from '../../common/gtid';

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
  /** Transaction numbers of each uuid in gtid_executed. */
  executed: Map<string, Set<number>>;
  replica?: FakeReplica;
  sessions: { id: number; user: string; command: string }[];
  statements: string[];
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
    .join(',');

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
    const fake = {
      query: async (options: string | { sql: string; values?: unknown[] }) => [
        this.answer(name, typeof options === 'string' ? { sql: options } : options),
        [],
      ],
    };
    return fake as unknown as Pool;
  }

  private answer(name: string, options: { sql: string; values?: unknown[] }): unknown {
    const server = this.get(name);
    const text = mysql.format(options.sql, (options.values ?? []) as never[]);
    server.statements.push(text);
    this.sync();
    const syntax = () =>
      Object.assign(new Error(`You have an error in your SQL syntax near '${text.slice(0, 40)}'`), {
        code: 'ER_PARSE_ERROR',
        errno: 1064,
        sqlState: '42000',
      });
    let m: RegExpExecArray | null;
    if (text === 'SELECT VERSION() AS version') return [{ version: '8.0.36' }];
    if (
      text.startsWith('SELECT @@global.read_only AS read_only, @@global.super_read_only AS super_read_only,')
    )
      return [
        {
          read_only: server.readOnly ? 1 : 0,
          super_read_only: server.superReadOnly ? 1 : 0,
          gtid_executed: toText(server.executed),
          gtid_mode: 'ON',
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
      const wanted = toSet(m[1] as string);
      const missing = [...wanted].some(([uuid, seqs]) =>
        [...seqs].some((n) => !server.executed.get(uuid)?.has(n)),
      );
      return [{ result: missing ? 1 : 0 }];
    }
    if ((m = /^SELECT GTID_SUBTRACT\('([^']*)', '([^']*)'\) AS errant$/.exec(text))) {
      const [a, b] = [toSet(m[1] as string), toSet(m[2] as string)];
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
