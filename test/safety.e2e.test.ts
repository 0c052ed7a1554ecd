/**
 * Safe to leave running, end to end on scratch DR pairs (their own MariaDB trio, ES emulator, apps, HAProxy; the real
 * worker as a process; the shared Temporal server): answers that cannot be forged, given through `bin/drctl` as an
 * approver gives them; one move per pair whatever ID a start uses; a cancel past the point of no return refused; an
 * unfenced old primary never approved by the `auto` policy.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerQuestion, signAnswer } from '../client/answer';
import { failover } from '../workflows';
import { abortUpdate, rejectUpdate, statusQuery, type HumanAnswer } from '../workflows/definitions';
import { generateKey, writeTestApproverKey } from './helpers/approver';
import { answer } from './helpers/answers';
import { historyText, reportWithin, startPairFailover, waitForStatus } from './helpers/failover-e2e';
import { temporalAddress, temporalClient, testTaskQueue } from './helpers/local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type ScratchDrPair,
  type ScratchDrPairOptions,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';
import { REPO_ROOT } from '../dev/stack/settings';

const keys = mkdtempSync(path.join(os.tmpdir(), 'safety-keys-'));
const oncallKey = writeTestApproverKey(keys);
const alice = generateKey(keys, 'alice');
const mallory = generateKey(keys, 'mallory');
afterAll(() => rmSync(keys, { recursive: true, force: true }));

/** A scratch pair (runbook changed by `edit`), its worker and a client, for one describe block. */
function pairWithWorker(name: string, options: ScratchDrPairOptions) {
  const ctx = {
    pair: undefined as unknown as ScratchDrPair,
    worker: undefined as unknown as WorkerProcess,
    client: undefined as unknown as Client,
    connection: undefined as Connection | undefined,
    taskQueue: testTaskQueue(`safety-${name}`),
  };
  beforeAll(async () => {
    ctx.pair = await startScratchDrPair(options);
    ctx.worker = await startWorkerProcess({ runbookPath: ctx.pair.runbookPath, taskQueue: ctx.taskQueue });
    ({ client: ctx.client, connection: ctx.connection } = await temporalClient());
  }, 180_000);
  afterAll(async () => {
    await ctx.worker?.stop();
    await ctx.pair?.close();
    await ctx.connection?.close();
  });
  return ctx;
}

