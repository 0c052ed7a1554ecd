import type { RowDataPacket } from 'mysql2/promise';
import type { MysqlServerConfig } from '../../config/schema';
import type { MysqlConnections } from './connections';
import { detectDialect, redactedSql, type Dialect, type Statement } from './dialect';
import { mysqlFailure } from './errors';
import { fetchServerStatus, type MysqlServerStatus } from './status';

/**
 * One MySQL/MariaDB server of a pair as an activity sees it: its dialect, and statements that fail with
 * typed Temporal failures that never carry a secret (the statement text is not in them, and every secret
 * of the pair is scrubbed from the driver's message).
 */
export class MysqlSession {
  private constructor(
    readonly pair: string,
    readonly config: MysqlServerConfig,
    private readonly connections: MysqlConnections,
    readonly secrets: readonly string[],
    readonly version: string,
    readonly dialect: Dialect,
  ) {}

  /** Connects (through the worker's pool) and detects the dialect; unreachable → `MysqlUnreachable`, etc. */
  static async open(connections: MysqlConnections, pair: string, name: string): Promise<MysqlSession> {
    const config = connections.server(pair, name);
    const secrets = connections.secrets(pair);
    const rows = await query(connections, pair, name, secrets, 'SELECT VERSION() AS version');
    const version = String(rows[0]?.version ?? '');
    return new MysqlSession(pair, config, connections, secrets, version, detectDialect(version));
  }

  get name(): string {
    return this.config.name;
  }

  /** Runs one statement and returns its rows (within the runbook's statement timeout unless given one). */
  rows(statement: string | Statement, timeoutMs?: number): Promise<RowDataPacket[]> {
    return query(this.connections, this.pair, this.name, this.secrets, statement, timeoutMs);
  }

  async exec(statement: string | Statement, timeoutMs?: number): Promise<void> {
    await this.rows(statement, timeoutMs);
  }

  /** The runbook's limit for one statement, in milliseconds (a wait adds it to its own duration). */
  get statementTimeoutMs(): number {
    return this.connections.timeouts(this.pair).statementMs;
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
  connections: MysqlConnections,
  pair: string,
  server: string,
  secrets: readonly string[],
  statement: string | Statement,
  timeoutMs?: number,
): Promise<RowDataPacket[]> {
  try {
    return await connections.query(pair, server, statement, timeoutMs);
  } catch (err) {
    const carriesSecret = typeof statement !== 'string' && !!statement.secretValues?.length;
    throw mysqlFailure(server, err, secrets, carriesSecret ? (statement.name ?? 'a statement') : undefined);
  }
}
