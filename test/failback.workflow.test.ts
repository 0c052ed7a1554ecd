/**
 * Every branch of the failback workflow's logic, on the time-skipping test server with the activities replaced by
 * an in-memory pair (test/helpers/fake-pair.ts): no stack.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../activities';
import { failback } from '../workflows';
import {
  abortUpdate,
  approveUpdate,
  discardSignal,
  discardUpdate,
  rejectUpdate,
  retryUpdate,
  statusQuery,
  type FailbackInput,
  pairMoveWorkflowId,
} from '../workflows/definitions';
import { failedOverState, FakePair, fakeSettings, initialState } from './helpers/fake-pair';
import { recordHistory } from './helpers/histories';
import { timeSkippingWorker } from './helpers/time-skipping';
import { answer, answerBySignal } from './helpers/answers';
import { testWorkflowBundle } from './helpers/local-stack';

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
  'failback-wf',
  () => ({ workflowBundle: { codePath: testWorkflowBundle() } }),
  delegatingActivities(),
);

const input = (overrides: Partial<FailbackInput> = {}): FailbackInput => ({
  pair: 'fake',
  mode: 'full',
  trigger: 'test',
  reason: 'gra is back',
  requestedBy: 'tester',
  ...overrides,
});

/** Starts a run under the pair's move ID, the only ID a move runs under (a run a test left open is ended first). */
async function start(i: FailbackInput = input()) {
  const workflowId = pairMoveWorkflowId(i.pair);
  await ts.env.client.workflow
    .getHandle(workflowId)
    .terminate('the next test starts')
    .catch(() => undefined);
  return ts.env.client.workflow.start(failback, { args: [i], taskQueue: ts.taskQueue, workflowId });
}

