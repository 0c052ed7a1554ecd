import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { RedisServerStatus } from '../../activities/redis';
import type { PairSettings } from '../../activities/pair-settings';

export interface FakeRedisServer {
  reachable: boolean;
  role: 'master' | 'slave';
  /** The server it replicates from (a replica). */
  source?: string;
  /** Its writes are held (CLIENT PAUSE WRITE). */
  paused: boolean;
}

export const REDIS_SETTINGS: NonNullable<PairSettings['redis']> = {
  servers: [
    { name: 'redis-gra', site: 'gra', role: 'master', host: '10.0.0.5', port: 6379 },
    { name: 'redis-rbx', site: 'rbx', role: 'replica', host: '10.0.1.5', port: 6379 },
  ],
  pauseMs: 120_000,
  catchUpMs: 30_000,
};

const failure = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/**
 * The Redis session store in memory for the workflow tests: redis-gra the master, redis-rbx its replica; each
 * activity reads or changes this state the way the real ones change the servers, and records its call.
 */
export class FakeRedis {
  readonly calls: string[] = [];
  private readonly faults = new Map<string, number>();
  servers: Record<string, FakeRedisServer> = {
    'redis-gra': { reachable: true, role: 'master', paused: false },
    'redis-rbx': { reachable: true, role: 'slave', source: 'redis-gra', paused: false },
  };

  /** After a move to rbx: redis-rbx the master, redis-gra its replica. */
  failedOver(): this {
    this.servers['redis-gra'] = { reachable: true, role: 'slave', source: 'redis-rbx', paused: false };
    this.servers['redis-rbx'] = { reachable: true, role: 'master', paused: false };
    return this;
  }

  /** The next `times` calls of the activity fail, non-retryable, with `type`. */
  fail(activity: keyof Activities, type: string, times = 1): void {
    this.faults.set(`${activity}:${type}`, times);
  }

  private enter(name: string, server: string): FakeRedisServer {
    this.calls.push(`${name} ${server}`);
    for (const [key, left] of this.faults) {
      if (!key.startsWith(`${name}:`) || left <= 0) continue;
      this.faults.set(key, left - 1);
      throw failure(key.slice(name.length + 1), `injected fault in ${name}`);
    }
    const s = this.servers[server]!;
    if (!s.reachable) throw failure('RedisUnreachable', `${server}: connect ECONNREFUSED`);
    return s;
  }

  private status(name: string): RedisServerStatus {
    const s = this.servers[name]!;
    const site = name.replace('redis-', '');
    if (!s.reachable)
      return {
        server: name,
        site,
        reachable: false,
        error: { type: 'RedisUnreachable', message: 'connect ECONNREFUSED' },
      };
    const source = REDIS_SETTINGS.servers.find((x) => x.name === s.source);
    return {
      server: name,
      site,
      reachable: true,
      replication: {
        role: s.role,
        ...(source
          ? {
              masterHost: source.host,
              masterPort: source.port,
              linkStatus: this.servers[source.name]!.reachable ? 'up' : 'down',
              syncInProgress: false,
              replicaOffset: 1000,
              replicaReadOnly: true,
            }
          : {}),
        replOffset: 1000,
        replId: 'x',
        failoverState: 'no-failover',
        replicas: [],
      },
    };
  }

  activities(): Partial<Activities> {
    const change = (server: string, already: boolean, steps: string[], description: string) => ({
      server,
      already,
      steps: already ? [] : steps,
      description,
    });
    return {
      redisServerStatuses: async () => {
        this.calls.push('redisServerStatuses');
        return Object.keys(this.servers).map((n) => this.status(n));
      },
      redisPauseWrites: async ({ server }) => {
        const s = this.enter('redisPauseWrites', server);
        if (s.role === 'slave') return change(server, true, [], `${server} refuses writes already.`);
        s.paused = true;
        return change(server, false, ['CLIENT PAUSE 120000 WRITE'], `${server} holds every write.`);
      },
      redisUnpauseWrites: async ({ server }) => {
        const s = this.enter('redisUnpauseWrites', server);
        s.paused = false;
        return change(server, false, ['CLIENT UNPAUSE'], `${server} takes writes again (CLIENT UNPAUSE).`);
      },
      redisCatchUp: async ({ server, untilServer }) => {
        this.enter('redisCatchUp', server);
        return {
          ...change(server, true, [], `${server} had already read everything ${untilServer} holds.`),
          offset: 1000,
          waitedMs: 0,
        };
      },
      redisPromote: async ({ server, from, switchoverOnly }) => {
        const s = this.enter('redisPromote', server);
        if (s.role === 'master') return change(server, true, [], `${server} is a master already.`);
        const old = this.servers[from]!;
        if (old.reachable && old.role === 'master') {
          Object.assign(old, { role: 'slave', source: server });
          Object.assign(s, { role: 'master', source: undefined });
          return {
            ...change(server, false, ['FAILOVER'], `${server} is the master (FAILOVER).`),
            method: 'failover' as const,
            lostBytes: 0,
          };
        }
        if (switchoverOnly) throw failure('RedisMasterUnreachableForSwitchover', `${from} does not answer`);
        Object.assign(s, { role: 'master', source: undefined });
        return {
          ...change(server, false, ['REPLICAOF NO ONE'], `${server} is the master (REPLICAOF NO ONE).`),
          method: 'replicaof' as const,
        };
      },
      redisReplicate: async ({ server, source, unpause }) => {
        const src = this.servers[source]!;
        if (!src.reachable || src.role !== 'master') {
          this.calls.push(`redisReplicate ${server}`);
          throw failure('RedisSourceNotMaster', `${source} is not a master`);
        }
        const s = this.enter('redisReplicate', server);
        const already = s.role === 'slave' && s.source === source;
        Object.assign(s, { role: 'slave', source });
        if (unpause) s.paused = false;
        return change(
          server,
          already,
          [`REPLICAOF ${source}`],
          already
            ? `${server} already replicates from ${source}.`
            : `${server} is a read-only replica of ${source}.`,
        );
      },
    };
  }
}
