import type { Dialect } from './dialect';

/**
 * The output of the server's own binlog tool (`mariadb-binlog` / `mysqlbinlog`) as the statements the mysql
 * client would send, for applying it over one connection of the worker: what the client does with such a
 * script is split it on the current delimiter (`DELIMITER /*!*\/;` for the events) and drop the `#` comment
 * lines the tool writes between statements. A statement's own lines are kept as they are (a multi-line BINLOG
 * statement, a DDL). Row-based binlogs only ever put DDL text and BEGIN/COMMIT in statements.
 */
export interface BinlogScript {
  statements: string[];
  /**
   * The GTIDs of the transactions in the script, in order, as the statements set them: MariaDB
   * `SET @@session.gtid_domain_id / server_id / gtid_seq_no` (domain-server-seq), MySQL `SET GTID_NEXT='uuid:n'` (not AUTOMATIC nor ANONYMOUS).
   */
  gtids: string[];
  /** The output ended inside a statement (the tool stopped early): that statement is left out. */
  incompleteTail: boolean;
}

const MARIADB_SESSION_VAR = /SET @@session\.(gtid_domain_id|server_id|gtid_seq_no)=(\d+)/i;
const MYSQL_GTID_NEXT = /SET @@SESSION\.GTID_NEXT= *'([^']+)'/i;

export function parseBinlogScript(text: string, dialect: Dialect): BinlogScript {
  const statements: string[] = [];
  const gtids: string[] = [];
  const reader = new GtidReader(dialect);
  let delimiter = ';';
  let current: string[] = [];
  for (const line of text.split('\n')) {
    if (current.length === 0) {
      if (line.trim() === '' || line.startsWith('#')) continue;
      const switched = /^DELIMITER\s+(\S+)\s*$/i.exec(line);
      if (switched) {
        delimiter = switched[1]!;
        continue;
      }
    }
    const end = line.trimEnd();
    if (!end.endsWith(delimiter)) {
      current.push(line);
      continue;
    }
    current.push(end.slice(0, end.length - delimiter.length));
    const statement = current.join('\n');
    current = [];
    statements.push(statement);
    const gtid = reader.read(statement);
    if (gtid) gtids.push(gtid);
  }
  return { statements, gtids, incompleteTail: current.some((l) => l.trim() !== '') };
}

/** Follows the statements of a script in order and says which one starts a transaction, with its GTID. */
export class GtidReader {
  private domain = 0;
  private serverId = 0;

  constructor(private readonly dialect: Dialect) {}

  /** The GTID this statement gives the next transaction, if it does. */
  read(statement: string): string | undefined {
    if (this.dialect === 'mysql') {
      const next = MYSQL_GTID_NEXT.exec(statement)?.[1];
      return next && !['AUTOMATIC', 'ANONYMOUS'].includes(next.toUpperCase()) ? next : undefined;
    }
    // MariaDB sets the domain and server_id when they change, then gtid_seq_no for every transaction.
    const set = MARIADB_SESSION_VAR.exec(statement);
    if (!set) return undefined;
    const value = Number(set[2]);
    const name = set[1]!.toLowerCase();
    if (name === 'gtid_domain_id') this.domain = value;
    else if (name === 'server_id') this.serverId = value;
    else return `${this.domain}-${this.serverId}-${value}`;
    return undefined;
  }
}
