/**
 * Every branch of the failover workflow's logic, on the time-skipping test server with the activities replaced by
 * an in-memory pair (test/helpers/fake-pair.ts): no stack, and hours of approval timeouts pass at once.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signAnswer } from '../client/answer';
import { parseAllowedSigners } from '../common/approval-signature';
import { generateKey, TEST_APPROVER, TEST_APPROVER_LINE, writeTestApproverKey } from './helpers/approver';
import { afterAll, describe, expect, it } from 'vitest';
import type { Activities } from '../activities';
import type { PairSettings } from '../activities/pair-settings';
import { failover, fenceOldSite } from '../workflows';
import type { FenceOldSiteInput } from '../workflows/fence-old-site';
import {
  abortUpdate,
  COMPLETED_RUN_PHASES,
  approveSignal,
  approveUpdate,
  rejectUpdate,
  retryUpdate,
  statusQuery,
  type FailoverInput,
  type HumanAnswer,
  pairMoveWorkflowId,
  fenceWatchStatusQuery,
  fenceWatchWorkflowId,
  type FenceableSystem,
  type FenceWatchStatus,
  type System,
} from '../workflows/definitions';
import { FakePair, fakeSettings, initialState } from './helpers/fake-pair';
import { recordHistory } from './helpers/histories';
import { timeSkippingWorker } from './helpers/time-skipping';
import { answer, answerBySignal } from './helpers/answers';
import { testWorkflowBundle } from './helpers/local-stack';

let pair: FakePair;

/** The pair each run acts on: the one of the test during which it called its first activity. */
const pairOfRun = new Map<string, FakePair>();

/**
 * The worker's activities call into the pair of the test that started the run: a watcher of an old site that a
 * test left running (ending it would stop the test server's time skipping, see `start`) acts on that test's pair,
 * never on a later test's.
 */
