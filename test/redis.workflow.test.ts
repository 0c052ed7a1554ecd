/**
 * The Redis session store's branches of the failover, failback and old-site watcher workflows, on the time-skipping
 * test server with the activities replaced by an in-memory pair (test/helpers/fake-pair.ts) and an in-memory Redis
 * pair (test/helpers/fake-redis.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Activities } from '../activities';
import { failback, failover, fenceOldSite, readinessCheck } from '../workflows';
import {
  approveUpdate,
  fenceWatchWorkflowId,
  pairMoveWorkflowId,
  retryUpdate,
  statusQuery,
  type FailbackInput,
  type FailoverInput,
} from '../workflows/definitions';
import { answer } from './helpers/answers';
import { failedOverState, FakePair, fakeSettings } from './helpers/fake-pair';
import { FakeRedis, REDIS_SETTINGS } from './helpers/fake-redis';
import { testWorkflowBundle } from './helpers/local-stack';
import { timeSkippingWorker } from './helpers/time-skipping';
import { recordHistory } from './helpers/histories';

let pair: FakePair;
let redis: FakeRedis;
let pairs = 0;

/** The activities of the test's pair, its Redis pair's over them. */
function delegatingActivities(): Partial<Activities> {
  const names = [
    ...Object.keys(new FakePair().activities()),
    ...Object.keys(new FakeRedis().activities()),
  ] as (keyof Activities)[];
  const current = () => ({ ...pair.activities(), ...redis.activities() });
  return Object.fromEntries(
    names.map((name) => [
      name,
      (...args: unknown[]) => (current()[name] as (...a: unknown[]) => unknown)(...args),
    ]),
  ) as Partial<Activities>;
}

const ts = timeSkippingWorker(
  'redis-wf',
  () => ({ workflowBundle: { codePath: testWorkflowBundle() } }),
  delegatingActivities(),
);

/** A fresh pair (a name of its own, so no run or watcher of another test meets it) whose runbook declares redis. */
function freshPair(withRedis = true): FakePair {
  const name = `redis-${++pairs}`;
  redis = new FakeRedis();
  pair = new FakePair(
    fakeSettings({ pair: name, elasticsearch: undefined, ...(withRedis ? { redis: REDIS_SETTINGS } : {}) }),
  );
  return pair;
}

const failoverInput = (overrides: Partial<FailoverInput> = {}): FailoverInput => ({
  pair: pair.settings.pair,
  mode: 'planned',
  trigger: 'test',
  reason: 'test run',
  requestedBy: 'tester',
  ...overrides,
});

const startFailover = (i: FailoverInput = failoverInput()) =>
  ts.env.client.workflow.start(failover, {
    args: [i],
    taskQueue: ts.taskQueue,
    workflowId: pairMoveWorkflowId(i.pair),
  });

