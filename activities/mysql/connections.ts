import path from 'node:path';
import mysql, { type Pool } from 'mysql2/promise';
import { ApplicationFailure } from '@temporalio/common';
import { durationMs } from '../../config/duration';
import { resolveSecret } from '../../config/secrets';
import type { MysqlServerConfig } from '../../config/schema';
import type { RunbookRegistry } from '../runbooks';

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
          ca: resolveSecret(settings.tls.ca, baseDir),
          rejectUnauthorized: true,
          verifyIdentity: true,
        },
        connectTimeout: durationMs(settings.connectTimeout),
        connectionLimit: 4,
        maxIdle: 1,
        idleTimeout: 30_000,
        enableKeepAlive: true,
        supportBigNumbers: true,
        dateStrings: true,
      });
      this.pools.set(key, pool);
    }
    return pool;
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