async function pendingOf(handle: Awaited<ReturnType<typeof start>>, kind: 'approval' | 'operator') {
  for (let i = 0; i < 200; i++) {
    const status = await handle.query(statusQuery);
    if (status.pending?.kind === kind) return status.pending;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the run never waited for ${kind}`);
}

/** Waits (bounded) until the run's pending question is one `matches` accepts. */
async function waitFor(
  handle: Awaited<ReturnType<typeof start>>,
  matches: (pending: Awaited<ReturnType<typeof pendingOf>> | undefined) => boolean,
) {
  for (let i = 0; i < 200; i++) {
    const { pending } = await handle.query(statusQuery);
    if (matches(pending)) return pending!;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the run never asked the question expected');
}

/** A pair failed over to rbx, with `change` applied to its state. */
function failedOver(change: (s: ReturnType<typeof failedOverState>) => void = () => undefined): FakePair {
  const p = new FakePair();
  p.state = failedOverState();
  change(p.state);
  return p;
}

/** The pair as before the failover, but app-rbx-1 stays up (apps.afterFailback: keep-running, the default). */
const restored = () => {
  const s = initialState();
  s.apps['app-rbx-1'] = true;
  return s;
};

/**
 * A switch back aborted by an operator past the point of no return: db-gra-1 promoted, rbx fenced and drained
 * (the traffic goes nowhere), rbx's indices still the regular ones of the failover.
 */
function abortedSwitchBack(change: (s: ReturnType<typeof initialState>) => void = () => undefined): FakePair {
  const p = new FakePair();
  p.state.mysql['db-rbx-1'] = { reachable: true, readOnly: true, ioRunning: false };
  p.state.es.followers = { orders: 'regular', customers: 'regular' };
  p.state.es.autoFollow = { 'logs-from-gra': false };
  p.state.es.graAutoFollow = { 'logs-from-gra': true };
  p.state.apps['app-rbx-1'] = true;
  p.state.traffic = '';
  change(p.state);
  return p;
}

/** After an unplanned failover and a restart of db-gra-1: writable again, with transactions db-rbx-1 lacks. */
const unplanned = (errant: number) =>
  failedOver((s) => {
    s.mysql['db-gra-1'] = { reachable: true, readOnly: false, ioRunning: false, errant };
  });

describe('failback workflow (time-skipping, in-memory pair)', () => {
  it('refuses a pair that is not failed over, with a sentence, and changes nothing', async () => {
    pair = new FakePair();
    const report = await (await start()).result();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(/refusing to fail back fake: it is not failed over/);
    expect(pair.changes()).toEqual([]);
    expect(pair.state).toEqual(initialState());
  });

  it('full: reprotects, catches up, switches back in a planned move and re-establishes forward replication', async () => {
    pair = failedOver();
    const handle = await start();
    const report = await handle.result();
    await recordHistory(handle, 'failback-full-completed');
    expect(report.outcome).toBe('completed');
    expect(report.from).toBe('rbx');
    expect(report.to).toBe('gra');
    expect(pair.state).toEqual(restored());
    const changes = pair.changes();
    // Reprotect before anything is switched.
    expect(changes.slice(0, 6)).toEqual([
      'mysqlFence db-gra-1',
      'mysqlRepoint db-gra-1',
      'esConfigureRemoteCluster gra',
      'esMirrorAutoFollowPatterns gra',
      'esFenceWrites gra',
      'esFollowIndices gra',
    ]);
    // The switch back's drain and fence run together.
    expect(changes.slice(6, 8).sort()).toEqual(['mysqlFence db-rbx-1', 'trafficDrain rbx']);
    expect(changes).toContain('mysqlPromote db-gra-1');
    expect(changes).toContain('trafficSwitch gra');
    expect(changes.slice(-6)).toEqual([
      'esConfigureRemoteCluster rbx',
      'esMirrorAutoFollowPatterns rbx',
      'esFenceWrites rbx',
      'esFollowIndices rbx',
      'esDeleteAutoFollowPatterns gra',
      'esResumeAutoFollow',
    ]);
    expect(report.decisions.map((d) => d.phase)).toEqual(
      expect.arrayContaining([
        'reprotect',
        'catch-up',
        'fence',
        'promote',
        'switch',
        'verify',
        'reestablish',
      ]),
    );
    expect(report.steps.every((s) => s.state === 'done')).toBe(true);
  });

  it("full with the runbook's apps.afterFailback stop: the apps of rbx are stopped once rbx replicates again", async () => {
    pair = failedOver();
    pair.settings = fakeSettings({ appsAfterFailback: 'stop' });
    const report = await (await start()).result();
    expect(report.outcome).toBe('completed');
    expect(pair.state).toEqual(initialState());
    expect(pair.changes().at(-1)).toBe('appStop app-rbx-1');
    expect(report.steps.find((s) => s.id === 'apps.stop.app-rbx-1')).toMatchObject({
      phase: 'reestablish',
      state: 'done',
    });
  });

  it('reprotect-only: gra replicates from rbx and has caught up; nothing is switched', async () => {
    pair = failedOver((s) => {
      s.mysql['db-gra-1'] = { reachable: true, readOnly: true, ioRunning: false };
    });
    const handle = await start(input({ mode: 'reprotect-only' }));
    const report = await handle.result();
    await recordHistory(handle, 'failback-reprotect-only');
    expect(report.outcome).toBe('reprotected');
    expect(pair.state.mysql['db-gra-1']).toMatchObject({ source: 'db-rbx-1', readOnly: true });
    expect(pair.state.es.graIndices).toEqual({ orders: 'active', customers: 'active' });
    expect(pair.state.traffic).toBe('rbx');
    expect(pair.calls).toContain('mysqlCatchUp db-gra-1');
    expect(pair.changes().some((c) => c.startsWith('trafficSwitch') || c.startsWith('mysqlPromote'))).toBe(
      false,
    );
  });

  it('errant transactions: lists them and waits; retry is refused; discard rebuilds the old primary and completes', async () => {
    pair = unplanned(3);
    const handle = await start();
    const pending = await pendingOf(handle, 'operator');
    expect(pending.answers).toEqual(['discard', 'abort']);
    expect(pending.question).toMatch(
      /db-gra-1 has 3 transaction\(s\) that db-rbx-1 lacks: 0-1-101, 0-1-102, 0-1-103/,
    );
    await expect(answer(handle, retryUpdate, 'oncall', 'try')).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(answer(handle, discardUpdate, 'mallory', 'x')).rejects.toThrow(WorkflowUpdateFailedError);
    expect(pair.changes()).toEqual(['mysqlFence db-gra-1']);
    await answer(handle, discardUpdate, 'oncall', 'replayed by hand');
    const report = await handle.result();
    await recordHistory(handle, 'failback-errant-discarded');
    expect(report.outcome).toBe('completed');
    expect(pair.changes().slice(0, 3)).toEqual([
      'mysqlFence db-gra-1',
      'mysqlRebuildReplica db-gra-1',
      'mysqlRepoint db-gra-1',
    ]);
    expect(report.operatorDecisions).toMatchObject([{ action: 'discard', by: 'oncall' }]);
    expect(report.dataLoss).toEqual(
      expect.arrayContaining([expect.objectContaining({ system: 'mysql', count: 3 })]),
    );
    expect(pair.state).toEqual(restored());
  });

  it('errant transactions: abort keeps them, rebuilds nothing and switches nothing', async () => {
    pair = unplanned(1);
    const handle = await start();
    await pendingOf(handle, 'operator');
    await answer(handle, abortUpdate, 'oncall', 'keep them');
    const report = await handle.result();
    expect(report.outcome).toBe('aborted');
    expect(report.sentence).toMatch(/before any switch.*keeps its 1 transaction/);
    expect(pair.changes()).toEqual(['mysqlFence db-gra-1']);
    expect(pair.state.traffic).toBe('rbx');
  });

  it('errant transactions: a discard signal (for tools that can only signal) works too', async () => {
    pair = unplanned(2);
    const handle = await start(input({ mode: 'reprotect-only' }));
    await pendingOf(handle, 'operator');
    await answerBySignal(handle, discardSignal, 'oncall', 'by signal');
    expect((await handle.result()).outcome).toBe('reprotected');
    expect(pair.calls).toContain('mysqlRebuildReplica db-gra-1');
  });

  it('ES divergence: reported with its count and not replaced without approval, even with an auto policy', async () => {
    pair = failedOver((s) => {
      s.es.divergent = 7;
    });
    const handle = await start(input({ mode: 'reprotect-only' }));
    const pending = await pendingOf(handle, 'approval');
    expect(pending.question).toMatch(/gra\/orders holds 7 document\(s\)/);
    expect(pair.calls).not.toContain('esFollowIndices gra');
    await answer(handle, rejectUpdate, 'oncall', 'keep them');
    const report = await handle.result();
    await recordHistory(handle, 'failback-divergence-rejected');
    expect(report.outcome).toBe('rejected');
    expect(report.dataLoss).toEqual(
      expect.arrayContaining([expect.objectContaining({ system: 'elasticsearch', count: 7 })]),
    );
    expect(pair.calls).not.toContain('esFollowIndices gra');
    expect(pair.calls).not.toContain('esFenceWrites gra');
    expect(pair.state.es.graIndices).toEqual({ orders: 'regular', customers: 'regular' });
  });

  it('ES divergence approved and the same under the write block: the indices are replaced, asked once', async () => {
    pair = failedOver((s) => {
      s.es.divergent = 2;
    });
    const handle = await start(input({ mode: 'reprotect-only' }));
    await pendingOf(handle, 'approval');
    await answer(handle, approveUpdate, 'oncall', 'copied aside');
    const report = await handle.result();
    expect(report.outcome).toBe('reprotected');
    expect(pair.state.es.graIndices).toEqual({ orders: 'active', customers: 'active' });
    const es = pair.calls.filter((c) => /^es(Divergence|FenceWrites|FollowIndices) gra/.test(c));
    expect(es).toEqual([
      'esDivergence gra',
      'esFenceWrites gra',
      'esDivergence gra under the write block',
      'esFollowIndices gra',
    ]);
    expect(report.approvals.filter((a) => a.how === 'approver')).toHaveLength(1);
    expect(report.dataLoss).toEqual([
      expect.objectContaining({
        system: 'elasticsearch',
        count: 2,
        sentence: expect.stringMatching(/under the write block\); 2 at the earlier count/),
      }),
    ]);
  });

  it('ES divergence higher under the write block than approved: asked again with the new count before anything is replaced', async () => {
    pair = failedOver((s) => {
      s.es.divergent = 2;
    });
    // gra's ES could not be fenced at the failover (unplanned, unreachable): it took writes until the failback's block.
    pair.state.es.writeBlocked.gra = false;
    pair.writesBeforeBlock = 3;
    const handle = await start(input({ mode: 'reprotect-only' }));
    await pendingOf(handle, 'approval');
    await answer(handle, approveUpdate, 'oncall', 'two copied aside');
    const again = await waitFor(
      handle,
      (p) => p?.kind === 'approval' && /under the write block/.test(p.question),
    );
    expect(again.question).toMatch(
      /gra\/orders holds 5 document\(s\).*\(counted under the write block\); 2 at the earlier count.*more than the 2 document\(s\) approved before the write block/,
    );
    expect(pair.calls).not.toContain('esFollowIndices gra');
    await answer(handle, approveUpdate, 'oncall', 'five copied aside');
    const report = await handle.result();
    expect(report.outcome).toBe('reprotected');
    expect(report.approvals.filter((a) => a.how === 'approver').map((a) => a.reason)).toEqual([
      'two copied aside',
      'five copied aside',
    ]);
    expect(report.dataLoss).toEqual([expect.objectContaining({ system: 'elasticsearch', count: 5 })]);
    expect(pair.state.es.graIndices).toEqual({ orders: 'active', customers: 'active' });
  });

  it('ES divergence found only under the write block: asked although the first count found none', async () => {
    pair = failedOver();
    // gra's ES could not be fenced at the failover (unplanned, unreachable): it took writes until the failback's block.
    pair.state.es.writeBlocked.gra = false;
    pair.writesBeforeBlock = 1;
    const handle = await start(input({ mode: 'reprotect-only' }));
    const asked = await pendingOf(handle, 'approval');
    expect(asked.question).toMatch(/holds 1 document\(s\).*the count before the write block found none/);
    expect(pair.calls).not.toContain('esFollowIndices gra');
    await answer(handle, approveUpdate, 'oncall', 'copied aside');
    expect((await handle.result()).outcome).toBe('reprotected');
  });

  it('ES divergence higher under the write block, rejected: nothing is replaced, the indices keep their write block', async () => {
    pair = failedOver((s) => {
      s.es.divergent = 2;
    });
    // gra's ES could not be fenced at the failover (unplanned, unreachable): it took writes until the failback's block.
    pair.state.es.writeBlocked.gra = false;
    pair.writesBeforeBlock = 3;
    const handle = await start(input({ mode: 'reprotect-only' }));
    await pendingOf(handle, 'approval');
    await answer(handle, approveUpdate, 'oncall', 'two copied aside');
    await waitFor(handle, (p) => p?.kind === 'approval' && /under the write block/.test(p.question));
    await answer(handle, rejectUpdate, 'oncall', 'three more to copy');
    const report = await handle.result();
    expect(report.outcome).toBe('rejected');
    expect(report.sentence).toMatch(
      /not approved \(three more to copy\).*holds 5 document\(s\).*keep their write block.*rbx still serves/,
    );
    expect(pair.calls).not.toContain('esFollowIndices gra');
    expect(pair.state.es.graIndices).toEqual({ orders: 'regular', customers: 'regular' });
    expect(pair.state.es.divergent).toBe(5);
    expect(report.dataLoss).toEqual([expect.objectContaining({ system: 'elasticsearch', count: 5 })]);
  });

  it('resumes a half-finished failback: only forward replication is re-established', async () => {
    pair = new FakePair();
    pair.state.mysql['db-rbx-1'] = { reachable: true, readOnly: true, ioRunning: false };
    pair.state.es.followers = { orders: 'regular', customers: 'regular' };
    pair.state.apps['app-rbx-1'] = true;
    const handle = await start();
    const report = await handle.result();
    await recordHistory(handle, 'failback-resumed');
    expect(report.outcome).toBe('completed');
    expect(report.decisions[1]!.sentence).toMatch(
      /half failed back.*db-rbx-1 does not replicate from db-gra-1/,
    );
    expect(pair.changes()).toEqual([
      'mysqlRepoint db-rbx-1',
      'esConfigureRemoteCluster rbx',
      'esMirrorAutoFollowPatterns rbx',
      'esFenceWrites rbx',
      'esFollowIndices rbx',
      'esDeleteAutoFollowPatterns gra',
      'esResumeAutoFollow',
    ]);
    expect(pair.state).toEqual(restored());
  });

  it('resumed after a switch back aborted with the traffic drained: switches it to gra and verifies it before re-establishing, then completes', async () => {
    pair = abortedSwitchBack();
    const handle = await start();
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(report.decisions[1]!.sentence).toMatch(/half failed back.*traffic does not go to gra alone/);
    expect(pair.state.traffic).toBe('gra');
    expect(pair.changes()[0]).toBe('trafficSwitch gra');
    const switched = pair.calls.indexOf('trafficSwitch gra');
    expect(pair.calls.indexOf('trafficVerify gra', switched)).toBeGreaterThan(switched);
    expect(pair.calls.indexOf('trafficVerify gra', switched)).toBeLessThan(
      pair.calls.indexOf('esConfigureRemoteCluster rbx'),
    );
    expect(report.steps.filter((s) => s.system === 'traffic')).toMatchObject([
      { id: 'traffic.switch', phase: 'switch', state: 'done' },
      { id: 'traffic.verify', phase: 'verify', state: 'done' },
    ]);
    expect(pair.state).toEqual(restored());
  });

  it("resumed with gra's indices still followers of rbx: promotes them before the traffic goes to gra, then completes", async () => {
    pair = abortedSwitchBack((s) => {
      s.es.graIndices = { orders: 'paused', customers: 'paused' };
    });
    const handle = await start();
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(pair.state.es.graIndices).toEqual({ orders: 'regular', customers: 'regular' });
    expect(pair.changes().slice(0, 2)).toEqual(['esPromoteFollowers gra', 'trafficSwitch gra']);
    expect(report.steps.find((s) => s.id === 'es.finish.promote')).toMatchObject({
      phase: 'promote',
      state: 'done',
    });
    expect(pair.state).toEqual(restored());
  });

  it('resumed: a switch to gra that keeps failing waits for an operator; abort reports what is missing and re-establishes nothing', async () => {
    pair = abortedSwitchBack();
    pair.fail('trafficSwitch');
    const handle = await start();
    const pending = await pendingOf(handle, 'operator');
    expect(pending.question).toMatch(/switch traffic to gra failed past the point of no return/);
    await handle.cancel();
    await answer(handle, abortUpdate, 'oncall', 'gra needs a look');
    const report = await handle.result();
    expect(report.outcome).toBe('aborted');
    expect(report.sentence).toMatch(
      /aborted by oncall.*the failback is not finished: traffic does not go to gra alone.*forward replication is not re-established/,
    );
    expect(report.decisions.map((d) => d.sentence)).toEqual(
      expect.arrayContaining([expect.stringMatching(/cancel request arrived past the point of no return/)]),
    );
    expect(pair.changes()).toEqual(['trafficSwitch gra']);
    expect(pair.state.traffic).toBe('');
  });

  it('a failure before the point of no return of the switch back is undone; gra stays a replica', async () => {
    pair = failedOver((s) => {
      s.apps['app-gra-1'] = false;
    });
    pair.fail('appStart');
    const report = await (await start()).result();
    expect(report.outcome).toBe('rolled-back');
    expect(pair.state.mysql['db-rbx-1']).toMatchObject({ readOnly: false });
    expect(pair.state.mysql['db-gra-1']).toMatchObject({ source: 'db-rbx-1', readOnly: true });
    expect(pair.state.traffic).toBe('rbx');
  });

  it('refuses to guess when no MySQL server is writable', async () => {
    pair = failedOver((s) => {
      s.mysql['db-rbx-1']!.readOnly = true;
    });
    const report = await (await start()).result();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(/no MySQL server is writable/);
    expect(pair.changes()).toEqual([]);
  });

  it('rejects a malformed input naming the bad fields', async () => {
    pair = failedOver();
    const handle = await start({ ...input(), mode: 'sideways' as never, reason: '' });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(
      /mode: must be "full" or "reprotect-only".*reason: say why/,
    );
  });

  it('uses the runbook approval for the switch back', async () => {
    pair = failedOver();
    pair.settings = fakeSettings({
      approval: { policy: 'required', approvers: ['alice'], timeoutMs: 60_000, onTimeout: 'reject' },
    });
    const report = await (await start()).result();
    expect(report.outcome).toBe('rejected');
    expect(report.sentence).toMatch(/switch back was not approved/);
    expect(pair.state.mysql['db-gra-1']).toMatchObject({ source: 'db-rbx-1' });
    expect(pair.state.traffic).toBe('rbx');
  });
});

describe('failback dry run (time-skipping, in-memory pair): plans from where the pair stands, changes nothing', () => {
  it('a failed-over pair: the reprotect and catch-up steps its systems make, then what a full failback does after', async () => {
    pair = failedOver();
    const handle = await start(input({ dryRun: true }));
    const report = await handle.result();
    await recordHistory(handle, 'failback-dry-run');
    expect(report.outcome).toBe('dry-run');
    expect(report.sentence).toMatch(
      /^dry run: \d+ steps: they reprotect gra and let it catch up; then a planned switch back .* \(rbx replicates from gra\)\. Data loss: none from the switch back/,
    );
    const phases = [...new Set(report.plan!.steps.map((s) => s.phase))];
    expect(phases).toEqual(['reprotect', 'catch-up']);
    expect(report.plan!.steps.map((s) => s.system)).toEqual(
      expect.arrayContaining(['mysql', 'elasticsearch']),
    );
    expect(report.plan!.steps).toHaveLength(Number(/(\d+) steps/.exec(report.sentence)![1]));
    expect(report.steps.every((s) => s.state === 'pending')).toBe(true);
    expect(pair.changes()).toEqual([]);
    expect(pair.state).toEqual(failedOverState());
  });

  it('reprotect-only: the same steps, and the pair then stays on rbx', async () => {
    pair = failedOver();
    const full = (await (await start(input({ dryRun: true }))).result()).plan!.steps;
    const report = await (await start(input({ mode: 'reprotect-only', dryRun: true }))).result();
    expect(report.outcome).toBe('dry-run');
    expect(report.sentence).toMatch(/the pair then stays on rbx \(reprotect-only\)/);
    expect(report.plan!.steps).toEqual(full);
    expect(pair.changes()).toEqual([]);
  });

  it('a half failed back pair: the steps that finish the switch and re-establish forward replication', async () => {
    pair = abortedSwitchBack();
    const before = structuredClone(pair.state);
    const report = await (await start(input({ dryRun: true }))).result();
    expect(report.outcome).toBe('dry-run');
    expect(report.sentence).toMatch(
      /they finish the switch back to gra and re-establish forward replication/,
    );
    const ids = report.plan!.steps.map((s) => s.id);
    expect(ids.slice(0, 2)).toEqual(['traffic.switch', 'traffic.verify']);
    expect(report.plan!.steps.some((s) => s.phase === 'reestablish')).toBe(true);
    expect(pair.changes()).toEqual([]);
    expect(pair.state).toEqual(before);
  });

  it('a pair that is not failed over is refused as a real failback is', async () => {
    pair = new FakePair();
    const report = await (await start(input({ dryRun: true }))).result();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(/refusing to fail back fake: it is not failed over/);
    expect(pair.changes()).toEqual([]);
  });

  it('bad input is refused naming the field: dryRun not a boolean, dryRun with holdBeforeFence', async () => {
    pair = failedOver();
    const message = async (i: FailbackInput) =>
      (await start(i)).result().catch((e: WorkflowFailedError) => e.cause?.message);
    expect(await message(input({ dryRun: 'yes' as never }))).toBe(
      'invalid failback input: dryRun: true or false (got "yes")',
    );
    expect(await message(input({ dryRun: true, holdBeforeFence: true }))).toBe(
      'invalid failback input: holdBeforeFence: a dry run changes nothing, so there is no fence to hold before',
    );
    expect(pair.calls).toEqual([]);
  });
});