/** `bin/drctl` against the shared Temporal server: its exit code and what it printed. */
function drctl(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(REPO_ROOT, 'bin', 'drctl'), args, {
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), DR_RUNBOOKS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('signed answers through drctl: forged, replayed, expired and self-approvals refused', () => {
  const ctx = pairWithWorker('answers', {
    edit: (runbook) => {
      const approvers = runbook.approval!.approvers as string[];
      runbook.approval = {
        ...runbook.approval!,
        approvers: [...approvers, `alice ${alice.publicKey}`],
        fourEyes: true,
      };
    },
  });

  it('refuses every answer it must, changes nothing, then moves the pair on a valid one', async () => {
    const { pair, client, taskQueue } = ctx;
    const before = await pair.snapshot();
    // The requester is oncall: with four-eyes, only alice may answer.
    const first = await startPairFailover(client, pair.pair, 'planned', taskQueue, []);
    await waitForStatus(first, 'the approval question', (s) => s.questions?.[0]?.kind === 'approval', 60_000);

    const self = await drctl([
      'approve',
      pair.pair,
      '--reason',
      'my own',
      '--as',
      'oncall',
      '--key',
      oncallKey,
    ]);
    expect(self.code).toBe(1);
    expect(self.out).toContain('four-eyes: oncall asked for this run and cannot also answer it');

    const forged = await drctl([
      'approve',
      pair.pair,
      '--reason',
      'forged',
      '--as',
      'alice',
      '--key',
      mallory.key,
    ]);
    expect(forged.code).toBe(1);
    expect(forged.out).toContain('the signature is not from a key the runbook allows for "alice"');
    expect(forged.out).not.toContain(alice.publicKey.split(' ')[1]!);

    const expired = await answerQuestion(client, pair.pair, 'approve', {
      reason: 'signed long ago',
      as: 'alice',
      key: alice.key,
      now: () => new Date(Date.now() - 3_600_000),
    });
    expect(expired).toMatchObject({ accepted: false, why: expect.stringMatching(/signed at .*/) });

    // A valid rejection of this run, as alice signs it: sent again to the next run, it must be refused there.
    const firstRunId = (await first.describe()).runId;
    const signedAt = new Date().toISOString();
    const fields = {
      workflowId: first.workflowId,
      runId: firstRunId,
      questionId: 'q1',
      decision: 'reject' as const,
      by: 'alice',
      reason: 'not now',
      signedAt,
    };
    const kept: HumanAnswer = { questionId: 'q1', by: 'alice', reason: 'not now', signedAt };
    kept.signature = await signAnswer(fields, { key: alice.key });
    expect(await first.executeUpdate(rejectUpdate, { args: [kept] })).toBe(
      'reject of question q1 accepted from alice',
    );
    expect((await reportWithin(first)).outcome).toBe('rejected');

    const second = await startPairFailover(client, pair.pair, 'planned', taskQueue, []);
    await waitForStatus(second, 'the approval question', (s) => s.questions?.[0]?.id === 'q1', 60_000);
    await expect(second.executeUpdate(rejectUpdate, { args: [kept] })).rejects.toThrow();
    expect((await second.query(statusQuery)).questions?.map((q) => q.id)).toEqual(['q1']);

    // A start under another workflow ID is refused by the workflow itself while the move runs.
    const foreign = await client.workflow.start(failover, {
      args: [
        { pair: pair.pair, mode: 'planned', trigger: 'ui', reason: 'typed another ID', requestedBy: 'x' },
      ],
      taskQueue,
      workflowId: `not-the-move-id-${pair.pair}`,
    });
    await expect(foreign.result()).rejects.toThrow(WorkflowFailedError);
    expect(
      await historyText(client, { workflowId: foreign.workflowId, runId: foreign.firstExecutionRunId }),
    ).toContain(`a move of ${pair.pair} runs only as "dr-move-${pair.pair}"`);
    expect(await pair.snapshot()).toEqual(before);

    const approved = await drctl([
      'approve',
      pair.pair,
      '--reason',
      'planned drill',
      '--as',
      'alice',
      '--key',
      alice.key,
    ]);
    expect(approved.out).toContain('accepted from alice');
    expect(approved.code).toBe(0);
    const report = await reportWithin(second, 120_000);
    expect(report.outcome).toBe('completed');
    expect(report.approvals).toEqual([expect.objectContaining({ by: 'alice', signed: true })]);
  }, 300_000);
});

describe('a cancel past the point of no return is refused; the run completes', () => {
  // Every Elasticsearch request on rbx takes 1.5 s, so the promotion lasts long enough to be cancelled during it.
  const ctx = pairWithWorker('cancel', {
    edit: (runbook) => {
      runbook.approval = { ...runbook.approval!, policy: 'auto' };
    },
  });

  it('answers the cancel with a sentence, finishes the move, and ends completed', async () => {
    const { pair, client, taskQueue } = ctx;
    await fetch(`${pair.esUrl('rbx')}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cluster: 'rbx', delayMs: 1500 }),
    });
    const handle = await startPairFailover(client, pair.pair, 'planned', taskQueue, []);
    await waitForStatus(handle, 'the point of no return', (s) => s.pastPointOfNoReturn, 120_000);
    await handle.cancel();
    const report = await reportWithin(handle, 180_000);
    expect(report.outcome).toBe('completed');
    expect(report.decisions.map((d) => d.sentence)).toContainEqual(
      expect.stringMatching(/^a cancel request arrived past the point of no return: it is ignored/),
    );
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    const snapshot = await pair.snapshot();
    const promoted = report.steps.find((s) => s.id === 'mysql.promote')!.target;
    expect(snapshot.mysql[promoted]).toMatchObject({ readOnly: false });
  }, 300_000);
});

describe('an unplanned failover whose old primary cannot be fenced waits for a human under the auto policy', () => {
  const ctx = pairWithWorker('unfenced', {
    edit: (runbook) => {
      runbook.approval = { ...runbook.approval!, policy: 'auto' };
    },
  });

  it('asks, and a rejection rolls it back without promoting anything', async () => {
    const { pair, client, taskQueue } = ctx;
    await pair.killPrimarySite();
    const handle = await startPairFailover(client, pair.pair, 'unplanned', taskQueue, []);
    const waiting = await waitForStatus(
      handle,
      'the fence question',
      (s) => (s.questions ?? []).some((q) => /go on without this fence/.test(q.question)),
      120_000,
    );
    expect(waiting.questions![0]!.kind).toBe('approval');
    expect((await handle.query(statusQuery)).pastPointOfNoReturn).toBe(false);
    await answer(handle, rejectUpdate, 'oncall', 'do not risk a split brain');
    // Sending the traffic back to a site HAProxy sees down is refused: a human leaves the drain as it is.
    await waitForStatus(handle, 'the undo question', (s) => s.questions?.[0]?.kind === 'operator', 60_000);
    await answer(handle, abortUpdate, 'oncall', 'db-gra-1 is dead; nothing to unfence');
    const report = await reportWithin(handle, 120_000);
    expect(report.outcome).toBe('partly-rolled-back');
    expect(report.compensation?.leftInPlace).toEqual(['traffic.drain']);
    expect(report.approvals.at(-1)).toMatchObject({ approved: false, how: 'approver', signed: true });
    expect(report.steps.find((s) => s.id === 'mysql.promote')?.state).toBe('pending');
    const snapshot = await pair.snapshot();
    for (const replica of ['db-rbx-1', 'db-rbx-2'])
      expect(snapshot.mysql[replica]).toMatchObject({ readOnly: true });
  }, 300_000);
});
