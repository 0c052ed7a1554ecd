/**
 * The Redis activities when the path to a server fails (through Toxiproxy in front of a scratch pair): a server
 * that does not answer (blackhole), answers slowly (latency) or refuses connections. Each failure is typed as a
 * retry can fix it, comes within the runbook's timeouts, and a status read reports the server instead of failing.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Proxy } from 'toxiproxy-node-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createRedisActivities, RedisClients } from '../activities/redis';
import { RunbookRegistry } from '../activities/runbooks';
import { loadRunbooks } from '../config/load';
import { freePort } from '../dev/stack/daemon';
import { failureOf } from './helpers/failures';
import { runActivity } from './helpers/run-activity';
import { redisRunbook, startScratchRedisPair, type ScratchRedisPair } from './helpers/scratch-redis';
import { startToxiproxy, type RunningToxiproxy } from './helpers/toxiproxy';

type RedisActivities = ReturnType<typeof createRedisActivities>;

describe('Redis activities under faults of the path to a server (Toxiproxy)', () => {
  let redis: ScratchRedisPair;
  let toxiproxy: RunningToxiproxy;
  let graProxy: Proxy;
  let activities: RedisActivities;
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const pair = 'scratch-redis-faults';
  const act = <K extends keyof RedisActivities>(name: K, ...args: Parameters<RedisActivities[K]>) =>
    runActivity(env, activities[name] as never, ...(args as unknown as never[])) as ReturnType<
      RedisActivities[K]
    >;
  /** Runs `call`, which must fail, and returns its failure and how long it took. */
  const timed = async (call: () => Promise<unknown>) => {
    const started = Date.now();
    const failure = await failureOf(call());
    return { failure, ms: Date.now() - started };
  };

  beforeAll(async () => {
    redis = await startScratchRedisPair();
    toxiproxy = await startToxiproxy(path.join(redis.dir, 'toxiproxy'), () => undefined);
    const listen = await freePort();
    graProxy = await toxiproxy.proxy('redis-gra', `127.0.0.1:${listen}`, `127.0.0.1:${redis.gra.port}`);
    const file = path.join(redis.dir, 'runbook-faults.yaml');
    // The worker reaches redis-gra through the proxy (connect 1s, commands 2s).
    writeFileSync(file, stringify(redisRunbook(pair, redis.runbookSection({ gra: listen }))));
    activities = createRedisActivities({
      clients: new RedisClients(new RunbookRegistry(loadRunbooks([file]))),
    });
  }, 60_000);
  afterEach(async () => toxiproxy?.restore());
  afterAll(async () => {
    await toxiproxy?.stop();
    await redis?.close();
  });

  it('answers through the proxy when the path is sound', async () => {
    const [gra] = await act('redisServerStatuses', { pair });
    expect(gra).toMatchObject({ reachable: true, replication: { role: 'master' } });
  });

  it('unreachable (blackhole): RedisTimeout, retryable, within the command timeout; the status read says so', async () => {
    await toxiproxy.cut(graProxy, 'blackhole');
    const { failure, ms } = await timed(() => act('redisPauseWrites', { pair, server: 'redis-gra' }));
    expect(failure).toMatchObject({ type: 'RedisTimeout', nonRetryable: false });
    expect(failure.message).toMatch(/^redis-gra: /);
    expect(ms).toBeLessThan(5_000);
    const [gra, rbx] = await act('redisServerStatuses', { pair });
    expect(gra).toMatchObject({ reachable: false, error: { type: 'RedisTimeout' } });
    expect(rbx).toMatchObject({ reachable: true });
  });

  it('refused: RedisUnreachable, retryable, at once', async () => {
    await toxiproxy.cut(graProxy, 'refuse');
    const { failure, ms } = await timed(() => act('redisPauseWrites', { pair, server: 'redis-gra' }));
    expect(failure).toMatchObject({ type: 'RedisUnreachable', nonRetryable: false });
    expect(ms).toBeLessThan(2_000);
    const planned = await failureOf(
      act('redisPromote', { pair, server: 'redis-rbx', from: 'redis-gra', switchoverOnly: true }),
    );
    expect(planned.type).toBe('RedisMasterUnreachableForSwitchover');
    expect(await redis.info('rbx')).toMatchObject({ role: 'slave' });
  });

  it('slow: a latency within the timeouts still reads; beyond the command timeout it is RedisTimeout', async () => {
    await graProxy.addToxic({
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 300, jitter: 0 },
    });
    const [gra] = await act('redisServerStatuses', { pair });
    expect(gra).toMatchObject({ reachable: true, replication: { role: 'master' } });
    await toxiproxy.restore();
    await graProxy.addToxic({
      name: 'slower',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 3_000, jitter: 0 },
    });
    const { failure, ms } = await timed(() => act('redisUnpauseWrites', { pair, server: 'redis-gra' }));
    expect(failure).toMatchObject({ type: 'RedisTimeout', nonRetryable: false });
    expect(ms).toBeLessThan(5_000);
  });
});
