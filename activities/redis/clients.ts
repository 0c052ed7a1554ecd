import path from 'node:path';
import Redis, { type RedisOptions } from 'ioredis';
import { durationMs } from '../../config/duration';
import type { RedisConfig, RedisServerConfig } from '../../config/schema';
import { resolveSecret } from '../../config/secrets';
import type { RunbookRegistry } from '../runbooks';
import { redisDecision, redisFailure } from './errors';
import { parseReplicationInfo, type RedisServerStatus } from './status';

/** Makes one client; tests inject their own (a client that records commands, or points elsewhere). */
export type RedisClientFactory = (options: RedisOptions) => Redis;

/** A connected client of one server, with what its errors must never show. */
export interface RedisSession {
  server: RedisServerConfig;
  client: Redis;
  /** The password, for redaction and for masterauth. */
  password: string | undefined;
  username: string | undefined;
  /** Runs one command; an error becomes a typed failure naming the server. */
  command(...args: (string | number)[]): Promise<unknown>;
}

/**
 * Clients of a pair's Redis servers, with the runbook's address, password (read here, from its env:/file: reference)
 * and timeouts. A client per activity call: connected, used, then closed, so that a server that died or came back
 * is always met afresh and no reconnect loop outlives the call.
 */
export class RedisClients {
  constructor(
    private readonly runbooks: RunbookRegistry,
    private readonly factory: RedisClientFactory = (options) => new Redis(options),
  ) {}

  settings(pair: string): RedisConfig {
    const redis = this.runbooks.get(pair).runbook.redis;
    if (!redis)
      throw redisDecision('RedisInvalidInput', `pair "${pair}" has no redis section in its runbook`);
    return redis;
  }

  server(pair: string, name: string): RedisServerConfig {
    const server = this.settings(pair).servers.find((s) => s.name === name);
    if (!server)
      throw redisDecision(
        'RedisInvalidInput',
        `pair "${pair}" has no Redis server "${name}" (known: ${this.settings(pair)
          .servers.map((s) => s.name)
          .join(', ')})`,
      );
    return server;
  }

  /** Connects to `name`, runs `work`, and closes the client whatever happens. */
  async with<T>(pair: string, name: string, work: (session: RedisSession) => Promise<T>): Promise<T> {
    const server = this.server(pair, name);
    const settings = this.settings(pair);
    let password: string | undefined;
    try {
      password = settings.password
        ? resolveSecret(settings.password, path.dirname(this.runbooks.get(pair).file))
        : undefined;
    } catch (err) {
      throw redisFailure(name, err);
    }
    const secrets = password ? [password] : [];
    const client = this.factory({
      host: server.host,
      port: server.port,
      connectTimeout: durationMs(settings.connectTimeout),
      commandTimeout: durationMs(settings.commandTimeout),
      lazyConnect: true,
      enableReadyCheck: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
    });
    // The client's own error (WRONGPASS on the AUTH it sends when connecting, ECONNREFUSED…) explains a command
    // or connect that fails with "Connection is closed"; kept here, never printed.
    let clientError: Error | undefined;
    client.on('error', (err: Error) => {
      clientError = err;
    });
    const failure = (err: unknown) =>
      redisFailure(
        name,
        /Connection is closed/.test((err as Error)?.message ?? '') && clientError ? clientError : err,
        secrets,
      );
    const session: RedisSession = {
      server,
      client,
      password,
      username: settings.username,
      command: async (...args) => {
        try {
          return await client.call(String(args[0]), ...args.slice(1).map(String));
        } catch (err) {
          throw failure(err);
        }
      },
    };
    try {
      try {
        await client.connect();
      } catch (err) {
        throw failure(err);
      }
      // AUTH sent here rather than by the client on connect: its refusal (WRONGPASS) then comes back as the error.
      if (password)
        await session.command('AUTH', ...(settings.username ? [settings.username] : []), password);
      return await work(session);
    } finally {
      client.disconnect();
    }
  }

  /** `INFO replication` of one server, parsed; a failure to connect or read is thrown, typed. */
  async replication(pair: string, name: string) {
    return this.with(pair, name, (session) => readReplication(session));
  }

  /** Every server's status; one that cannot be read is reported as unreachable, with why. */
  async statuses(pair: string): Promise<RedisServerStatus[]> {
    return Promise.all(
      this.settings(pair).servers.map(async (s): Promise<RedisServerStatus> => {
        try {
          return {
            server: s.name,
            site: s.site,
            reachable: true,
            replication: await this.replication(pair, s.name),
          };
        } catch (err) {
          const failure = redisFailure(s.name, err);
          return {
            server: s.name,
            site: s.site,
            reachable: false,
            error: { type: failure.type ?? 'RedisError', message: failure.message },
          };
        }
      }),
    );
  }
}

export async function readReplication(session: RedisSession) {
  const text = await session.command('INFO', 'replication');
  return parseReplicationInfo(String(text));
}
