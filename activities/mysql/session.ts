import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { MysqlServerConfig } from '../../config/schema';
import type { MysqlConnections } from './connections';
import { detectDialect, redactedSql, type Dialect, type Statement } from './dialect';
import { mysqlFailure } from './errors';
import { fetchServerStatus, type MysqlServerStatus } from './status';

/** Default client-side limit for one statement; waits pass their own. */
const STATEMENT_TIMEOUT_MS = 30_000;

const STALE_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE']);
const isStale = (err: unknown) =>
  STALE_CODES.has((err as { code?: string }).code ?? '') ||
  /closed state/i.test((err as Error)?.message ?? '');

/**
 * One MySQL/MariaDB server of a pair as an activity sees it: its dialect, and statements that fail with
 * typed Temporal failures that never carry a secret (the statement text is not in them, and every secret
 * of the pair is scrubbed from the driver's message).
 */
export class MysqlSession {
  private constructor(
    readonly pair: string,
    readonly config: MysqlServerConfig,
    private readonly pool: Pool,
    readonly secrets: readonly string[],
    readonly version: string,
    readonly dialect: Dialect,
  ) {}

  /** Connects (through the worker's pool) and detects the dialect; unreachable → `MysqlUnreachable`, etc. */
  static async open(connections: MysqlConnections, pair: string, name: string): Promise<MysqlSession> {
    const config = connections.server(pair, name);
    const secrets = connections.secrets(pair);
    let pool: Pool;
    try {
      pool = connections.pool(pair, name);
    } catch (err) {
      throw mysqlFailure(name, err, secrets);
    }
    const rows = await query(pool, name, secrets, 'SELECT VERSION() AS version', STATEMENT_TIMEOUT_MS);
    const version = String(rows[0]?.version ?? '');
    return new MysqlSession(pair, config, pool, secrets, version, detectDialect(version));
  }

  get name(): string {
    return this.config.name;
  }

  /** Runs one statement and returns its rows. */
  rows(statement: string | Statement, timeoutMs = STATEMENT_TIMEOUT_MS): Promise<RowDataPacket[]> {
    return query(this.pool, this.name, this.secrets, statement, timeoutMs);
  }

  async exec(statement: string | Statement, timeoutMs = STATEMENT_TIMEOUT_MS): Promise<void> {
    await this.rows(statement, timeoutMs);
  }

  /** The server's state (throws typed failures when it cannot be read). */
  status(): Promise<MysqlServerStatus> {
    return fetchServerStatus((sql) => this.rows(sql), this.name, this.config.site);
  }

  /** A statement as it can be shown (secrets replaced by ***). */
  static show(statement: string | Statement): string {
    return typeof statement === 'string' ? statement : redactedSql(statement);
  }
}

async function query(
  pool: Pool,
  server: string,
  secrets: readonly string[],
  statement: string | Statement,
  timeoutMs: number,
): Promise<RowDataPacket[]> {
  const options =
    typeof statement === 'string'
      ? { sql: statement, timeout: timeoutMs }
      : { sql: statement.sql, values: statement.values, timeout: timeoutMs };
  for (let attempt = 1; ; attempt++) {
    try {
      const [rows] = await pool.query<RowDataPacket[]>(options);
      return Array.isArray(rows) ? rows : [];
    } catch (err) {
      // A pooled connection that died with its server (restart, failover) is retried once on a fresh one.
      if (attempt === 1 && isStale(err)) continue;
      const carriesSecret = typeof statement !== 'string' && !!statement.secretValues?.length;
      throw mysqlFailure(server, err, secrets, carriesSecret ? (statement.name ?? 'a statement') : undefined);
    }
  }
}