function delegatingActivities(): Partial<Activities> {
  const names = Object.keys(new FakePair().activities()) as (keyof Activities)[];
  const pairOf = (runId: string) => {
    if (!pairOfRun.has(runId)) pairOfRun.set(runId, pair);
    return pairOfRun.get(runId)!;
  };
  return Object.fromEntries(
    names.map((name) => [
      name,
      (...args: unknown[]) => {
        const run = pairOf(Context.current().info.workflowExecution?.runId ?? '');
        return (run.activities()[name] as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  ) as Partial<Activities>;
}

const ts = timeSkippingWorker(
  'failover-wf',
  () => ({ workflowBundle: { codePath: testWorkflowBundle() } }),
  delegatingActivities(),
);

const input = (overrides: Partial<FailoverInput> = {}): FailoverInput => ({
  pair: 'fake',
  mode: 'planned',
  trigger: 'test',
  reason: 'test run',
  requestedBy: 'tester',
  ...overrides,
});

/** A pair whose runbook names alice as approver, with this approval policy (default: required, 30 min, reject). */
const pairWithApproval = (approval: Partial<PairSettings['approval']>) =>
  new FakePair(
    fakeSettings({
      approval: {
        policy: 'required',
        approvers: ['alice'],
        timeoutMs: 1_800_000,
        onTimeout: 'reject',
        ...approval,
      },
    }),
  );

/**
 * Terminates a run a test left open, once no activity of it is in flight: the test server's time skipping stays
 * locked until the activity timeout of an activity whose run was terminated under it.
 */
async function terminateQuietly(workflowId: string): Promise<void> {
  const handle = ts.env.client.workflow.getHandle(workflowId);
  for (let i = 0; i < 200; i++) {
    const run = await handle.describe().catch(() => undefined);
    if (run?.status.name !== 'RUNNING') return;
    if ((run.raw.pendingActivities ?? []).length === 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await handle.terminate('the next test starts').catch(() => undefined);
}

/**
 * Starts a run under the pair's move ID, the only ID a move runs under; a run a test left open is ended first. A
 * watcher of the old site that an unplanned run left is not: a child ended after its abandoning parent closed stops
 * the test server's time skipping (temporalio/sdk-typescript#1101). It goes on acting on its own test's pair, and a
 * later unplanned run of the same pair joins it.
 */
async function start(i: FailoverInput = input()) {
  const workflowId = pairMoveWorkflowId(i.pair);
  await terminateQuietly(workflowId);
  return ts.env.client.workflow.start(failover, { args: [i], taskQueue: ts.taskQueue, workflowId });
}

/**
 * Waits (in workflow time, which the test server skips) until the run waits for the given kind of answer, to a
 * question other than `after` (one already answered).
 */
async function pendingOf(
  handle: Awaited<ReturnType<typeof start>>,
  kind: 'approval' | 'operator',
  after?: string,
) {
  for (let i = 0; i < 800; i++) {
    const status = await handle.query(statusQuery);
    if (status.pending?.kind === kind && status.pending.id !== after) return status.pending;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the run never waited for ${kind}`);
}

/**
 * The result of a run whose approval questions oncall approves as they open (going on without a fence is never
 * approved by a policy). The test server skips time only while a result is awaited, so this polls until the run ends.
 */
async function resultApprovingEachQuestion(handle: Awaited<ReturnType<typeof start>>) {
  const answered = new Set<string>();
  for (let i = 0; i < 1600 && (await handle.describe()).status.name === 'RUNNING'; i++) {
    const open = ((await handle.query(statusQuery)).questions ?? []).filter(
      (q) => q.kind === 'approval' && !answered.has(q.id!),
    );
    for (const q of open) {
      answered.add(q.id!);
      await answer(handle, approveUpdate, 'oncall', 'the primary is gone: go on');
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return handle.result();
}

const MYSQL_FENCE_QUESTION = /^fence MySQL primary db-gra-1 failed .*go on without this fence/;
const ES_FENCE_QUESTION =
  /^make the leader indices of gra refuse writes \(write block\) failed \(SeenDown: not tried: every vantage saw elasticsearch of gra down in every detection round, so the leader indices of ES gra cannot be reached to be fenced\); go on without this fence, accepting that the leader indices of ES gra could take writes if it comes back\?$/;

/** Answers the questions to go on without each fence that fails, in order, each matching its pattern. */
async function acceptNoFence(handle: Awaited<ReturnType<typeof start>>, by: string, questions: RegExp[]) {
  let last: string | undefined;
  for (const question of questions) {
    const pending = await pendingOf(handle, 'approval', last);
    expect(pending.question).toMatch(question);
    await answer(handle, approveUpdate, by, 'gra is powered off');
    last = pending.id;
  }
}

const failedOverState = () => {
  const s = initialState();
  s.mysql['db-gra-1'] = { reachable: true, readOnly: true, source: 'db-rbx-1', ioRunning: true };
  s.mysql['db-rbx-1'] = { reachable: true, readOnly: false, source: undefined, ioRunning: false };
  s.mysql['db-rbx-2'] = { reachable: true, readOnly: true, source: 'db-rbx-1', ioRunning: true };
  s.es.followers = { orders: 'regular', customers: 'regular' };
  s.es.autoFollow = { 'logs-from-gra': false };
  s.es.writeBlocked.gra = true;
  s.apps['app-rbx-1'] = true;
  s.traffic = 'rbx';
  return s;
};

describe('failover workflow (time-skipping, in-memory pair)', () => {
  it('planned, auto-approved: runs every phase in order and leaves the pair on rbx', async () => {
    pair = new FakePair();
    const handle = await start(input({ reason: 'r'.repeat(1024), requestedBy: 'q'.repeat(1024) }));
    const report = await handle.result();
    await recordHistory(handle, 'failover-planned-completed');
    expect(report.outcome).toBe('completed');
    // Far below Temporal's payload warning (512 KiB), with the longest reason and requester a caller may give.
    expect(new TextEncoder().encode(JSON.stringify(report)).length).toBeLessThan(64 * 1024);
    expect(pair.state).toEqual(failedOverState());
    // Phases in order; the steps of one phase run in parallel. The standby's app starts before the drain (warm-up);
    // the drain and the two fences run together.
    const changes = pair.changes();
    expect(changes[0]).toBe('appStart app-rbx-1');
    expect(changes.slice(1, 4).sort()).toEqual([
      'esFenceWrites gra',
      'mysqlFence db-gra-1',
      'trafficDrain gra',
    ]);
    expect(changes.slice(4, 6).sort()).toEqual(['esPauseAutoFollow', 'esPauseFollow']);
    expect(changes.slice(6, 8).sort()).toEqual(['esPromoteFollowers', 'mysqlPromote db-rbx-1']);
    expect(changes[8]).toBe('trafficSwitch rbx');
    expect(changes.slice(9).sort()).toEqual(['mysqlRepoint db-gra-1', 'mysqlRepoint db-rbx-2']);
    // The old site's indices keep refusing writes: a failback replaces them by followers.
    expect(pair.state.es.writeBlocked).toEqual({ gra: true, rbx: false });
    expect(report.steps.find((s) => s.id === 'es.fence')).toMatchObject({
      phase: 'fence',
      state: 'done',
      sentence: 'gra: orders, customers refuse writes now (index.blocks.write).',
    });
    expect(pair.calls.indexOf('esWriteBlockStatus gra')).toBeLessThan(
      pair.calls.indexOf('esFenceWrites gra'),
    );
    expect(report.steps.every((s) => s.state === 'done' && s.attempts === 1)).toBe(true);
    expect(report.dataLoss.map((d) => d.count)).toEqual([0, 0]);
    expect(report.topology?.traffic?.site).toBe('rbx');
    expect(report.decisions.map((d) => d.phase)).toEqual(expect.arrayContaining([...COMPLETED_RUN_PHASES]));
  });

  it('planned: the warm-up runs before the drain, and only the fence, the final catch-up, the promotions and the switch run inside the window the report measures', async () => {
    pair = new FakePair();
    const report = await (await start()).result();
    expect(report.outcome).toBe('completed');
    const drain = pair.calls.indexOf('trafficDrain gra');
    // Warm-up reads before the drain: the catch-up, the follower lag, the traffic target, the app started.
    for (const warm of [
      'mysqlCatchUp db-rbx-1',
      'esFollowerStatus rbx',
      'trafficCurrentTarget',
      'appStart app-rbx-1',
    ])
      expect(pair.calls.indexOf(warm), warm).toBeLessThan(drain);
    expect(
      report.steps
        .filter((s) => s.phase === 'warm-up')
        .map((s) => s.id)
        .sort(),
    ).toEqual(['apps.start.app-rbx-1', 'es.warm-up', 'mysql.warm-up', 'traffic.check-target']);
    const window = report.fenceWindow!;
    expect(window.steps.map((s) => s.id)).toEqual([
      'traffic.drain',
      'mysql.fence',
      'es.fence',
      'mysql.catch-up',
      'es.pause-follow',
      'es.pause-auto-follow',
      'apps.check.app-rbx-1',
      'mysql.promote',
      'es.promote',
      'traffic.switch',
    ]);
    const step = (id: string) => report.steps.find((s) => s.id === id)!;
    expect(window.startedAt).toBe(step('traffic.drain').startedAt);
    expect(window.endedAt).toBe(step('traffic.switch').endedAt);
    expect(window.ms).toBe(Date.parse(window.endedAt) - Date.parse(window.startedAt));
    // The app, healthy since the warm-up, is only probed inside the window.
    expect(step('apps.check.app-rbx-1').sentence).toBe('app-rbx-1 still answers its health check.');
    expect(pair.calls.filter((c) => c === 'appStart app-rbx-1')).toHaveLength(1);
    expect(report.plan!.sentence).toMatch(
      /before the fence, while the old site still takes writes: traffic\.check-target, mysql\.warm-up, es\.warm-up, apps\.start\.app-rbx-1; inside the fence window \(writes refused\): traffic\.drain, mysql\.fence, es\.fence, /,
    );
    expect(report.decisions.map((d) => d.sentence)).toContainEqual(
      expect.stringMatching(/^the fence window \(writes refused\) lasted \d+ ms: traffic\.drain \d+ ms, /),
    );
  });

  it('planned: a standby app healthy in the assessment is not started before the fence, only probed inside the window', async () => {
    pair = new FakePair();
    pair.state.apps['app-rbx-1'] = true;
    const report = await (await start()).result();
    expect(report.outcome).toBe('completed');
    expect(report.steps.map((s) => s.id)).not.toContain('apps.start.app-rbx-1');
    expect(pair.calls.filter((c) => c.startsWith('appStart'))).toEqual([]);
    expect(report.steps.find((s) => s.id === 'apps.check.app-rbx-1')?.state).toBe('done');
  });

  describe('holdBeforeFence: the cut-over waits for a go once the standby is warm', () => {
    it('nothing is drained until the go; then the move completes, the go recorded beside the approval', async () => {
      pair = pairWithApproval({ policy: 'auto' });
      const handle = await start(input({ holdBeforeFence: true }));
      const hold = await pendingOf(handle, 'approval');
      expect(hold.question).toMatch(
        /^rbx is warm \(4 warm-up step\(s\) done\); drain and fence gra now\? Writes are refused from the drain until the traffic switch$/,
      );
      // The runbook approves moves automatically, but the go is a human's: the warm-up is done, nothing drained.
      expect(pair.changes()).toEqual(['appStart app-rbx-1']);
      expect(pair.state.traffic).toBe('gra');
      await answer(handle, approveUpdate, 'alice', 'maintenance window open');
      const report = await handle.result();
      expect(report.outcome).toBe('completed');
      expect(report.approvals.map((a) => [a.how, a.by])).toEqual([
        ['auto', 'policy'],
        ['approver', 'alice'],
      ]);
      expect(pair.state).toEqual(failedOverState());
    });

    it('a rejected go undoes the warm-up and changes nothing else', async () => {
      pair = pairWithApproval({ policy: 'auto' });
      const handle = await start(input({ holdBeforeFence: true }));
      await pendingOf(handle, 'approval');
      await answer(handle, rejectUpdate, 'alice', 'the window was moved to tomorrow');
      const report = await handle.result();
      expect(report.outcome).toBe('rolled-back');
      expect(report.sentence).toMatch(
        /^failover rolled back before the point of no return: CutOverNotGiven: the cut-over was not given its go \(the window was moved to tomorrow\), so gra was never drained/,
      );
      expect(report.compensation?.undone.map((u) => u.step)).toEqual(['apps.start.app-rbx-1']);
      expect(pair.changes()).toEqual(['appStart app-rbx-1', 'appStop app-rbx-1']);
      expect(pair.state).toEqual(initialState());
    });

    it('no go within the approval timeout is no go, whatever the runbook says on timeout', async () => {
      pair = pairWithApproval({ policy: 'required', timeoutMs: 600_000, onTimeout: 'approve' });
      const handle = await start(input({ holdBeforeFence: true }));
      await pendingOf(handle, 'approval');
      await answer(handle, approveUpdate, 'alice', 'go');
      const report = await handle.result();
      expect(report.outcome).toBe('rolled-back');
      expect(report.approvals.at(-1)).toMatchObject({ approved: false, how: 'timeout' });
      expect(pair.state).toEqual(initialState());
    });

    it('is refused on a move that does not warm up, naming the field, and changes nothing', async () => {
      pair = new FakePair();
      const handle = await start(input({ mode: 'unplanned', holdBeforeFence: true }));
      const error = await handle.result().catch((e: WorkflowFailedError) => e.cause?.message);
      expect(error).toMatch(
        /^invalid failover input: holdBeforeFence: only a planned move \(failover mode "planned", failback mode "full"\) warms up and can hold before its fence \(mode is "unplanned"\)$/,
      );
      const typed = await start(input({ holdBeforeFence: 'yes' as never }));
      expect(await typed.result().catch((e: WorkflowFailedError) => e.cause?.message)).toMatch(
        /holdBeforeFence: true or false \(got "yes"\)/,
      );
      expect(pair.calls).toEqual([]);
    });

    it('a dryRun flag is refused, naming the failover dry run: mode "dry-run"', async () => {
      pair = new FakePair();
      const handle = await start(input({ dryRun: true } as never));
      expect(await handle.result().catch((e: WorkflowFailedError) => e.cause?.message)).toBe(
        'invalid failover input: dryRun: a failover has none; its dry run is mode "dry-run"',
      );
      expect(pair.calls).toEqual([]);
    });
  });

  it('dry run: returns the plan and its data-loss estimate, changes nothing', async () => {
    pair = new FakePair();
    const report = await (await start(input({ mode: 'dry-run' }))).result();
    expect(report.outcome).toBe('dry-run');
    expect(report.plan?.steps.map((s) => s.id)).toEqual([
      'traffic.check-target',
      'mysql.warm-up',
      'es.warm-up',
      'apps.start.app-rbx-1',
      'traffic.drain',
      'mysql.fence',
      'es.fence',
      'mysql.catch-up',
      'es.pause-follow',
      'es.pause-auto-follow',
      'apps.check.app-rbx-1',
      'mysql.promote',
      'es.promote',
      'traffic.switch',
      'traffic.verify',
      'mysql.repoint.db-gra-1',
      'mysql.repoint.db-rbx-2',
    ]);
    expect(report.plan?.steps.find((s) => s.id === 'mysql.fence')?.compensation).toBe(
      'make db-gra-1 writable again',
    );
    expect(report.plan?.steps.find((s) => s.id === 'es.fence')).toEqual({
      id: 'es.fence',
      phase: 'fence',
      system: 'elasticsearch',
      title: 'make the leader indices of gra refuse writes (write block)',
      target: 'the leader indices of ES gra',
      compensation: 'lift the write block from the leader indices of gra that took writes before',
    });
    expect(pair.changes()).toEqual([]);
    expect(pair.state).toEqual(initialState());
  });

  it('required approval: an update from an approver with a reason starts the move; others are refused at once', async () => {
    pair = pairWithApproval({ policy: 'required' });
    const handle = await start();
    const pending = await pendingOf(handle, 'approval');
    expect(pending.answers).toEqual(['approve', 'reject']);
    expect(pending.id).toBe('q1');
    const refusal = (update: typeof approveUpdate, answer: Partial<HumanAnswer>) =>
      handle.executeUpdate(update, { args: [answer as HumanAnswer] }).then(
        () => 'accepted',
        (err: WorkflowUpdateFailedError) => (err.cause as Error).message,
      );
    expect(await refusal(approveUpdate, { questionId: 'q1', by: 'mallory', reason: 'go' })).toBe(
      'mallory is not an approver of this pair',
    );
    expect(await refusal(approveUpdate, { questionId: 'q1', by: 'alice', reason: ' ' })).toBe(
      'reason: a reason is required',
    );
    expect(await refusal(retryUpdate, { questionId: 'q1', by: 'alice', reason: 'x' })).toBe(
      'question q1 takes approve or reject, not retry',
    );
    expect(await refusal(approveUpdate, { by: 'alice', reason: 'x' })).toBe(
      'questionId: name the question you answer (open now: q1 (approve or reject))',
    );
    expect(await refusal(approveUpdate, { questionId: 'q7', by: 'alice', reason: 'x' })).toBe(
      'questionId: q7 is not an open question (open now: q1 (approve or reject))',
    );
    expect(await refusal(approveUpdate, { questionId: 'q1', by: 'alice', reason: 'x'.repeat(1025) })).toBe(
      'reason: at most 1024 bytes (got 1025)',
    );
    expect(pair.changes()).toEqual([]);
    expect(await answer(handle, approveUpdate, 'alice', 'planned maintenance')).toBe(
      'approve of question q1 accepted from alice',
    );
    expect(await refusal(rejectUpdate, { questionId: 'q1', by: 'alice', reason: 'changed my mind' })).toMatch(
      /^(question q1 is already answered \(approve by alice\)|no question is open now: nothing waits for reject)$/,
    );
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(report.approvals).toEqual([
      expect.objectContaining({
        approved: true,
        how: 'approver',
        by: 'alice',
        reason: 'planned maintenance',
      }),
    ]);
    expect(report.rto.fromApprovalMs).toBeLessThanOrEqual(report.rto.fromStartMs);
  });

  describe('signed answers', () => {
    const keys = mkdtempSync(path.join(os.tmpdir(), 'signed-answers-'));
    const approverKey = writeTestApproverKey(keys);
    const mallory = generateKey(keys, 'mallory');
    afterAll(() => rmSync(keys, { recursive: true, force: true }));

    /** A pair whose approver signs (the test key), with these extra approval settings. */
    const signedPair = (extra: Partial<PairSettings['approval']> = {}) =>
      pairWithApproval({
        policy: 'required',
        approvers: ['oncall', 'walk-in'],
        signers: parseAllowedSigners(TEST_APPROVER_LINE, 'test'),
        unsigned: 'refuse',
        unsignedApprovers: ['walk-in'],
        signatureMaxAgeMs: 600_000,
        fourEyes: false,
        ...extra,
      });

    /** Signs an answer as the test approver (or with `key`), at `signedAt` (default: when the question was asked). */
    async function signed(
      handle: Awaited<ReturnType<typeof start>>,
      decision: 'approve' | 'reject',
      questionId: string,
      options: { by?: string; key?: string; signedAt?: string; reason?: string; runId?: string } = {},
    ): Promise<HumanAnswer> {
      const status = await handle.query(statusQuery);
      const runId = options.runId ?? (await handle.describe()).runId;
      const fields = {
        workflowId: handle.workflowId,
        runId,
        questionId,
        decision,
        by: options.by ?? 'oncall',
        reason: options.reason ?? 'signed in a test',
        signedAt: options.signedAt ?? status.questions!.find((q) => q.id === questionId)!.since,
      };
      const signature = await signAnswer(fields, { key: options.key ?? approverKey });
      return { questionId, by: fields.by, reason: fields.reason, signedAt: fields.signedAt, signature };
    }
    const refusalOf = (handle: Awaited<ReturnType<typeof start>>, answer: HumanAnswer) =>
      handle.executeUpdate(approveUpdate, { args: [answer] }).then(
        () => 'accepted',
        (err: WorkflowUpdateFailedError) => (err.cause as Error).message,
      );

    it('accepts a signature by the approver key over this run and question; the report marks it signed', async () => {
      pair = signedPair();
      const handle = await start();
      await pendingOf(handle, 'approval');
      expect(
        await handle.executeUpdate(approveUpdate, { args: [await signed(handle, 'approve', 'q1')] }),
      ).toBe('approve of question q1 accepted from oncall');
      const report = await handle.result();
      expect(report.outcome).toBe('completed');
      expect(report.approvals).toEqual([
        expect.objectContaining({ by: 'oncall', signed: true, questionId: 'q1' }),
      ]);
    });

    it('refuses forged, tampered, replayed, expired, unsigned and self-approved answers, and changes nothing', async () => {
      pair = signedPair({ fourEyes: true });
      const handle = await start(input({ requestedBy: 'oncall' }));
      await pendingOf(handle, 'approval');
      const good = await signed(handle, 'approve', 'q1');
      expect(await refusalOf(handle, good)).toBe(
        'four-eyes: oncall asked for this run and cannot also answer it',
      );
      const firstRunId = (await handle.describe()).runId;
      await handle.terminate('next case');

      pair = signedPair();
      const second = await start();
      await pendingOf(second, 'approval');
      const forged = await signed(second, 'approve', 'q1', { key: mallory.key });
      expect(await refusalOf(second, forged)).toMatch(
        /^signature: the signature is not from a key the runbook allows for "oncall"/,
      );
      const answer = await signed(second, 'approve', 'q1');
      expect(await refusalOf(second, { ...answer, reason: 'another reason' })).toMatch(/^signature: /);
      const replayed = await signed(second, 'approve', 'q1', { runId: firstRunId, signedAt: good.signedAt! });
      expect(await refusalOf(second, replayed)).toMatch(/^signature: /);
      const status = await second.query(statusQuery);
      const longAgo = new Date(Date.parse(status.questions![0]!.since) - 3_600_000).toISOString();
      expect(await refusalOf(second, await signed(second, 'approve', 'q1', { signedAt: longAgo }))).toMatch(
        /^signature: the answer was signed at /,
      );
      expect(await refusalOf(second, { questionId: 'q1', by: 'oncall', reason: 'no signature' })).toBe(
        'signature: this pair takes signed answers only (drctl approve|reject|retry|abort|discard signs them)',
      );
      expect(await refusalOf(second, { questionId: 'q1', by: 'walk-in', reason: 'unsigned' })).toMatch(
        /^signature: this pair takes signed answers only/,
      );
      for (const refused of [forged, replayed])
        expect(JSON.stringify(refused)).not.toContain(TEST_APPROVER.publicKey);
      expect(pair.changes()).toEqual([]);
      expect(await refusalOf(second, answer)).toBe('accepted');
      expect((await second.result()).outcome).toBe('completed');
    });

    it('with unsigned: allow, a bare-name approver answers unsigned and the report says so', async () => {
      pair = signedPair({ unsigned: 'allow' });
      const handle = await start();
      await pendingOf(handle, 'approval');
      await answer(handle, approveUpdate, 'walk-in', 'from the UI form');
      const report = await handle.result();
      expect(report.approvals).toEqual([expect.objectContaining({ by: 'walk-in', signed: false })]);
    });
  });

  it('required approval: a signal from an approver works too', async () => {
    pair = pairWithApproval({ policy: 'required' });
    const handle = await start();
    await pendingOf(handle, 'approval');
    await answerBySignal(handle, approveSignal, 'alice', 'from a tool that can only signal');
    expect((await handle.result()).outcome).toBe('completed');
  });

  it('a rejection changes nothing', async () => {
    pair = pairWithApproval({ policy: 'required' });
    const handle = await start();
    await pendingOf(handle, 'approval');
    await answer(handle, rejectUpdate, 'alice', 'not now');
    const report = await handle.result();
    expect(report.outcome).toBe('rejected');
    expect(report.sentence).toContain('not now');
    expect(pair.changes()).toEqual([]);
    expect(pair.state).toEqual(initialState());
  });

  it('an approval timeout applies the runbook onTimeout: reject changes nothing, approve proceeds', async () => {
    pair = pairWithApproval({ policy: 'required', timeoutMs: 3_600_000, onTimeout: 'reject' });
    const rejected = await (await start()).result();
    expect(rejected.outcome).toBe('rejected');
    expect(rejected.approvals[0]).toMatchObject({ approved: false, how: 'timeout' });
    expect(pair.changes()).toEqual([]);

    pair = pairWithApproval({ policy: 'required', timeoutMs: 3_600_000, onTimeout: 'approve' });
    const approved = await (await start()).result();
    expect(approved.outcome).toBe('completed');
    expect(approved.approvals[0]).toMatchObject({ approved: true, how: 'timeout' });
  });

  it('auto-after: proceeds after the delay, unless rejected within it', async () => {
    const policy = { policy: 'auto-after' as const, delayMs: 600_000 };
    pair = pairWithApproval(policy);
    const report = await (await start()).result();
    expect(report.outcome).toBe('completed');
    expect(report.approvals[0]).toMatchObject({ approved: true, how: 'auto-after' });

    pair = pairWithApproval(policy);
    const handle = await start();
    await pendingOf(handle, 'approval');
    await answer(handle, rejectUpdate, 'alice', 'hold on');
    expect((await handle.result()).outcome).toBe('rejected');
    expect(pair.changes()).toEqual([]);
  });

  const everyUndo = [
    'esResumeAutoFollow logs-from-gra',
    'esResumeFollow orders,customers',
    'esUnfenceWrites gra',
    'mysqlUnfence db-gra-1',
    'trafficSwitch gra',
    'appStop app-rbx-1',
  ];
  for (const [activity, compensations, inWindow] of [
    // The ES fence ran beside the failed MySQL fence: it is undone too.
    [
      'mysqlFence',
      ['esUnfenceWrites gra', 'mysqlUnfence db-gra-1', 'trafficSwitch gra', 'appStop app-rbx-1'],
    ],
    // The write block was never added: its undo reads the blocks again and lifts nothing.
    ['esFenceWrites', ['mysqlUnfence db-gra-1', 'trafficSwitch gra', 'appStop app-rbx-1']],
    // The final catch-up, inside the window (the warm-up's catch-up passed).
    ['mysqlCatchUp', everyUndo, true],
    ['esPauseFollow', everyUndo],
    ['esPauseAutoFollow', everyUndo],
    // Before the fence: only the app it was starting is stopped; nothing was drained or fenced.
    ['appStart', ['appStop app-rbx-1']],
  ] as const) {
    it(`a failure in ${activity} undoes every compensable step, newest first, and leaves the pair as it was`, async () => {
      pair = new FakePair();
      if (inWindow) pair.onCall('trafficDrain', 1, () => pair.fail(activity));
      else pair.fail(activity);
      const handle = await start();
      const report = await handle.result();
      if (activity === 'appStart') await recordHistory(handle, 'failover-rolled-back');
      expect(report.outcome).toBe('rolled-back');
      expect(report.sentence).toContain(`injected fault in ${activity}`);
      const changes = pair.changes();
      const undo = changes.slice(changes.findIndex((c) => /Unfence|Resume|appStop|trafficSwitch/.test(c)));
      expect(undo).toEqual(compensations);
      expect(pair.state).toEqual(initialState());
      expect(changes).not.toContain('mysqlPromote db-rbx-1');
      expect(report.compensation?.leftInPlace).toEqual([]);
    });
  }

  it('a rollback lifts only the write blocks the run added: indices of gra that refused writes before keep refusing them', async () => {
    pair = new FakePair();
    // gra's leader indices carry the write block already (say an ILM read-only phase put it there).
    pair.state.es.writeBlocked.gra = true;
    pair.fail('esPauseAutoFollow');
    const report = await (await start()).result();
    expect(report.outcome).toBe('rolled-back');
    expect(pair.state.es.writeBlocked.gra).toBe(true);
    expect(pair.changes()).not.toContain('esUnfenceWrites gra');
    expect(report.compensation?.undone).toContainEqual({
      step: 'es.fence',
      sentence: 'no leader index of gra carries a write block the run added.',
    });
  });

  it('a failed compensation waits for a human: retry runs it again, and the pair ends as it was', async () => {
    pair = pairWithApproval({ policy: 'auto' });
    pair.fail('esPauseAutoFollow');
    pair.fail('esResumeFollow', { times: 1 });
    const handle = await start();
    const pending = await pendingOf(handle, 'operator');
    expect(pending.question).toMatch(
      /undoing "let the followers on rbx read everything, then pause them" failed/,
    );
    expect((await handle.query(statusQuery)).phase).toBe('compensate');
    await answer(handle, retryUpdate, 'alice', 'ES is back');
    const report = await handle.result();
    expect(report.outcome).toBe('rolled-back');
    expect(pair.state).toEqual(initialState());
    expect(report.operatorDecisions).toEqual([expect.objectContaining({ action: 'retry', by: 'alice' })]);
  });

  it('a drain that took effect before its answer was lost is still undone: the old site gets its traffic back', async () => {
    pair = pairWithApproval({ policy: 'auto' });
    pair.loseAnswer('trafficDrain');
    pair.fail('esPauseAutoFollow');
    const handle = await start();
    const report = await handle.result();
    expect(report.outcome).toBe('rolled-back');
    expect(pair.calls.filter((c) => c === 'trafficDrain gra')).toHaveLength(2);
    expect(pair.state.traffic).toBe('gra');
    expect(pair.changes()).toContain('trafficSwitch gra');
  });

  it('two questions open at once (parallel promotions failing) each need their own answer', async () => {
    pair = pairWithApproval({ policy: 'auto' });
    pair.fail('mysqlPromote', { times: 1 });
    pair.fail('esPromoteFollowers', { times: 1 });
    const handle = await start();
    let status = await handle.query(statusQuery);
    for (let i = 0; i < 200 && (status.questions ?? []).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 25));
      status = await handle.query(statusQuery);
    }
    const [first, second] = status.questions!;
    expect([first?.id, second?.id]).toEqual(['q1', 'q2']);
    expect(status.pending?.id).toBe('q1');
    const retry = (questionId: string, reason: string) =>
      handle.executeUpdate(retryUpdate, { args: [{ questionId, by: 'alice', reason }] });
    expect(await retry('q1', 'first fixed')).toBe('retry of question q1 accepted from alice');
    await expect(retry('q1', 'again')).rejects.toThrow(WorkflowUpdateFailedError);
    expect((await handle.query(statusQuery)).questions?.map((q) => q.id)).toEqual(['q2']);
    expect(await retry('q2', 'second fixed')).toBe('retry of question q2 accepted from alice');
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(report.operatorDecisions.map((d) => [d.questionId, d.reason])).toEqual([
      ['q1', 'first fixed'],
      ['q2', 'second fixed'],
    ]);
  });

  it('a failed compensation aborted by a human is left in place, every other one still runs, and the outcome says so', async () => {
    pair = pairWithApproval({ policy: 'auto' });
    pair.fail('esPauseAutoFollow');
    pair.fail('esResumeFollow');
    const handle = await start();
    await pendingOf(handle, 'operator');
    await answer(handle, abortUpdate, 'alice', 'will fix by hand');
    const report = await handle.result();
    expect(report.compensation?.leftInPlace).toEqual(['es.pause-follow']);
    expect(report.compensation?.undone.map((u) => u.step)).toEqual(
      expect.arrayContaining(['mysql.fence', 'traffic.drain']),
    );
    expect(pair.state.mysql['db-gra-1']!.readOnly).toBe(false);
    expect(pair.state.traffic).toEqual(initialState().traffic);
    expect(report.outcome).toBe('partly-rolled-back');
    expect(report.sentence).toContain('NOT undone, left in effect for hand work: es.pause-follow');
  });

  it('past the point of no return a failure is never compensated: it waits for retry and then completes', async () => {
    pair = pairWithApproval({ policy: 'auto' });
    pair.fail('trafficSwitch', { type: 'TrafficCommandRejected', nonRetryable: true });
    const handle = await start();
    const pending = await pendingOf(handle, 'operator');
    expect(pending.question).toMatch(/switch traffic to rbx failed past the point of no return/);
    const status = await handle.query(statusQuery);
    expect(status.pastPointOfNoReturn).toBe(true);
    expect(status.steps.find((s) => s.id === 'traffic.switch')).toMatchObject({
      state: 'failed',
      attempts: 1,
    });
    pair.heal('trafficSwitch');
    await answer(handle, retryUpdate, 'alice', 'HAProxy fixed');
    const report = await handle.result();
    await recordHistory(handle, 'failover-retried-past-point-of-no-return');
    expect(report.outcome).toBe('completed');
    expect(pair.changes().filter((c) => /Unfence|Resume|appStop/.test(c))).toEqual([]);
    expect(report.steps.find((s) => s.id === 'traffic.switch')).toMatchObject({ state: 'done', attempts: 2 });
    expect(pair.state).toEqual(failedOverState());
  });

  it('past the point of no return, an entry point that does not answer at once is verified again before a human is asked', async () => {
    pair = new FakePair();
    pair.unverifiedAnswers = 2;
    const report = await (await start()).result();
    expect(report.outcome).toBe('completed');
    expect(report.operatorDecisions).toEqual([]);
    expect(pair.calls.filter((c) => c === 'trafficVerify rbx')).toHaveLength(3);
    expect(report.steps.find((s) => s.id === 'traffic.verify')).toMatchObject({ state: 'done', attempts: 1 });
  });

  it('past the point of no return, an entry point that keeps failing waits for an operator', async () => {
    // Short waits: this test waits through queries, which the test server does not skip time for.
    const { probes, timeouts } = fakeSettings();
    pair = new FakePair(
      fakeSettings({
        probes: { ...probes, intervalMs: 100 },
        timeouts: { ...timeouts, trafficSwitchMs: 1_000 },
      }),
    );
    pair.unverifiedAnswers = 1_000;
    const handle = await start();
    const pending = await pendingOf(handle, 'operator');
    expect(pending.question).toMatch(
      /^verify that rbx serves the traffic through the public entry point failed past the point of no return: TrafficNotVerified: rbx does not serve the traffic\. \(still so after 1 s\)/,
    );
    pair.unverifiedAnswers = 0;
    await answer(handle, retryUpdate, 'oncall', 'entry point fixed');
    expect((await handle.result()).outcome).toBe('completed');
  });

  it('past the point of no return, abort ends the run as aborted without undoing the promotion', async () => {
    pair = pairWithApproval({ policy: 'auto' });
    pair.fail('mysqlPromote');
    const handle = await start();
    await pendingOf(handle, 'operator');
    await answer(handle, abortUpdate, 'alice', 'taking over by hand');
    const report = await handle.result();
    expect(report.outcome).toBe('aborted');
    expect(report.sentence).toContain('taking over by hand');
    expect(pair.state.es.followers).toEqual({ orders: 'regular', customers: 'regular' });
    expect(pair.changes().filter((c) => /Unfence|Resume|appStop/.test(c))).toEqual([]);
  });

  it('unplanned: fails over when every vantage sees the primary down for `fall` rounds; the missing fence needs approval', async () => {
    pair = pairWithApproval({ policy: 'required' });
    pair.mysqlDown();
    pair.esDown();
    pair.state.apps['app-gra-1'] = false;
    const handle = await start(input({ mode: 'unplanned' }));
    const started = await pendingOf(handle, 'approval');
    await answer(handle, approveUpdate, 'alice', 'gra is gone');
    const fencePending = await pendingOf(handle, 'approval', started.id);
    expect(fencePending.question).toMatch(MYSQL_FENCE_QUESTION);
    await answer(handle, approveUpdate, 'alice', 'gra is powered off');
    const esFencePending = await pendingOf(handle, 'approval', fencePending.id);
    expect(esFencePending.question).toMatch(ES_FENCE_QUESTION);
    await answer(handle, approveUpdate, 'alice', 'gra is powered off');
    const report = await handle.result();
    await recordHistory(handle, 'failover-unplanned-completed');
    expect(report.outcome).toBe('completed');
    expect(report.detection).toHaveLength(3);
    // Seen down by every vantage in every round: the fences are not tried (no connect timeout), the human is asked.
    // (The watcher started after the promotion tries them again, as it should.)
    const beforePromotion = pair.calls.slice(0, pair.calls.indexOf('mysqlPromote db-rbx-1'));
    expect(beforePromotion.filter((c) => /^(mysqlFence|esFenceWrites) /.test(c))).toEqual([]);
    for (const id of ['mysql.fence', 'es.fence'])
      expect(report.steps.find((s) => s.id === id)?.lastError, id).toMatch(
        /^SeenDown: not tried: every vantage saw /,
      );
    expect(report.dataLoss[0]!.sentence).toMatch(/^unknown: db-gra-1 cannot be read/);
    expect(pair.changes()).not.toContain('mysqlRepoint db-gra-1');
    expect(pair.state.traffic).toBe('rbx');
  });

  /** gra is gone from every vantage; the runbook has an ssh section for db-gra-1's host. */
  const unplannedWithSalvage = () => {
    const settings = fakeSettings();
    settings.mysql.servers[0] = { ...settings.mysql.servers[0]!, salvage: true };
    const p = new FakePair(settings);
    p.mysqlDown();
    p.esDown();
    p.state.apps['app-gra-1'] = false;
    return p;
  };
  /** Starts an unplanned failover of a pair whose primary site is gone; oncall accepts going on without its fences. */
  async function unplannedAcceptingNoFence() {
    const handle = await start(input({ mode: 'unplanned' }));
    await acceptNoFence(handle, 'oncall', [MYSQL_FENCE_QUESTION, ES_FENCE_QUESTION]);
    return handle.result();
  }

  it('unplanned with an auto policy: going on without the fence is a human decision, and no answer is a rejection', async () => {
    pair = unplannedWithSalvage();
    expect(pair.settings.approval.policy).toBe('auto');
    const handle = await start(input({ mode: 'unplanned' }));
    const fence = await pendingOf(handle, 'approval');
    expect(fence.question).toMatch(/fence MySQL primary db-gra-1 failed .*go on without this fence/);
    const report = await handle.result();
    expect(report.decisions.map((d) => d.sentence)).toContainEqual(
      expect.stringMatching(/go on without this fence.*only a human can approve this/),
    );
    expect(report.outcome).toBe('rolled-back');
    expect(report.approvals.at(-1)).toMatchObject({ approved: false, how: 'timeout' });
    expect(pair.changes()).not.toContain('mysqlPromote db-rbx-1');
    expect(pair.changes()).not.toContain('mysqlPromote db-rbx-2');
  });

  const mysqlLoss = <T extends { system: string }>(report: { dataLoss: T[] }) =>
    report.dataLoss.find((d) => d.system === 'mysql');

  it("unplanned, the old primary's host answering over SSH: its binlog is salvaged after the catch-up, before the promotion, and the report counts it", async () => {
    pair = unplannedWithSalvage();
    pair.state.salvage.pending = 201;
    const report = await unplannedAcceptingNoFence();
    expect(report.outcome).toBe('completed');
    const at = (call: string) => pair.calls.indexOf(call);
    expect(at('mysqlCatchUp db-rbx-1')).toBeGreaterThanOrEqual(0);
    expect(at('mysqlSalvageBinlog db-rbx-1')).toBeGreaterThan(at('mysqlCatchUp db-rbx-1'));
    expect(at('mysqlPromote db-rbx-1')).toBeGreaterThan(at('mysqlSalvageBinlog db-rbx-1'));
    expect(report.plan?.steps.find((s) => s.id === 'mysql.salvage')).toMatchObject({
      phase: 'prepare',
      target: 'db-rbx-1',
      compensation: 'db-rbx-1 replicates again from its source, read-only',
    });
    expect(report.steps.find((s) => s.id === 'mysql.salvage')).toMatchObject({ state: 'done', attempts: 1 });
    expect(mysqlLoss(report)).toMatchObject({ count: 0, recovered: 201 });
    expect(mysqlLoss(report)?.sentence).toMatch(
      /^none: 201 transaction\(s\) salvaged from db-gra-1's binlog onto db-rbx-1/,
    );
    expect(report.plan?.dataLoss[0]?.sentence).toMatch(
      /db-gra-1's binlog is salvaged over SSH before the promotion/,
    );
  });

  it("unplanned, the old primary's host not answering over SSH: the failover completes and says the salvage was impossible, and why", async () => {
    pair = unplannedWithSalvage();
    pair.state.salvage.hostAnswers = false;
    const report = await unplannedAcceptingNoFence();
    expect(report.outcome).toBe('completed');
    expect(pair.changes()).toContain('mysqlPromote db-rbx-1');
    const loss = mysqlLoss(report);
    expect(loss).toMatchObject({ recovered: 0 });
    expect(loss?.count).toBeUndefined();
    expect(loss?.sentence).toMatch(
      /^salvage impossible: db-gra-1 \(root@10\.0\.0\.1:22\): cannot connect: ECONNREFUSED; the transactions db-gra-1 acknowledged after the last one db-rbx-1 received are lost/,
    );
  });

  it('unplanned: a salvaged transaction the candidate refuses rolls the failover back, and the candidate replicates again', async () => {
    pair = unplannedWithSalvage();
    pair.fail('mysqlSalvageBinlog', { type: 'SalvageApplyFailed', message: 'db-rbx-1 refused 0-1-150' });
    const report = await unplannedAcceptingNoFence();
    expect(report.outcome).toBe('rolled-back');
    expect(report.sentence).toContain('db-rbx-1 refused 0-1-150');
    expect(pair.changes()).toContain('mysqlResumeReplication db-rbx-1');
    expect(pair.changes()).not.toContain('mysqlPromote db-rbx-1');
    expect(pair.state.mysql['db-rbx-1']!.readOnly).toBe(true);
  });

  it('unplanned: a candidate position that cannot be parsed fails the salvage step with its sentence (not the workflow task), and the failover rolls back', async () => {
    pair = unplannedWithSalvage();
    pair.state.mysql['db-rbx-1']!.gtidBinlogPos = '0-1-x';
    const report = await unplannedAcceptingNoFence();
    expect(report.outcome).toBe('rolled-back');
    expect(report.sentence).toMatch(/GtidParseError: db-rbx-1's GTID position cannot be read: /);
    expect(report.steps.find((s) => s.id === 'mysql.salvage')).toMatchObject({
      state: 'compensated',
      sentence: 'db-rbx-1 replicates again.',
    });
    expect(pair.changes()).not.toContain('mysqlSalvageBinlog db-rbx-1');
    expect(pair.changes()).not.toContain('mysqlPromote db-rbx-1');
  });

  it('planned: no salvage, even when the runbook allows one', async () => {
    const settings = fakeSettings();
    settings.mysql.servers[0] = { ...settings.mysql.servers[0]!, salvage: true };
    pair = new FakePair(settings);
    const report = await (await start()).result();
    expect(report.outcome).toBe('completed');
    expect(pair.calls.filter((c) => c.startsWith('mysqlSalvageBinlog'))).toEqual([]);
  });

  it('MySQL delegated to MHA, planned: the run fences, MHA switches to the candidate the run chose, the run repoints the others; no catch-up or promotion of its own', async () => {
    const settings = fakeSettings();
    settings.mysql.delegate = 'mha';
    pair = new FakePair(settings);
    const handle = await start();
    const report = await handle.result();
    await recordHistory(handle, 'failover-mysql-delegated-to-mha');
    expect(report.outcome).toBe('completed');
    const mysql = pair.changes().filter((c) => c.startsWith('mysql'));
    expect(mysql.slice(0, 2)).toEqual(['mysqlFence db-gra-1', 'mysqlMhaSwitch db-rbx-1']);
    expect(mysql.slice(2).sort()).toEqual(['mysqlRepoint db-gra-1', 'mysqlRepoint db-rbx-2']);
    expect(pair.calls.filter((c) => /^mysql(CatchUp|Promote|SalvageBinlog)/.test(c))).toEqual([]);
    expect(report.steps.find((s) => s.id === 'mysql.mha-switch')).toMatchObject({
      phase: 'promote',
      state: 'done',
      sentence: expect.stringContaining('completed successfully'),
    });
    expect(pair.state).toEqual(failedOverState());
  });

  it('MySQL delegated to MHA: MHA failing is past the point of no return, so the run asks an operator and undoes nothing', async () => {
    const settings = fakeSettings({ approval: { ...fakeSettings().approval, approvers: ['alice'] } });
    settings.mysql.delegate = 'mha';
    pair = new FakePair(settings);
    pair.fail('mysqlMhaSwitch', {
      type: 'MhaSwitchFailed',
      nonRetryable: true,
      message: 'MHA exited with status 1: Got ERROR: new master is not alive',
    });
    const handle = await start();
    const pending = await pendingOf(handle, 'operator');
    expect(pending.question).toMatch(
      /MHA switches MySQL from db-gra-1 to db-rbx-1 failed past the point of no return/,
    );
    expect(pending.question).toContain('new master is not alive');
    await answer(handle, abortUpdate, 'alice', 'finishing with MHA by hand');
    const report = await handle.result();
    expect(report.outcome).toBe('aborted');
    expect(pair.changes().filter((c) => /Unfence|Resume|appStop/.test(c))).toEqual([]);
  });

  it('unplanned: the worker alone cannot reach the primary while its replicas still replicate: no failover', async () => {
    pair = new FakePair();
    pair.state.mysql['db-gra-1']!.reachable = false;
    pair.state.es.graReachable = false;
    const report = await (await start(input({ mode: 'unplanned' }))).result();
    expect(report.outcome).toBe('not-needed');
    expect(report.sentence).toMatch(
      /^not failing over: the worker cannot reach mysql of the primary site \(worker → db-gra-1\), but its own witnesses still do \(db-rbx-1 IO thread, db-rbx-2 IO thread\); the worker cannot reach elasticsearch of the primary site \(worker → ES gra\), but its own witnesses still do \(ES rbx → gra\): this is a problem of the worker's path, not a failover\./,
    );
    expect(pair.changes()).toEqual([]);
  });

  describe('unplanned: each system of the primary site is judged by its own witnesses', () => {
    const critical = (systems: System[]) => new FakePair(fakeSettings({ detection: { critical: systems } }));

    it('only MySQL down, Elasticsearch, the apps and the entry point up: the failover proceeds, and the report says why', async () => {
      pair = new FakePair();
      pair.mysqlDown();
      const handle = await start(input({ mode: 'unplanned' }));
      await acceptNoFence(handle, 'oncall', [MYSQL_FENCE_QUESTION]);
      const report = await handle.result();
      // gra's Elasticsearch answers: its indices are fenced.
      expect(pair.state.es.writeBlocked.gra).toBe(true);
      expect(report.outcome).toBe('completed');
      expect(pair.changes()).toContain('mysqlPromote db-rbx-1');
      expect(pair.state.traffic).toBe('rbx');
      expect(report.detection).toHaveLength(3);
      const verdict = report.decisions.find((d) => d.sentence.startsWith('primary site down'))?.sentence;
      expect(verdict).toMatch(
        /^primary site down: mysql down for the worker and for its own witnesses, in 3 rounds in a row\. mysql down: the worker cannot reach db-gra-1 \(MysqlUnreachable\); db-rbx-1 has lost its source \(IO thread Connecting\); db-rbx-2 has lost its source \(IO thread Connecting\)\. /,
      );
      expect(verdict).toContain(
        'elasticsearch up: the worker reaches ES gra (green); ES rbx is still connected to gra.',
      );
      expect(report.decisions.map((d) => d.sentence)).toContain(
        'detection round 1 of 3: traffic up, mysql down, elasticsearch up, apps up.',
      );
      const systemsSeen = new Set(report.detection[0]!.map((o) => o.system));
      expect([...systemsSeen].sort()).toEqual(['apps', 'elasticsearch', 'mysql', 'traffic']);
    });

    it('only Elasticsearch down, MySQL up, Elasticsearch critical: the failover proceeds once a human accepts the unfenced indices', async () => {
      pair = critical(['mysql', 'elasticsearch']);
      pair.esDown();
      const handle = await start(input({ mode: 'unplanned' }));
      await acceptNoFence(handle, 'oncall', [ES_FENCE_QUESTION]);
      const report = await handle.result();
      expect(pair.state.mysql['db-gra-1']!.readOnly).toBe(true);
      expect(report.outcome).toBe('completed');
      expect(pair.state.es.followers).toEqual({ orders: 'regular', customers: 'regular' });
      expect(pair.changes()).toContain('mysqlPromote db-rbx-1');
      expect(report.decisions.map((d) => d.sentence)).toContain(
        'detection round 3 of 3: mysql up, elasticsearch down, traffic (not critical) up, apps (not critical) up.',
      );
    });

    it('only Elasticsearch down, Elasticsearch not critical: not needed, and the sentence names Elasticsearch', async () => {
      pair = critical(['mysql', 'apps', 'traffic']);
      pair.esDown();
      const report = await resultApprovingEachQuestion(await start(input({ mode: 'unplanned' })));
      expect(report.outcome).toBe('not-needed');
      expect(report.sentence).toMatch(
        /^not failing over: elasticsearch down, but the runbook does not count it as critical \(detection\.critical: mysql, apps, traffic\)\. .*elasticsearch \(not critical\) down: the worker cannot reach ES gra; ES rbx has lost its connection to gra\./,
      );
      expect(pair.changes()).toEqual([]);
    });

    it("the worker's path to db-gra-1 cut while the replicas still receive from it: not needed, the worker's path", async () => {
      pair = new FakePair();
      pair.state.mysql['db-gra-1']!.reachable = false;
      const report = await resultApprovingEachQuestion(await start(input({ mode: 'unplanned' })));
      expect(report.outcome).toBe('not-needed');
      expect(report.sentence).toMatch(
        /^not failing over: the worker cannot reach mysql of the primary site \(worker → db-gra-1\), but its own witnesses still do \(db-rbx-1 IO thread, db-rbx-2 IO thread\): this is a problem of the worker's path, not a failover\./,
      );
      // The first round already says so: detection stops there.
      expect(report.detection).toHaveLength(1);
      expect(pair.changes()).toEqual([]);
    });

    it('the apps of gra down for the worker and for HAProxy, the entry point failing: the failover proceeds', async () => {
      pair = new FakePair();
      pair.state.apps['app-gra-1'] = false;
      const report = await resultApprovingEachQuestion(await start(input({ mode: 'unplanned' })));
      expect(report.outcome).toBe('completed');
      expect(report.decisions.map((d) => d.sentence)).toContain(
        'detection round 3 of 3: traffic down, mysql up, elasticsearch up, apps down.',
      );
    });

    it("the entry point failing while HAProxy still sees gra healthy: not needed, the worker's path", async () => {
      pair = new FakePair();
      pair.state.entryPointAnswers = false;
      const report = await resultApprovingEachQuestion(await start(input({ mode: 'unplanned' })));
      expect(report.outcome).toBe('not-needed');
      expect(report.sentence).toMatch(
        /^not failing over: the worker cannot reach traffic of the primary site \(worker → entry point\), but its own witnesses still do \(HAProxy health check of gra\)/,
      );
    });
  });

  describe('the old site left unfenced is watched, and fenced as soon as it answers again', () => {
    /** Each test of the watcher runs on a pair name of its own: no watcher of it runs yet. */
    let name = 'fake';
    let pairs = 0;
    const freshPair = (settings = fakeSettings()) => {
      name = `fake-watch-${++pairs}`;
      return new FakePair({ ...settings, pair: name });
    };
    const watcher = () => ts.env.client.workflow.getHandle<typeof fenceOldSite>(fenceWatchWorkflowId(name));
    /** Waits until the watcher's status passes `accept` (its first round runs without any timer). */
    async function watcherStatus(accept: (s: FenceWatchStatus) => boolean) {
      for (let i = 0; i < 400; i++) {
        const status = await watcher()
          .query(fenceWatchStatusQuery)
          .catch(() => undefined);
        if (status && accept(status)) return status;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('the watcher never reached the awaited status');
    }

    it('an unplanned failover that went on without fencing gra starts the watcher, which outlives it', async () => {
      pair = freshPair();
      pair.mysqlDown();
      pair.esDown();
      const handle = await start(input({ mode: 'unplanned', pair: name }));
      await acceptNoFence(handle, 'oncall', [MYSQL_FENCE_QUESTION, ES_FENCE_QUESTION]);
      const report = await handle.result();
      expect(report.outcome).toBe('completed');
      expect(report.decisions).toContainEqual({
        phase: 'promote',
        sentence: `gra was not fenced (db-gra-1, the leader indices of ES gra): a watcher, workflow dr-fence-${name}, fences each as soon as it answers again, for up to 24h (query its status; its result is its report).`,
      });
      const fenceSaid = report.decisions.filter((d) => d.sentence.startsWith('going on without fencing'));
      expect(fenceSaid.map((d) => d.sentence)).toEqual([
        'going on without fencing db-gra-1: once rbx is promoted, a watcher fences it as soon as it answers again.',
        'going on without fencing the leader indices of ES gra: once rbx is promoted, a watcher fences it as soon as it answers again.',
      ]);
      // Started only once rbx was promoted: a failover undone before that must leave gra alone.
      const promotedAt = pair.calls.indexOf('mysqlPromote db-rbx-1');
      expect(pair.calls.indexOf('pairSettings', promotedAt)).toBeGreaterThan(promotedAt);
      const status = await watcherStatus((st) => st.pending.every((p) => p.lastError !== undefined));
      expect(status.pending).toEqual([
        {
          system: 'mysql',
          target: 'db-gra-1',
          lastError: 'MysqlUnreachable: db-gra-1 does not answer (connect ECONNREFUSED)',
        },
        {
          system: 'elasticsearch',
          target: 'the leader indices of ES gra',
          lastError: 'EsUnreachable: gra: connect ECONNREFUSED',
        },
      ]);
      const child = await watcher().describe();
      expect(child.status.name).toBe('RUNNING');
      expect(child.parentExecution?.workflowId).toBe(pairMoveWorkflowId(name));
      expect(child.type).toBe('fenceOldSite');
    });

    /** The pair after an unplanned failover to rbx, gra gone: db-rbx-1 the writable primary. */
    const failedOverGraGone = (settings = fakeSettings()) => {
      const p = freshPair(settings);
      p.state = failedOverState();
      p.state.mysql['db-gra-1'] = { reachable: false, readOnly: false, ioRunning: false };
      p.state.es.graReachable = false;
      p.state.es.writeBlocked.gra = false;
      return p;
    };
    /** gra back as it was before it died: db-gra-1 writable and replicating from nothing, its cluster answering. */
    const graBack = (p: FakePair) => {
      p.state.mysql['db-gra-1']!.reachable = true;
      p.state.es.graReachable = true;
    };
    const watchInput = (systems: FenceableSystem[] = ['mysql', 'elasticsearch']): FenceOldSiteInput => ({
      pair: name,
      site: 'gra',
      mysqlServer: 'db-gra-1',
      newPrimary: 'db-rbx-1',
      systems,
      startedBy: pairMoveWorkflowId(name),
    });
    async function startWatch(i: FenceOldSiteInput = watchInput()) {
      return ts.env.client.workflow.start(fenceOldSite, {
        taskQueue: ts.taskQueue,
        workflowId: fenceWatchWorkflowId(name),
        args: [i],
      });
    }
    const fenceCalls = () => pair.calls.filter((c) => /^(mysqlFence|esFenceWrites|trafficDrain) /.test(c));

    it('gra answering again in the third round: db-gra-1 and its indices are fenced then, and the report says when', async () => {
      pair = failedOverGraGone();
      pair.onCall('mysqlServerStatuses', 3, () => graBack(pair));
      const watch = await (await startWatch()).result();
      expect(watch.outcome).toBe('fenced');
      expect(watch.rounds).toBe(3);
      expect(watch.fenced.map((f) => [f.system, f.target, f.round])).toEqual([
        ['mysql', 'db-gra-1', 3],
        ['elasticsearch', 'the leader indices of ES gra', 3],
      ]);
      expect(watch.neverFenced).toEqual([]);
      expect(watch.sentence).toMatch(
        /^every system of gra the failover could not fence is fenced: db-gra-1 at \S+ \(round 3\), the leader indices of ES gra at \S+ \(round 3\)\.$/,
      );
      // Two rounds in vain (db-gra-1 not even tried while it does not answer), then both fenced, in parallel.
      expect(fenceCalls().slice(0, 2)).toEqual(['esFenceWrites gra', 'esFenceWrites gra']);
      expect(fenceCalls().slice(2).sort()).toEqual(['esFenceWrites gra', 'mysqlFence db-gra-1']);
      expect(pair.state.mysql['db-gra-1']!.readOnly).toBe(true);
      expect(pair.state.es.writeBlocked.gra).toBe(true);
      expect(watch.decisions.map((d) => d.sentence)).toEqual([
        expect.stringMatching(
          /^watching gra for 24h \(until \S+\), asked by dr-move-fake-watch-\d+: db-gra-1, the leader indices of ES gra will be fenced as soon as each answers, tried every 2s at first, then less often up to once a minute\.$/,
        ),
        'round 1: not fenced yet: db-gra-1 (MysqlUnreachable: db-gra-1 does not answer (connect ECONNREFUSED)), the leader indices of ES gra (EsUnreachable: gra: connect ECONNREFUSED).',
        'round 3: db-gra-1 answers again and is fenced: db-gra-1 is fenced (read-only).',
        'round 3: the leader indices of ES gra answers again and is fenced: gra: orders, customers refuse writes now (index.blocks.write).',
        watch.sentence,
      ]);
    });

    it('gra never answering: once fencing.watchFor is over, the report names what it never could fence', async () => {
      pair = failedOverGraGone(fakeSettings({ fencing: { watchForMs: 600_000 } }));
      const watch = await (await startWatch()).result();
      expect(watch.outcome).toBe('timed-out');
      expect(watch.fenced).toEqual([]);
      expect(watch.neverFenced.map((u) => [u.system, u.lastError])).toEqual([
        ['mysql', 'MysqlUnreachable: db-gra-1 does not answer (connect ECONNREFUSED)'],
        ['elasticsearch', 'EsUnreachable: gra: connect ECONNREFUSED'],
      ]);
      expect(watch.sentence).toMatch(
        /^watched gra until \S+ and never could fence db-gra-1 \(last: MysqlUnreachable: db-gra-1 does not answer \(connect ECONNREFUSED\)\); the leader indices of ES gra \(last: EsUnreachable: gra: connect ECONNREFUSED\): fence it by hand before gra takes writes or traffic again\.$/,
      );
      expect(Date.parse(watch.finishedAt) - Date.parse(watch.since)).toBeGreaterThanOrEqual(600_000);
      // Rounds 2, 4, 8, 16, 32 s apart, then a minute apart: 14 rounds in the 10 minutes.
      expect(watch.rounds).toBe(14);
      // Said once while nothing changes, not at every round.
      expect(watch.decisions.filter((d) => d.sentence.includes('not fenced yet'))).toHaveLength(1);
      expect(pair.state.mysql['db-gra-1']!.reachable).toBe(false);
    });

    for (const [movedBack, back] of [
      [
        'db-gra-1 answering as a replica of db-rbx-1 (a failback rebuilds gra)',
        (p: FakePair) => {
          p.state.mysql['db-gra-1'] = {
            reachable: true,
            readOnly: true,
            source: 'db-rbx-1',
            ioRunning: true,
          };
          p.state.es.graReachable = true;
        },
      ],
      [
        'db-rbx-1 read-only again (a switch back fenced it)',
        (p: FakePair) => {
          p.state.mysql['db-rbx-1']!.readOnly = true;
          graBack(p);
        },
      ],
    ] as const)
      it(`the pair moved back, ${movedBack}: the watch stops and fences nothing more`, async () => {
        pair = failedOverGraGone();
        pair.onCall('mysqlServerStatuses', 2, () => back(pair));
        const watch = await (await startWatch()).result();
        expect(watch.outcome).toBe('stopped');
        expect(watch.rounds).toBe(2);
        expect(watch.sentence).toMatch(/the watch stops and touches nothing more\.$/);
        expect(watch.fenced).toEqual([]);
        expect(fenceCalls()).toEqual(['esFenceWrites gra']);
        expect(pair.state.es.writeBlocked.gra).toBe(false);
      });

    it('started before the promotion, it fences nothing until the promoted server is the writable primary', async () => {
      pair = failedOverGraGone();
      pair.state.mysql['db-rbx-1'] = {
        reachable: true,
        readOnly: true,
        source: 'db-gra-1',
        ioRunning: false,
      };
      graBack(pair);
      pair.onCall('mysqlServerStatuses', 3, () => {
        pair.state.mysql['db-rbx-1'] = { reachable: true, readOnly: false, ioRunning: false };
      });
      const watch = await (await startWatch()).result();
      expect(watch.outcome).toBe('fenced');
      expect(watch.rounds).toBe(3);
      expect(watch.decisions.map((d) => d.sentence)).toContain(
        'round 1: db-rbx-1 is not the writable primary yet (it replicates from 10.0.0.1:3306); nothing is fenced before it is.',
      );
    });

    it('an unplanned failover while a watch of the pair runs joins it: the watch takes on its systems', async () => {
      pair = freshPair();
      pair.mysqlDown();
      pair.esDown();
      const handle = await start(input({ mode: 'unplanned', pair: name }));
      // An operator watches the traffic to gra already (started on its own, not by a failover).
      await startWatch({ ...watchInput(['traffic']), startedBy: 'oncall' });
      await acceptNoFence(handle, 'oncall', [MYSQL_FENCE_QUESTION, ES_FENCE_QUESTION]);
      const report = await handle.result();
      expect(report.decisions.map((d) => d.sentence)).toContain(
        `gra was not fenced (db-gra-1, the leader indices of ES gra): the watcher of ${name} already runs as workflow dr-fence-${name}: it takes these on too, for 24h from now at least.`,
      );
      const joined = await watcherStatus((st) => st.pending.length === 2);
      expect(joined.pending.map((p) => p.system)).toEqual(['mysql', 'elasticsearch']);
      expect(joined.fenced.map((f) => f.system)).toEqual(['traffic']);
      const reads = pair.calls.filter((c) => c === 'mysqlServerStatuses').length;
      pair.onCall('mysqlServerStatuses', reads + 2, () => graBack(pair));
      const watch = await watcher().result();
      expect(watch.outcome).toBe('fenced');
      expect(watch.startedBy).toBe('oncall');
      expect(watch.fenced.map((f) => f.system)).toEqual(['traffic', 'mysql', 'elasticsearch']);
      expect(watch.decisions.map((d) => d.sentence)).toContainEqual(
        expect.stringMatching(
          /^dr-move-fake-watch-\d+ joined the watch: db-gra-1, the leader indices of ES gra to fence too; watching until /,
        ),
      );
      expect(pair.state.mysql['db-gra-1']!.readOnly).toBe(true);
    });

    it('a watch continued as new goes on from what it carried: its deadline, its rounds, what it fenced', async () => {
      pair = failedOverGraGone();
      graBack(pair);
      const fenced = {
        system: 'mysql' as const,
        target: 'db-gra-1',
        at: '2026-01-01T00:00:00.000Z',
        round: 40,
        sentence: 'db-gra-1 is fenced (read-only).',
      };
      // The test server's clock, ahead of this one by the time the tests before skipped.
      const now = await ts.env.currentTimeMs();
      const since = new Date(now - 3_600_000).toISOString();
      const until = new Date(now + 3_600_000).toISOString();
      const watch = await (
        await startWatch({
          ...watchInput(),
          carried: {
            since,
            until,
            round: 41,
            systems: ['mysql', 'elasticsearch'],
            fenced: [fenced],
            lastErrors: { elasticsearch: 'EsUnreachable: gra: connect ECONNREFUSED' },
            promotedSeen: true,
          },
        })
      ).result();
      expect(watch.outcome).toBe('fenced');
      expect(watch.rounds).toBe(42);
      expect(watch.since).toBe(since);
      expect(watch.fenced).toEqual([fenced, expect.objectContaining({ system: 'elasticsearch', round: 42 })]);
      expect(fenceCalls()).toEqual(['esFenceWrites gra']);
      expect(watch.decisions[0]!.sentence).toBe(
        `the watch of gra goes on (continued as new after round 41, until ${until}): the leader indices of ES gra still to fence.`,
      );
    });

    it('refuses a watch it cannot act on, naming each bad field, and changes nothing', async () => {
      pair = freshPair();
      const handle = await startWatch({
        pair: name,
        site: '',
        systems: ['mysql', 'memcached'],
      } as unknown as FenceOldSiteInput);
      const failure = await handle.result().then(
        () => undefined,
        (err: WorkflowFailedError) => err.cause as Error,
      );
      expect(failure?.message).toBe(
        'invalid watch of an old site: site: required; mysqlServer: required; newPrimary: required; startedBy: required; systems: "memcached" cannot be fenced (known: mysql, elasticsearch, traffic, redis, postgresql)',
      );
      expect(pair.calls).toEqual([]);
    });
  });

  it('refuses a planned failover when the standby is not ready, and says why', async () => {
    pair = new FakePair();
    pair.state.es.followers.orders = 'paused';
    const report = await (await start()).result();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(/orders on rbx is paused/);
    expect(pair.changes()).toEqual([]);
  });

  it('a cancelled run before the point of no return undoes what it did', async () => {
    pair = pairWithApproval({ policy: 'auto' });
    // The followers never catch up, so the run waits (on a workflow timer) in prepare when it is cancelled.
    pair.state.es.lag = 5;
    const handle = await start();
    // Cancelled once the lag is read again a second apart (the backoff's top), not while a timer of a few ms could
    // fire with the cancel (the time-skipping test server refuses that workflow task: "invalid history builder state").
    const lagReadsInWindow = () =>
      pair.calls.slice(pair.calls.indexOf('trafficDrain gra')).filter((c) => c === 'esFollowerStatus rbx')
        .length;
    for (
      let i = 0;
      i < 400 &&
      !(
        ['appStart app-rbx-1', 'esPauseAutoFollow'].every((c) => pair.calls.includes(c)) &&
        lagReadsInWindow() >= 9
      );
      i++
    )
      await new Promise((r) => setTimeout(r, 25));
    expect(pair.calls).toEqual(
      expect.arrayContaining(['mysqlFence db-gra-1', 'appStart app-rbx-1', 'esPauseAutoFollow']),
    );
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    expect(pair.state).toEqual({ ...initialState(), es: { ...initialState().es, lag: 5 } });
    expect(pair.changes().slice(-6)).toEqual([
      'esResumeAutoFollow logs-from-gra',
      'esResumeFollow orders,customers',
      'esUnfenceWrites gra',
      'mysqlUnfence db-gra-1',
      'trafficSwitch gra',
      'appStop app-rbx-1',
    ]);
    expect(pair.changes()).not.toContain('esPauseFollow');
  });

  it('past the point of no return a cancel is answered with a sentence and ignored; the run completes', async () => {
    pair = pairWithApproval({ policy: 'auto' });
    pair.fail('trafficSwitch', { type: 'TrafficCommandRejected', nonRetryable: true });
    const handle = await start();
    await pendingOf(handle, 'operator');
    await handle.cancel();
    let status = await handle.query(statusQuery);
    for (
      let i = 0;
      i < 200 && !/cancel request arrived past the point of no return/.test(status.sentence);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 25));
      status = await handle.query(statusQuery);
    }
    expect(status.sentence).toMatch(/a cancel request arrived past the point of no return: it is ignored/);
    expect(status.questions?.map((q) => q.kind)).toEqual(['operator']);
    pair.heal('trafficSwitch');
    await answer(handle, retryUpdate, 'alice', 'HAProxy fixed');
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(pair.state.traffic).toBe('rbx');
    expect(report.topology?.unreadable).toBeUndefined();
  });

  it('refuses to run under any workflow ID but the pair move ID, and changes nothing', async () => {
    pair = new FakePair();
    const handle = await ts.env.client.workflow.start(failover, {
      args: [input()],
      taskQueue: ts.taskQueue,
      workflowId: `someone-typed-${randomUUID()}`,
    });
    const failure = await handle.result().then(
      () => undefined,
      (err: WorkflowFailedError) => err.cause as Error,
    );
    expect(failure?.message).toMatch(
      /^refusing to run a failover of fake under the workflow ID "someone-typed-.*": a move of fake runs only as "dr-move-fake", so that two moves of one pair never run at once/,
    );
    expect(pair.calls).toEqual([]);
  });

  it('refuses caller texts over 1 KB, naming the field', async () => {
    pair = new FakePair();
    const handle = await start(input({ reason: 'r'.repeat(2000), requestedBy: 'é'.repeat(600) }));
    const failure = await handle.result().then(
      () => undefined,
      (err: WorkflowFailedError) => err.cause as Error,
    );
    expect(failure?.message).toBe(
      'invalid failover input: reason: at most 1024 bytes (got 2000); requestedBy: at most 1024 bytes (got 1200)',
    );
    expect(pair.calls).toEqual([]);
  });

  it('refuses bad input with a sentence naming each field', async () => {
    pair = new FakePair();
    const handle = await start({
      pair: '',
      mode: 'sideways',
      trigger: 'test',
      reason: '',
      requestedBy: 'x',
    } as unknown as FailoverInput);
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    const error = await handle.result().catch((e: WorkflowFailedError) => e.cause?.message);
    expect(error).toMatch(
      /pair: a pair name is required; mode: must be "planned", "unplanned" or "dry-run".*reason: say why/,
    );
    expect(pair.calls).toEqual([]);
  });

  describe('the data loss measured at the end, beside the estimate', () => {
    const measuredDecision = (report: { decisions: { sentence: string }[] }) =>
      report.decisions.find((d) => d.sentence.startsWith('measured MySQL data loss'))?.sentence;

    it('planned: none, measured after the last step, with the estimate beside it', async () => {
      pair = new FakePair();
      const report = await (await start()).result();
      expect(report.outcome).toBe('completed');
      expect(report.measuredLoss).toEqual([
        {
          system: 'mysql',
          from: 'db-gra-1',
          to: 'db-rbx-1',
          count: 0,
          sentence: 'none: db-rbx-1 holds every transaction db-gra-1 committed.',
        },
      ]);
      expect(measuredDecision(report)).toMatch(
        /^measured MySQL data loss: none: db-rbx-1 holds every transaction db-gra-1 committed \(the plan's estimate: none: db-gra-1 is fenced first and db-rbx-1 applies everything its binlog holds before it is promoted .*\)\.$/,
      );
      const at = (call: string) => pair.calls.indexOf(call);
      expect(at('mysqlMeasureLoss db-gra-1 db-rbx-1')).toBeGreaterThan(at('mysqlRepoint db-gra-1'));
      expect(at('mysqlMeasureLoss db-gra-1 db-rbx-1')).toBeGreaterThan(at('trafficVerify'));
    });

    it('unplanned, the old primary readable (only Elasticsearch down): the transactions it holds that the new primary lacks', async () => {
      pair = new FakePair();
      pair.esDown();
      pair.state.lostTransactions = 3;
      const handle = await start(input({ mode: 'unplanned' }));
      await acceptNoFence(handle, 'oncall', [ES_FENCE_QUESTION]);
      const report = await handle.result();
      expect(report.outcome).toBe('completed');
      expect(report.measuredLoss).toEqual([
        {
          system: 'mysql',
          from: 'db-gra-1',
          to: 'db-rbx-1',
          count: 3,
          gtids: '0-1-101 to 0-1-103',
          sentence: '3 transaction(s) that db-gra-1 committed are not on db-rbx-1: 0-1-101 to 0-1-103.',
        },
      ]);
      expect(measuredDecision(report)).toMatch(
        /^measured MySQL data loss: 3 transaction\(s\) that db-gra-1 committed are not on db-rbx-1: 0-1-101 to 0-1-103 \(the plan's estimate: the primary answers; .*\)\.$/,
      );
    });

    it('unplanned, the old primary gone: unknown, and why', async () => {
      pair = pairWithApproval({ policy: 'auto' });
      pair.mysqlDown();
      const handle = await start(input({ mode: 'unplanned' }));
      await pendingOf(handle, 'approval');
      await answer(handle, approveUpdate, 'alice', 'gra is powered off');
      const report = await handle.result();
      expect(report.outcome).toBe('completed');
      const [loss] = report.measuredLoss!;
      expect(loss).toMatchObject({ system: 'mysql', from: 'db-gra-1', to: 'db-rbx-1' });
      expect(loss!.count).toBeUndefined();
      // Every vantage saw it down in detection: it is not read again (no connect timeout to wait for).
      expect(loss!.sentence).toBe(
        'unknown: every vantage saw db-gra-1 down in every detection round, so it was not read.',
      );
      expect(pair.calls.filter((c) => c.startsWith('mysqlMeasureLoss'))).toEqual([]);
      expect(measuredDecision(report)).toMatch(/\(the plan's estimate: unknown: db-gra-1 cannot be read/);
    });

    it('a measurement that fails leaves the loss unknown, not the report', async () => {
      pair = new FakePair();
      pair.fail('mysqlMeasureLoss', { type: 'MysqlError', message: 'db-rbx-1: connection lost' });
      const report = await (await start()).result();
      expect(report.outcome).toBe('completed');
      expect(report.measuredLoss).toEqual([
        {
          system: 'mysql',
          from: 'db-gra-1',
          to: 'db-rbx-1',
          sentence: 'unknown: the measurement failed (MysqlError: db-rbx-1: connection lost).',
        },
      ]);
    });

    it('nothing promoted (rolled back, dry run): nothing measured', async () => {
      pair = new FakePair();
      pair.fail('appStart');
      const rolledBack = await (await start()).result();
      expect(rolledBack.outcome).toBe('rolled-back');
      expect(rolledBack.measuredLoss).toBeUndefined();
      const dryRun = await (await start(input({ mode: 'dry-run' }))).result();
      expect(dryRun.measuredLoss).toBeUndefined();
      expect(pair.calls.filter((c) => c.startsWith('mysqlMeasureLoss'))).toEqual([]);
    });
  });
});
