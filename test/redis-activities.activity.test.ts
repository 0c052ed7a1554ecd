import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createRedisActivities, RedisClients } from '../activities/redis';
import { RunbookRegistry } from '../activities/runbooks';
import { runDoctor } from '../client/doctor';
import { loadRunbooks } from '../config/load';
import { portOpen, startDaemon, stopDaemon, waitFor } from '../dev/stack/daemon';
import { failureOf } from './helpers/failures';
import { runActivity } from './helpers/run-activity';
import { redisRunbook, startScratchRedisPair, type ScratchRedisPair } from './helpers/scratch-redis';

type RedisActivities = ReturnType<typeof createRedisActivities>;

/**
 * The Redis activities against a real scratch pair (redis-server 7.0 from Debian, redis-gra the master, redis-rbx
 * its replica): the reads, the planned handover with no acknowledged write lost, the unplanned promotion and the
 * fence of a returning old master, each retried to show it changes nothing twice.
 */
describe('Redis session store activities on a scratch pair', () => {
  let redis: ScratchRedisPair;
  let act: <K extends keyof RedisActivities>(
    name: K,
    ...args: Parameters<RedisActivities[K]>
  ) => ReturnType<RedisActivities[K]>;
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const activitiesFor = (section: Record<string, unknown>) => {
    const file = path.join(redis.dir, `runbook-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify(redisRunbook('scratch-redis', section)));
    const activities = createRedisActivities({
      clients: new RedisClients(new RunbookRegistry(loadRunbooks([file]))),
    });
    return (<K extends keyof RedisActivities>(name: K, ...args: Parameters<RedisActivities[K]>) =>
      runActivity(env, activities[name] as never, ...(args as unknown as never[]))) as typeof act;
  };
  const pair = 'scratch-redis';

  beforeEach(async () => {
    redis = await startScratchRedisPair();
    act = activitiesFor(redis.runbookSection());
  });
  afterEach(async () => redis?.close());

  it('reads INFO replication of both servers: roles, link, offsets, the master’s replica list', async () => {
    await redis.client('gra').set('k', 'v');
    await redis.waitSynced();
    const [gra, rbx] = await act('redisServerStatuses', { pair });
    expect(gra).toMatchObject({ server: 'redis-gra', site: 'gra', reachable: true });
    expect(gra!.replication).toMatchObject({ role: 'master', failoverState: 'no-failover' });
    expect(gra!.replication!.replicas).toEqual([
      expect.objectContaining({ ip: '127.0.0.1', port: redis.rbx.port, state: 'online' }),
    ]);
    expect(rbx!.replication).toMatchObject({
      role: 'slave',
      masterHost: '127.0.0.1',
      masterPort: redis.gra.port,
      linkStatus: 'up',
      replicaReadOnly: true,
      replicaOffset: gra!.replication!.replOffset,
    });
  });

  it('planned: pause, catch up, FAILOVER, repoint; a write held by the pause is refused, never lost; retries change nothing', async () => {
    const gra = redis.client('gra');
    for (let i = 0; i < 200; i++) await gra.set(`session:${i}`, `user-${i}`);
    const fence = await act('redisPauseWrites', { pair, server: 'redis-gra' });
    expect(fence).toMatchObject({ already: false, steps: ['CLIENT PAUSE 30000 WRITE'] });
    // A write sent now waits: it is neither acknowledged nor applied while the pause holds.
    const held = gra.set('session:late', 'x').then(
      (r) => ({ ok: true, r }),
      (err: Error) => ({ ok: false, r: err.message }),
    );
    const read = await redis.client('gra').get('session:1');
    expect(read).toBe('user-1');
    const caughtUp = await act('redisCatchUp', { pair, server: 'redis-rbx', untilServer: 'redis-gra' });
    expect(caughtUp.offset).toBeGreaterThan(0);
    const promoted = await act('redisPromote', {
      pair,
      server: 'redis-rbx',
      from: 'redis-gra',
      switchoverOnly: true,
    });
    expect(promoted).toMatchObject({ already: false, method: 'failover', lostBytes: 0 });
    expect(promoted.steps.some((s) => s.startsWith('FAILOVER TO 127.0.0.1'))).toBe(true);
    expect(await redis.info('rbx')).toMatchObject({ role: 'master' });
    expect(await redis.info('gra')).toMatchObject({ role: 'slave', master_port: String(redis.rbx.port) });
    const repoint = await act('redisReplicate', {
      pair,
      server: 'redis-gra',
      source: 'redis-rbx',
      unpause: true,
    });
    expect(repoint).toMatchObject({ already: true, steps: ['CLIENT UNPAUSE'] });
    expect(await held).toEqual({ ok: false, r: expect.stringMatching(/^READONLY/) });
    const rbx = redis.client('rbx');
    expect(await rbx.dbsize()).toBe(200);
    expect(await rbx.get('session:199')).toBe('user-199');
    expect(await rbx.set('session:after', 'y')).toBe('OK');

    const again = await act('redisPromote', {
      pair,
      server: 'redis-rbx',
      from: 'redis-gra',
      switchoverOnly: true,
    });
    expect(again).toMatchObject({ already: true, steps: [] });
    expect(again.description).toMatch(/master already/);
    const fenceAgain = await act('redisPauseWrites', { pair, server: 'redis-gra' });
    expect(fenceAgain).toMatchObject({ already: true, steps: [] });
  });

  it('a restart keeps the roles a promotion gave: both servers saved them to their config files (CONFIG REWRITE)', async () => {
    await act('redisPauseWrites', { pair, server: 'redis-gra' });
    const promoted = await act('redisPromote', {
      pair,
      server: 'redis-rbx',
      from: 'redis-gra',
      switchoverOnly: true,
    });
    expect(promoted.steps.slice(-2)).toEqual(['CONFIG REWRITE on redis-rbx', 'CONFIG REWRITE on redis-gra']);
    expect(promoted.description).toMatch(
      /redis-rbx and redis-gra saved their roles to their config files \(CONFIG REWRITE\)\.$/,
    );
    for (const site of ['gra', 'rbx'] as const) {
      await redis.kill(site);
      await redis.start(site);
    }
    expect(await redis.info('rbx')).toMatchObject({ role: 'master' });
    expect(await redis.info('gra')).toMatchObject({ role: 'slave', master_port: String(redis.rbx.port) });
    await redis.waitSynced('gra');
  });

  it('a server started without a config file keeps its new role until a restart, and the sentence says so; the move goes on', async () => {
    // The replica restarted by hand without its file: CONFIG REWRITE has nowhere to write.
    await redis.kill('rbx');
    startDaemon({
      name: 'redis-rbx-bare',
      runDir: redis.dir,
      command: '/usr/bin/redis-server',
      args: [
        ...['--port', String(redis.rbx.port), '--bind', '127.0.0.1', '--save', '', '--dir', redis.dir],
        ...['--requirepass', redis.password, '--masterauth', redis.password],
        ...['--replicaof', '127.0.0.1', String(redis.gra.port)],
      ],
    });
    try {
      await waitFor('redis-rbx without a config file', () => portOpen(redis.rbx.port), 10_000);
      await redis.waitSynced();
      const promoted = await act('redisPromote', {
        pair,
        server: 'redis-rbx',
        from: 'redis-gra',
        switchoverOnly: false,
      });
      expect(promoted.steps).toContain(
        'CONFIG REWRITE refused on redis-rbx (ERR The server is running without a config file)',
      );
      expect(promoted.description).toMatch(
        /redis-gra saved its role to its config file \(CONFIG REWRITE\)\. Not saved to a config file, so a restart gives back the role the file says: redis-rbx \(ERR The server is running without a config file\)\.$/,
      );
      expect(await redis.info('rbx')).toMatchObject({ role: 'master' });
    } finally {
      await stopDaemon({ name: 'redis-rbx-bare', runDir: redis.dir }, 5_000);
    }
  });

  it('undoes the fence: after CLIENT UNPAUSE the held write goes through', async () => {
    const gra = redis.client('gra');
    await act('redisPauseWrites', { pair, server: 'redis-gra' });
    let acknowledged = false;
    const held = gra.set('k', 'v').then(() => (acknowledged = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(acknowledged).toBe(false);
    const undo = await act('redisUnpauseWrites', { pair, server: 'redis-gra' });
    expect(undo.steps).toEqual(['CLIENT UNPAUSE']);
    await held;
    expect(await gra.get('k')).toBe('v');
  });

  it('unplanned: a planned promotion refuses a dead master; REPLICAOF NO ONE keeps the data; the returning master is fenced as a replica', async () => {
    await redis.client('gra').set('session:a', '1');
    await redis.waitSynced();
    await redis.kill('gra');
    const refused = await failureOf(
      act('redisPromote', { pair, server: 'redis-rbx', from: 'redis-gra', switchoverOnly: true }),
    );
    expect(refused.type).toBe('RedisMasterUnreachableForSwitchover');
    expect(await redis.info('rbx')).toMatchObject({ role: 'slave' });
    const promoted = await act('redisPromote', {
      pair,
      server: 'redis-rbx',
      from: 'redis-gra',
      switchoverOnly: false,
    });
    expect(promoted).toMatchObject({
      already: false,
      method: 'replicaof',
      steps: ['REPLICAOF NO ONE', 'CONFIG REWRITE on redis-rbx'],
    });
    expect(promoted.description).toMatch(/does not answer/);
    expect(redis.configText('rbx')).not.toMatch(/^replicaof /m);
    await redis.client('rbx').set('session:b', '2');

    // While gra is down the fence fails (the watcher tries again later).
    const down = await failureOf(act('redisReplicate', { pair, server: 'redis-gra', source: 'redis-rbx' }));
    expect(down.type).toBe('RedisUnreachable');
    await redis.start('gra');
    expect(await redis.info('gra')).toMatchObject({ role: 'master' });
    const fenced = await act('redisReplicate', {
      pair,
      server: 'redis-gra',
      source: 'redis-rbx',
      unpause: true,
    });
    expect(fenced.already).toBe(false);
    expect(fenced.steps).toContain(`REPLICAOF 127.0.0.1 ${redis.rbx.port}`);
    expect(fenced.steps.at(-1)).toBe('CONFIG REWRITE on redis-gra');
    expect(redis.configText('gra')).toMatch(new RegExp(`^replicaof 127\\.0\\.0\\.1 ${redis.rbx.port}$`, 'm'));
    expect(fenced.steps.join(' ')).not.toContain(redis.password);
    await expect(redis.client('gra').set('x', '1')).rejects.toThrow(/READONLY/);
    await redis.waitSynced('gra');
    expect(await redis.client('gra').get('session:b')).toBe('2');
    const again = await act('redisReplicate', { pair, server: 'redis-gra', source: 'redis-rbx' });
    expect(again).toMatchObject({ already: true, steps: [] });
  });

  it('unplanned, the replica cut from a master that still answers: REPLICAOF NO ONE, and the old master made its replica at once, the loss counted', async () => {
    const gra = redis.client('gra');
    await gra.set('session:before', '1');
    await redis.waitSynced();
    // The replica can no longer authenticate to its master: its link goes down, both still answer the worker.
    const rbx = redis.client('rbx');
    await rbx.config('SET', 'masterauth', 'wrong');
    await rbx.call('CLIENT', 'KILL', 'TYPE', 'master');
    await waitForLinkDown(redis);
    await gra.set('session:cut', '2');
    const promoted = await act('redisPromote', {
      pair,
      server: 'redis-rbx',
      from: 'redis-gra',
      switchoverOnly: false,
    });
    expect(promoted.method).toBe('replicaof');
    expect(promoted.steps).toEqual([
      'REPLICAOF NO ONE',
      "CONFIG SET masterauth (the runbook's password) on redis-gra",
      `REPLICAOF 127.0.0.1 ${redis.rbx.port} on redis-gra`,
      'CONFIG REWRITE on redis-rbx',
      'CONFIG REWRITE on redis-gra',
    ]);
    expect(promoted.lostBytes).toBeGreaterThan(0);
    expect(promoted.description).toMatch(/its link to redis-gra is down/);
    await expect(gra.set('x', '1')).rejects.toThrow(/READONLY/);
    await redis.waitSynced('gra');
    expect(await gra.get('session:before')).toBe('1');
    expect(await gra.get('session:cut')).toBeNull();
  });

  it('refuses to make a server replicate from one that is not a master, and names bad input', async () => {
    const notMaster = await failureOf(
      act('redisReplicate', { pair, server: 'redis-gra', source: 'redis-rbx' }),
    );
    expect(notMaster.type).toBe('RedisSourceNotMaster');
    expect(await redis.info('gra')).toMatchObject({ role: 'master' });
    const bad = await failureOf(
      act('redisPromote', { pair, server: 'redis-rbx', switchoverOnly: true } as never),
    );
    expect(bad.type).toBe('RedisInvalidInput');
    expect(bad.message).toMatch(/from/);
    const unknown = await failureOf(act('redisPauseWrites', { pair, server: 'redis-sbg' }));
    expect(unknown.type).toBe('RedisInvalidInput');
    expect(unknown.message).toMatch(/no Redis server "redis-sbg"/);
  });

  it('drctl doctor reads each Redis server: the master and its replica, or why it cannot', async () => {
    const file = path.join(redis.dir, 'runbook-doctor.yaml');
    writeFileSync(file, stringify(redisRunbook(pair, redis.runbookSection())));
    const temporal = {
      address: '127.0.0.1:1',
      namespace: 'default',
      taskQueue: 'none',
      connect: () => Promise.reject(new Error('no Temporal in this test')),
    };
    const redisChecks = async () =>
      (await runDoctor(temporal, loadRunbooks([file]))).filter((r) => r.name.includes(': redis '));
    expect(await redisChecks()).toEqual([
      {
        name: `${pair}: redis redis-gra 127.0.0.1:${redis.gra.port}`,
        status: 'ok',
        detail: 'reachable, a master with 1 replica(s)',
      },
      {
        name: `${pair}: redis redis-rbx 127.0.0.1:${redis.rbx.port}`,
        status: 'ok',
        detail: `reachable, a replica of 127.0.0.1:${redis.gra.port} (link up)`,
      },
    ]);
    await redis.kill('rbx');
    expect((await redisChecks())[1]).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^redis-rbx: /),
    });
  });

  it('a wrong password is InvalidCredentials, and no message carries the password', async () => {
    const wrong = path.join(redis.dir, 'wrong-password');
    writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
    const withWrong = activitiesFor({ ...redis.runbookSection(), password: `file:${wrong}` });
    const failure = await failureOf(withWrong('redisPauseWrites', { pair, server: 'redis-gra' }));
    expect(failure.type).toBe('RedisInvalidCredentials');
    expect(failure.message).not.toContain('not-the-password');
    const [status] = await withWrong('redisServerStatuses', { pair });
    expect(status).toMatchObject({ reachable: false, error: { type: 'RedisInvalidCredentials' } });
  });
});

async function waitForLinkDown(redis: ScratchRedisPair): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await redis.info('rbx')).master_link_status === 'down') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("redis-rbx's link to redis-gra never went down");
}
