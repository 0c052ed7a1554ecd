/**
 * The PostgreSQL branches of the failover and failback workflows, on the time-skipping test server with the
 * activities replaced by an in-memory pair (test/helpers/fake-pair.ts with its PostgreSQL part,
 * test/helpers/fake-postgresql.ts): planned switchover and its refusals and rollback, unplanned promotion of the
 * standby of a dead primary, and the failback's pg_rewind that says what it discarded.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../activities';
import { failback, failover, fenceOldSite, readinessCheck } from '../workflows';
import {
  approveUpdate,
  fenceWatchWorkflowId,
  pairMoveWorkflowId,
  statusQuery,
  type FailbackInput,
  type FailoverInput,
} from '../workflows/definitions';
import { answer } from './helpers/answers';
import { FakePair, fakeSettings } from './helpers/fake-pair';
import { fakePgSettings, initialPgState } from './helpers/fake-postgresql';
import { testWorkflowBundle } from './helpers/local-stack';
import { timeSkippingWorker } from './helpers/time-skipping';
import { recordHistory } from './helpers/histories';

let pair: FakePair;

function delegatingActivities(): Partial<Activities> {
  const names = Object.keys(new FakePair().activities()) as (keyof Activities)[];
  return Object.fromEntries(
    names.map((name) => [
      name,
      (...args: unknown[]) => (pair.activities()[name] as (...a: unknown[]) => unknown)(...args),
    ]),
  ) as Partial<Activities>;
}

const ts = timeSkippingWorker(
  'postgresql-wf',
  () => ({ workflowBundle: { codePath: testWorkflowBundle() } }),
  delegatingActivities(),
);

/** A fake pair whose runbook declares PostgreSQL (pg-gra primary, pg-rbx streaming from it). */
function pgPair(): FakePair {
  const p = new FakePair(
    fakeSettings({ pair: `pg-${randomUUID().slice(0, 8)}`, postgresql: fakePgSettings() }),
  );
  p.state.pg = initialPgState();
  return p;
}

const moveInput = (mode: FailoverInput['mode']): FailoverInput => ({
  pair: pair.settings.pair,
  mode,
  trigger: 'test',
  reason: 'test run',
  requestedBy: 'tester',
});

async function startFailover(mode: FailoverInput['mode']) {
  return ts.env.client.workflow.start(failover, {
    args: [moveInput(mode)],
    taskQueue: ts.taskQueue,
    workflowId: pairMoveWorkflowId(pair.settings.pair),
  });
}

async function runFailback(mode: FailbackInput['mode'] = 'full') {
  const input: FailbackInput = { ...moveInput('planned'), mode, reason: 'gra is back' };
  return ts.env.client.workflow.execute(failback, {
    args: [input],
    taskQueue: ts.taskQueue,
    workflowId: pairMoveWorkflowId(pair.settings.pair),
  });
}