/** Waits (bounded) until the run asks a question other than `after`; returns it. */
async function questionOf(handle: Awaited<ReturnType<typeof startFailover>>, kind: string, after?: string) {
  for (let i = 0; i < 800; i++) {
    const { pending } = await handle.query(statusQuery);
    if (pending?.kind === kind && pending.id !== after) return pending;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the run never asked for ${kind}`);
}

const redisChanges = () => redis.calls.filter((c) => c !== 'redisServerStatuses');

describe('Redis session store in the failover workflows (time-skipping, in-memory pair)', () => {
  it('planned: pauses redis-gra, lets redis-rbx catch up, promotes it by FAILOVER, repoints redis-gra and lifts its pause', async () => {
    freshPair();
    const handle = await startFailover();
    const report = await handle.result();
    await recordHistory(handle, 'failover-redis-planned');
    expect(report.outcome).toBe('completed');
    expect(redisChanges()).toEqual([
      'redisPauseWrites redis-gra',
      'redisCatchUp redis-rbx',
      'redisPromote redis-rbx',
      'redisReplicate redis-gra',
    ]);
    expect(redis.servers).toEqual({
      'redis-gra': { reachable: true, role: 'slave', source: 'redis-rbx', paused: false },
      'redis-rbx': { reachable: true, role: 'master', paused: false },
    });
    const phases = Object.fromEntries(
      report.steps.filter((s) => s.system === 'redis').map((s) => [s.id, [s.phase, s.state]]),
    );
    expect(phases).toEqual({
      'redis.fence': ['fence', 'done'],
      'redis.catch-up': ['prepare', 'done'],
      'redis.promote': ['promote', 'done'],
      'redis.repoint': ['verify', 'done'],
    });
    expect(report.dataLoss.find((d) => d.system === 'redis')).toMatchObject({ count: 0 });
  });

  it('planned: a replica that does not catch up rolls the move back; redis-gra takes writes again and stays the master', async () => {
    freshPair();
    redis.fail('redisCatchUp', 'RedisNotCaughtUp');
    const report = await (await startFailover()).result();
    expect(report.outcome).toBe('rolled-back');
    expect(redisChanges()).toEqual([
      'redisPauseWrites redis-gra',
      'redisCatchUp redis-rbx',
      'redisUnpauseWrites redis-gra',
    ]);
    expect(report.steps.find((s) => s.id === 'redis.fence')).toMatchObject({
      state: 'compensated',
      sentence: 'redis-gra takes writes again (CLIENT UNPAUSE).',
    });
    expect(redis.servers['redis-gra']).toEqual({ reachable: true, role: 'master', paused: false });
    expect(redis.servers['redis-rbx']).toMatchObject({ role: 'slave', source: 'redis-gra' });
  });

  it('planned: the standby Redis not a replica fails the assessment, and nothing changes', async () => {
    freshPair();
    redis.servers['redis-rbx'] = { reachable: true, role: 'master', paused: false };
    const report = await (await startFailover()).result();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(/redis-rbx is a master already/);
    expect(redisChanges()).toEqual([]);
  });

  it('past the point of no return a promotion that fails waits for retry, then completes', async () => {
    freshPair();
    redis.fail('redisPromote', 'RedisFailoverRolledBack');
    const handle = await startFailover();
    const question = await questionOf(handle, 'operator');
    expect(question.question).toMatch(/^promote Redis redis-rbx .* failed past the point of no return/);
    await answer(handle, retryUpdate, 'oncall', 'try again');
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(redis.servers['redis-rbx']!.role).toBe('master');
  });

  it('unplanned, gra gone: the missing Redis fence needs a human; rbx is promoted by REPLICAOF NO ONE; the watcher fences redis-gra when it returns', async () => {
    freshPair();
    pair.mysqlDown();
    pair.state.apps['app-gra-1'] = false;
    redis.servers['redis-gra']!.reachable = false;
    // gra comes back (mysqld and redis, both as masters) once the watcher has tried twice.
    pair.onCall('mysqlServerStatuses', 12, () => {
      pair.state.mysql['db-gra-1']!.reachable = true;
      redis.servers['redis-gra'] = { reachable: true, role: 'master', paused: false };
    });
    const handle = await startFailover(failoverInput({ mode: 'unplanned' }));
    let last: string | undefined;
    for (const fence of [
      /^fence MySQL primary db-gra-1 failed/,
      /^hold every write on Redis redis-gra .* failed/,
    ]) {
      const q = await questionOf(handle, 'approval', last);
      expect(q.question).toMatch(fence);
      await answer(handle, approveUpdate, 'oncall', 'gra is powered off');
      last = q.id;
    }
    const report = await handle.result();
    await recordHistory(handle, 'failover-redis-unplanned');
    expect(report.outcome).toBe('completed');
    expect(report.steps.find((s) => s.id === 'redis.repoint')?.sentence).toBe(
      'redis-gra was not fenced by the run: the old-site watcher makes it a replica of redis-rbx as soon as it answers.',
    );
    expect(redis.calls).toContain('redisPromote redis-rbx');
    expect(redis.servers['redis-rbx']!.role).toBe('master');
    const watch = await ts.env.client.workflow
      .getHandle<typeof fenceOldSite>(fenceWatchWorkflowId(pair.settings.pair))
      .result();
    expect(watch.outcome).toBe('fenced');
    expect(watch.fenced.map((f) => [f.system, f.target])).toEqual(
      expect.arrayContaining([
        ['mysql', 'db-gra-1'],
        ['redis', 'redis-gra'],
      ]),
    );
    expect(redis.servers['redis-gra']).toEqual({
      reachable: true,
      role: 'slave',
      source: 'redis-rbx',
      paused: false,
    });
  });

  it('unplanned, gra gone, rolled back before the promotion: the undo of the Redis fence that never took does not wait for the dead master', async () => {
    freshPair();
    pair.mysqlDown();
    pair.state.apps['app-gra-1'] = false;
    redis.servers['redis-gra']!.reachable = false;
    pair.fail('mysqlCatchUp', { type: 'ReplicaNotCaughtUp' });
    const handle = await startFailover(failoverInput({ mode: 'unplanned' }));
    let last: string | undefined;
    for (let i = 0; i < 2; i++) {
      const q = await questionOf(handle, 'approval', last);
      await answer(handle, approveUpdate, 'oncall', 'gra is powered off');
      last = q.id;
    }
    const report = await handle.result();
    expect(report.outcome, report.sentence).toBe('rolled-back');
    expect(report.steps.find((s) => s.id === 'redis.fence')).toMatchObject({
      state: 'compensated',
      sentence: 'redis-gra did not answer, so the run paused nothing on it.',
    });
    expect(redisChanges().filter((c) => c.startsWith('redisUnpauseWrites'))).toEqual([]);
    expect(redis.servers['redis-rbx']).toMatchObject({ role: 'slave', source: 'redis-gra' });
  });

  it('without a redis section in the runbook no Redis activity runs', async () => {
    freshPair(false);
    const report = await (await startFailover()).result();
    expect(report.outcome).toBe('completed');
    expect(redis.calls).toEqual([]);
    expect(report.steps.some((s) => s.system === 'redis')).toBe(false);
  });
});

describe('Redis session store in the failback workflow', () => {
  const failbackInput = (): FailbackInput => ({
    pair: pair.settings.pair,
    mode: 'full',
    trigger: 'test',
    reason: 'gra is back',
    requestedBy: 'tester',
  });

  it('full: redis-gra replicates from redis-rbx (reprotect), then the switch back hands over and redis-rbx follows redis-gra again', async () => {
    freshPair();
    pair.state = failedOverState();
    redis.failedOver();
    const handle = await ts.env.client.workflow.start(failback, {
      args: [failbackInput()],
      taskQueue: ts.taskQueue,
      workflowId: pairMoveWorkflowId(pair.settings.pair),
    });
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(redisChanges()).toEqual([
      'redisReplicate redis-gra',
      'redisPauseWrites redis-rbx',
      'redisCatchUp redis-gra',
      'redisPromote redis-gra',
      'redisReplicate redis-rbx',
    ]);
    expect(report.steps.find((s) => s.id === 'redis.reprotect')).toMatchObject({
      phase: 'reprotect',
      sentence: 'redis-gra already replicates from redis-rbx.',
    });
    expect(redis.servers).toEqual({
      'redis-gra': { reachable: true, role: 'master', paused: false },
      'redis-rbx': { reachable: true, role: 'slave', source: 'redis-gra', paused: false },
    });
  });
});

describe('Redis session store in a resumed failback', () => {
  it('MySQL home again but Redis still on rbx (a switch back cut short): the Redis handover is finished, then rbx follows gra', async () => {
    freshPair();
    redis.failedOver();
    redis.servers['redis-rbx']!.paused = true;
    const handle = await ts.env.client.workflow.start(failback, {
      args: [
        {
          pair: pair.settings.pair,
          mode: 'full',
          trigger: 'test',
          reason: 'finish it',
          requestedBy: 'tester',
        },
      ],
      taskQueue: ts.taskQueue,
      workflowId: pairMoveWorkflowId(pair.settings.pair),
    });
    const report = await handle.result();
    expect(report.outcome, report.sentence).toBe('completed');
    expect(report.decisions.map((d) => d.sentence)).toContainEqual(
      expect.stringMatching(
        /is half failed back: db-gra-1 in gra is the primary again, but redis-gra is not the Redis master; redis-rbx does not replicate from redis-gra \(Redis\)\.$/,
      ),
    );
    expect(redisChanges()).toEqual(['redisPromote redis-gra', 'redisReplicate redis-rbx']);
    expect(redis.servers).toEqual({
      'redis-gra': { reachable: true, role: 'master', paused: false },
      'redis-rbx': { reachable: true, role: 'slave', source: 'redis-gra', paused: false },
    });
  });

  it('a pair in forward replication, Redis too, is refused: nothing to fail back', async () => {
    freshPair();
    const report = await (
      await ts.env.client.workflow.start(failback, {
        args: [
          { pair: pair.settings.pair, mode: 'full', trigger: 'test', reason: 'x', requestedBy: 'tester' },
        ],
        taskQueue: ts.taskQueue,
        workflowId: pairMoveWorkflowId(pair.settings.pair),
      })
    ).result();
    expect(report.outcome).toBe('refused');
    expect(redisChanges()).toEqual([]);
  });
});

describe('Redis session store in the readiness check', () => {
  const check = () =>
    ts.env.client.workflow.execute(readinessCheck, {
      args: [{ pair: pair.settings.pair, trigger: 'test' }],
      taskQueue: ts.taskQueue,
      workflowId: `readiness-${pair.settings.pair}`,
    });

  it('checks the standby Redis as a planned move would: ready when it is a synced replica of the master', async () => {
    freshPair();
    const report = await check();
    expect(report.ready).toBe(true);
    expect(report.checks.filter((c) => c.name.startsWith('redis-')).map((c) => [c.name, c.ok])).toEqual([
      ['redis-redis-rbx.reachable', true],
      ['redis-redis-rbx.role', true],
      ['redis-redis-gra.master', true],
      ['redis-redis-rbx.link', true],
    ]);
    expect(report.redis?.map((s) => s.server)).toEqual(['redis-gra', 'redis-rbx']);
  });

  it('not ready when the master does not answer (the replica then has lost its link), saying so', async () => {
    freshPair();
    redis.servers['redis-gra']!.reachable = false;
    const report = await check();
    expect(report.ready).toBe(false);
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      'redis-redis-gra.master',
      'redis-redis-rbx.link',
    ]);
    expect(report.verdict).toMatch(/Redis redis-gra does not answer/);
    expect(redisChanges()).toEqual([]);
  });
});
