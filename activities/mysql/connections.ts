import path from 'node:path';
import mysql, { type Pool, type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { ApplicationFailure } from '@temporalio/common';
import { durationMs } from '../../config/duration';
import { resolvePublicReference, resolveSecret } from '../../config/secrets';
import type { MysqlServerConfig } from '../../config/schema';
import type { RunbookRegistry } from '../runbooks';
import type { Statement } from './dialect';

/** Requests waiting for one of a server's pooled connections beyond this fail at once instead of piling up. */
const POOL_QUEUE_LIMIT = 32;
/** TCP keep-alive probes start after this much silence: a peer gone without a word is noticed by the kernel. */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

const STALE_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE']);
const isStale = (err: unknown) =>
  STALE_CODES.has((err as { code?: string }).code ?? '') ||
  /closed state/i.test((err as Error)?.message ?? '');

/** One connection pool per MySQL server, created on first use and shared by every activity of the worker. */
export class MysqlConnections {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly runbooks: RunbookRegistry) {}

  server(pair: string, name: string): MysqlServerConfig {
    const server = this.runbooks.get(pair).runbook.mysql.servers.find((s) => s.name === name);
    if (!server)
      throw ApplicationFailure.nonRetryable(`pair "${pair}" has no MySQL server "${name}"`, 'UnknownServer');
    return server;
  }

  pool(pair: string, name: string): Pool {
    const key = `${pair}/${name}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const loaded = this.runbooks.get(pair);
      const { mysql: settings } = loaded.runbook;
      const server = this.server(pair, name);
      const baseDir = path.dirname(loaded.file);
      pool = mysql.createPool({
        host: server.host,
        port: server.port,
        user: settings.user,
        password: resolveSecret(settings.password, baseDir),
        // With a CA in the runbook the connection must be TLS, the certificate signed by it and naming the host.
        ssl: settings.tls && {
          ca: resolvePublicReference(settings.tls.ca, baseDir),
          rejectUnauthorized: true,
          verifyIdentity: true,
        },
        connectTimeout: durationMs(settings.connectTimeout),
        connectionLimit: 4,
        maxIdle: 1,
        idleTimeout: 30_000,
        queueLimit: POOL_QUEUE_LIMIT,
        enableKeepAlive: true,
        keepAliveInitialDelay: KEEPALIVE_INITIAL_DELAY_MS,
        supportBigNumbers: true,
        dateStrings: true,
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** The runbook's limits for one statement and for connecting, in milliseconds. */
  timeouts(pair: string): { statementMs: number; connectMs: number } {
    const { statementTimeout, connectTimeout } = this.settings(pair);
    return { statementMs: durationMs(statementTimeout), connectMs: durationMs(connectTimeout) };
  }

  /**
   * Runs one statement on a pooled connection and returns its rows; the driver's error is thrown as is. Each part
   * is bounded: getting a connection (connect timeout plus `timeoutMs`, also when waiting for a busy pool), the
   * statement (`timeoutMs`, default the runbook's statementTimeout). A
   * connection whose statement timed out or broke is destroyed, never reused: the server may still be running
   * the statement, or be gone. A pooled connection that died with its server is retried once on a fresh one.
   */
  async query(
    pair: string,
    name: string,
    statement: string | Statement,
    timeoutMs = this.timeouts(pair).statementMs,
  ): Promise<RowDataPacket[]> {
    const options =
      typeof statement === 'string'
        ? { sql: statement, timeout: timeoutMs }
        : { sql: statement.sql, values: statement.values, timeout: timeoutMs };
    for (let attempt = 1; ; attempt++) {
      const connection = await acquire(this.pool(pair, name), this.timeouts(pair).connectMs + timeoutMs);
      try {
        const [rows] = await connection.query<RowDataPacket[]>(options);
        connection.release();
        return Array.isArray(rows) ? rows : [];
      } catch (err) {
        const broken = (err as { fatal?: boolean }).fatal || isTimeout(err) || isStale(err);
        if (broken) connection.destroy();
        else connection.release();
        if (attempt === 1 && isStale(err)) continue;
        throw err;
      }
    }
  }

  /**
   * A connection of the server's pool for the caller alone, within the connect and statement timeouts: for
   * session settings (sql_log_bin, server_id, GTIDs, locks) that must die with it. Destroy it when done, never
   * release it. The driver's error is thrown as is.
   */
  dedicated(pair: string, name: string): Promise<PoolConnection> {
    const { connectMs, statementMs } = this.timeouts(pair);
    return acquire(this.pool(pair, name), connectMs + statementMs);
  }

  /** The pair's MySQL settings (non-secret parts and secret references). */
  settings(pair: string) {
    return this.runbooks.get(pair).runbook.mysql;
  }

  /** The replication account, resolved here (inside the activity) and never returned to a workflow. */
  replicationCredentials(pair: string): { user: string; password: string } {
    const loaded = this.runbooks.get(pair);
    const { replicationUser, replicationPassword } = loaded.runbook.mysql;
    return { user: replicationUser, password: resolveSecret(replicationPassword, path.dirname(loaded.file)) };
  }

  /**
   * The orchestrator's own account and, when the runbook sets one, its CA (PEM), for tools that open their own
   * connections (the rebuild's dump and load). Resolved here, inside the activity; never returned to a workflow.
   */
  orchestratorCredentials(pair: string): { user: string; password: string; tlsCa?: string } {
    const loaded = this.runbooks.get(pair);
    const { user, password, tls } = loaded.runbook.mysql;
    const baseDir = path.dirname(loaded.file);
    return {
      user,
      password: resolveSecret(password, baseDir),
      ...(tls ? { tlsCa: resolvePublicReference(tls.ca, baseDir) } : {}),
    };
  }

  /** Every secret of the pair's MySQL settings that resolves, to scrub them from error messages. */
  secrets(pair: string): string[] {
    const loaded = this.runbooks.get(pair);
    const { password, replicationPassword } = loaded.runbook.mysql;
    return [password, replicationPassword].flatMap((ref) => {
      try {
        return [resolveSecret(ref, path.dirname(loaded.file))];
      } catch {
        return [];
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.end()));
    this.pools.clear();
  }
}

const isTimeout = (err: unknown) => (err as { code?: string }).code === 'PROTOCOL_SEQUENCE_TIMEOUT';

/** A pooled connection within `timeoutMs` (mysql2 has no limit on waiting for one); a late one goes back. */
function acquire(pool: Pool, timeoutMs: number): Promise<PoolConnection> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(Object.assign(new Error(`no connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    pool.getConnection().then(
      (connection) => {
        if (settled) return connection.release();
        settled = true;
        clearTimeout(timer);
        resolve(connection);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