/** The result of a run whose approval questions oncall approves as they open (going on without a fence, say). */
async function resultApprovingEachQuestion(handle: Awaited<ReturnType<typeof startFailover>>) {
  const answered = new Set<string>();
  for (let i = 0; i < 1600 && (await handle.describe()).status.name === 'RUNNING'; i++) {
    const open = ((await handle.query(statusQuery)).questions ?? []).filter(
      (q) => q.kind === 'approval' && !answered.has(q.id!),
    );
    for (const q of open) {
      answered.add(q.id!);
      await answer(handle, approveUpdate, 'oncall', 'gra is gone: go on');
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return handle.result();
}

const pgCalls = () => pair.calls.filter((c) => c.startsWith('pg') && !/^pgServerStatus/.test(c));

describe('PostgreSQL in the failover and failback workflows (time-skipping, in-memory pair)', () => {
  it('planned: stops pg-gra cleanly, lets pg-rbx replay past its shutdown checkpoint, promotes it, and makes pg-gra its standby; no loss', async () => {
    pair = pgPair();
    const handle = await startFailover('planned');
    const report = await handle.result();
    await recordHistory(handle, 'failover-postgresql-planned');
    expect(report.outcome).toBe('completed');
    expect(pgCalls()).toEqual([
      'pgStopServer pg-gra',
      'pgCatchUp pg-rbx',
      'pgPromote pg-rbx',
      'pgRejoinAsStandby pg-gra',
    ]);
    expect(pair.state.pg!['pg-rbx']).toMatchObject({ running: true, inRecovery: false, timeline: 2 });
    expect(pair.state.pg!['pg-gra']).toMatchObject({
      running: true,
      inRecovery: true,
      source: 'pg-rbx',
      streaming: true,
    });
    expect(report.dataLoss.find((d) => d.system === 'postgresql')).toMatchObject({
      count: 0,
      unit: 'bytes of WAL',
    });
    expect(report.steps.find((s) => s.id === 'postgresql.catch-up')?.sentence).toBe(
      'pg-rbx has replayed up to 0/5000078, past the shutdown checkpoint at 0/5000000.',
    );
  });

  it('planned: refused, changing nothing, when pg-rbx replays further behind than maxLagBytes', async () => {
    pair = pgPair();
    pair.state.pg!['pg-gra']!.lsn += 2 * 1024 * 1024;
    const report = await (await startFailover('planned')).result();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(/pg-rbx replays 2097152 byte\(s\) behind pg-gra \(at most 1048576\)/);
    expect(pair.changes()).toEqual([]);
  });

  it('planned: a stop that is not clean cannot promise zero loss: the run is undone and pg-gra serves again', async () => {
    pair = pgPair();
    pair.state.pg!['pg-gra']!.stopsUncleanly = true;
    const report = await (await startFailover('planned')).result();
    expect(report.outcome).toBe('rolled-back');
    expect(report.steps.find((s) => s.id === 'postgresql.fence')?.lastError).toMatch(/^NotCleanlyStopped: /);
    expect(pgCalls()).toContain('pgStartServer pg-gra');
    expect(pgCalls()).not.toContain('pgPromote pg-rbx');
    expect(pair.state.pg!['pg-gra']).toMatchObject({ running: true, inRecovery: false });
    expect(pair.state.pg!['pg-rbx']!.inRecovery).toBe(true);
  });

  it('planned: pg-rbx missing the shutdown checkpoint fails the catch-up, and the undo starts pg-gra again', async () => {
    pair = pgPair();
    pair.fail('pgCatchUp', { type: 'StandbyNotCaughtUp', message: 'pg-rbx did not replay past 0/5000000' });
    const report = await (await startFailover('planned')).result();
    expect(report.outcome).toBe('rolled-back');
    expect(pgCalls()).toEqual(['pgStopServer pg-gra', 'pgCatchUp pg-rbx', 'pgStartServer pg-gra']);
    expect(pair.state.pg!['pg-gra']).toMatchObject({ running: true, inRecovery: false });
  });

  it('unplanned then failback: pg-gra killed with WAL pg-rbx never received, its host unreachable so nothing can be salvaged; promoted without it, and the failback rewinds it and says how much', async () => {
    pair = pgPair();
    const gra = pair.state.pg!['pg-gra']!;
    const rbx = pair.state.pg!['pg-rbx']!;
    gra.lsn += 0x3000; // acknowledged on pg-gra, never streamed
    gra.running = false;
    gra.walUnreadable = true;
    rbx.streaming = false;
    // pg-gra's host does not answer SSH for the failover and the watcher's first round; then it is back.
    pair.fail('pgStopServer', { times: 2, type: 'SshUnreachable', nonRetryable: false });
    const report = await resultApprovingEachQuestion(await startFailover('unplanned'));
    expect(report.outcome).toBe('completed');
    expect(report.steps.find((s) => s.id === 'postgresql.fence')?.state).toBe('failed');
    const watch = await ts.env.client.workflow
      .getHandle<typeof fenceOldSite>(fenceWatchWorkflowId(pair.settings.pair))
      .result();
    expect(watch.outcome).toBe('fenced');
    expect(watch.fenced).toEqual(
      expect.arrayContaining([expect.objectContaining({ system: 'postgresql', target: 'pg-gra' })]),
    );
    expect(pgCalls().filter((c) => c === 'pgStopServer pg-gra').length).toBeGreaterThanOrEqual(3);
    expect(pgCalls()).toEqual(expect.arrayContaining(['pgCatchUp pg-rbx', 'pgPromote pg-rbx']));
    expect(report.steps.find((s) => s.id === 'postgresql.salvage')).toMatchObject({
      phase: 'prepare',
      state: 'done',
    });
    expect(report.dataLoss.find((d) => d.system === 'postgresql')?.sentence).toBe(
      'WAL salvage impossible: pg-gra: no SSH connection (ECONNREFUSED); what pg-gra wrote beyond what pg-rbx received (0/5000000) is lost (how much is unknown).',
    );
    expect(rbx).toMatchObject({ inRecovery: false, timeline: 2 });

    const back = await runFailback('full');
    expect(back.outcome).toBe('completed');
    const rewound = back.dataLoss.find((d) => d.system === 'postgresql' && d.count !== 0);
    expect(rewound).toMatchObject({ count: 0x3000, unit: 'bytes of WAL' });
    expect(rewound!.sentence).toMatch(/^pg_rewind rewound pg-gra: 12288 byte\(s\) of WAL/);
    expect(back.steps.find((s) => s.id === 'postgresql.rejoin.pg-gra')?.phase).toBe('reprotect');
    expect(pair.state.pg!['pg-gra']).toMatchObject({ running: true, inRecovery: false });
    expect(pair.state.pg!['pg-rbx']).toMatchObject({
      running: true,
      inRecovery: true,
      source: 'pg-gra',
      streaming: true,
    });
  });

  it("unplanned: the WAL pg-rbx never received is salvaged from the dead pg-gra's pg_wal before the promotion; nothing is lost, and the failback rewinds nothing of it", async () => {
    pair = pgPair();
    const gra = pair.state.pg!['pg-gra']!;
    const rbx = pair.state.pg!['pg-rbx']!;
    gra.lsn += 0x3000;
    gra.running = false;
    rbx.streaming = false;
    const handle = await startFailover('unplanned');
    const report = await resultApprovingEachQuestion(handle);
    await recordHistory(handle, 'failover-postgresql-unplanned-salvaged');
    expect(report.outcome).toBe('completed');
    const ids = report.steps.filter((s) => s.system === 'postgresql').map((s) => s.id);
    expect(ids).toEqual([
      'postgresql.fence',
      'postgresql.catch-up',
      'postgresql.salvage',
      'postgresql.promote',
    ]);
    expect(pgCalls().indexOf('pgSalvageWal pg-rbx')).toBeLessThan(pgCalls().indexOf('pgPromote pg-rbx'));
    expect(report.plan!.dataLoss.find((d) => d.system === 'postgresql')?.sentence).toMatch(
      /pg-gra's WAL is salvaged over SSH before the promotion, which tells\.$/,
    );
    expect(report.dataLoss.find((d) => d.system === 'postgresql')).toEqual({
      system: 'postgresql',
      unit: 'bytes of WAL',
      count: 0,
      recovered: 0x3000,
      sentence:
        "none: 12288 byte(s) of WAL salvaged from pg-gra's pg_wal onto pg-rbx, which has replayed everything pg-gra wrote (up to 0/5003000).",
    });
    expect(rbx).toMatchObject({ inRecovery: false, timeline: 2, forkedAt: gra.lsn });

    const back = await runFailback('full');
    expect(back.outcome).toBe('completed');
    expect(back.dataLoss.filter((d) => d.system === 'postgresql' && (d.count ?? 0) > 0)).toEqual([]);
  });

  it('the readiness check reads PostgreSQL too: ready when pg-rbx streams within maxLagBytes and pg-gra could be rewound, not when it lags', async () => {
    pair = pgPair();
    const check = () =>
      ts.env.client.workflow.execute(readinessCheck, {
        args: [{ pair: pair.settings.pair, trigger: 'test' }],
        taskQueue: ts.taskQueue,
        workflowId: `readiness-${randomUUID()}`,
      });
    const ready = await check();
    expect(ready.ready).toBe(true);
    expect(ready.postgresql?.map((s) => s.server)).toEqual(['pg-gra', 'pg-rbx']);
    expect(ready.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['pg-rbx.standby', 'pg-rbx.streaming', 'pg-rbx.lag', 'pg-gra.rewindable']),
    );
    pair.state.pg!['pg-gra']!.lsn += 2 * 1024 * 1024;
    const lagging = await check();
    expect(lagging.ready).toBe(false);
    expect(lagging.verdict).toMatch(/pg-rbx replays 2097152 byte\(s\) behind pg-gra/);
    expect(pair.changes()).toEqual([]);
  });

  it('a runbook without a postgresql section calls no PostgreSQL activity', async () => {
    pair = new FakePair(fakeSettings({ pair: `no-pg-${randomUUID().slice(0, 8)}` }));
    const report = await (await startFailover('planned')).result();
    expect(report.outcome).toBe('completed');
    expect(pair.calls.filter((c) => c.startsWith('pg'))).toEqual([]);
  });
});
