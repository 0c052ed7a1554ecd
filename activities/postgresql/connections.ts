import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { durationMs } from '../../config/duration';
import { resolveSecret } from '../../config/secrets';
import type { PostgresqlConfig, PostgresqlServerConfig } from '../../config/schema';
import type { RunbookRegistry } from '../runbooks';

/** What a query needs of a client: pg's Client, or a test's stand-in. */
export interface PgClient {
  connect(): Promise<unknown>;
  query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}

export type PgClientFactory = (config: pg.ClientConfig) => PgClient;

const newClient: PgClientFactory = (config) => new pg.Client(config);

/**
 * Connections to the pair's PostgreSQL servers: one client per query, closed after it. A switchover stops and starts
 * servers under these connections, so nothing is pooled that could hold a connection to a server that went away.
 */
export class PgConnections {
  constructor(
    private readonly runbooks: RunbookRegistry,
    private readonly connect: PgClientFactory = newClient,
  ) {}

  settings(pair: string): PostgresqlConfig {
    const settings = this.runbooks.get(pair).runbook.postgresql;
    if (!settings)
      throw ApplicationFailure.nonRetryable(`pair "${pair}" has no postgresql section`, 'UnknownServer');
    return settings;
  }

  server(pair: string, name: string): PostgresqlServerConfig {
    const server = this.settings(pair).servers.find((s) => s.name === name);
    if (!server)
      throw ApplicationFailure.nonRetryable(
        `pair "${pair}" has no PostgreSQL server "${name}"`,
        'UnknownServer',
      );
    return server;
  }

  baseDir(pair: string): string {
    return path.dirname(this.runbooks.get(pair).file);
  }

  /** The orchestrator's password, resolved here (inside the activity) and never returned to a workflow. */
  password(pair: string): string {
    return resolveSecret(this.settings(pair).password, this.baseDir(pair));
  }

  /** The replication account, resolved here and never returned to a workflow. */
  replicationCredentials(pair: string): { user: string; password: string } {
    const { replicationUser, replicationPassword } = this.settings(pair);
    return { user: replicationUser, password: resolveSecret(replicationPassword, this.baseDir(pair)) };
  }

  /** The secrets of the pair, for redaction of error texts. */
  secrets(pair: string): string[] {
    return [this.password(pair), this.replicationCredentials(pair).password];
  }

  /**
   * Runs one statement on `name` and returns its rows; pg's error is thrown as is. Connecting is bounded by the
   * runbook's connectTimeout, the statement by `timeoutMs` (default its statementTimeout), on both sides: the server
   * cancels it (statement_timeout) and the client gives up (query_timeout).
   */
  async query(
    pair: string,
    name: string,
    sql: string,
    values: unknown[] = [],
    timeoutMs = durationMs(this.settings(pair).statementTimeout),
  ): Promise<Record<string, unknown>[]> {
    const settings = this.settings(pair);
    const server = this.server(pair, name);
    const client = this.connect({
      host: server.host,
      port: server.port,
      user: settings.user,
      password: this.password(pair),
      database: settings.database,
      connectionTimeoutMillis: durationMs(settings.connectTimeout),
      statement_timeout: timeoutMs,
      query_timeout: timeoutMs + 1000,
      application_name: 'dr-orchestrator',
    });
    // A server that goes away between queries must not crash the worker through an unhandled 'error' event.
    (client as Partial<pg.Client>).on?.('error', () => undefined);
    try {
      await client.connect();
      return (await client.query(sql, values)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
