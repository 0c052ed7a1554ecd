/**
 * The notifications of a move (workflows/notify.ts), on the time-skipping test server with an in-memory pair and the
 * real notification activity over in-memory webhooks: every phase, question and end, in order; never a secret; a
 * webhook that fails never holds nor fails the run.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Activities } from '../activities';
import { createNotificationActivities, type NotificationMessage } from '../activities/notifications';
import type { PairSettings } from '../activities/pair-settings';
import { RunbookRegistry } from '../activities/runbooks';
import { failback, failover } from '../workflows';
import {
  COMPLETED_RUN_PHASES,
  pairMoveWorkflowId,
  rejectUpdate,
  retryUpdate,
  statusQuery,
  type FailoverInput,
} from '../workflows/definitions';
import { answer } from './helpers/answers';
import { failedOverState, FakePair, fakeSettings } from './helpers/fake-pair';
import { testWorkflowBundle } from './helpers/local-stack';
import { timeSkippingWorker } from './helpers/time-skipping';
import { FakeWebhooks, notifyingRunbook } from './helpers/webhooks';
import { recordHistory } from './helpers/histories';

const TOKEN = 'xoxb-notify-test-Zq8vW3kP0s';
const OPS_URL = `https://hooks.example.test/services/T0/B0/${TOKEN}`;
const PAGER_URL = `http://127.0.0.1:9/pager/${TOKEN}-pager`;
const UI = 'http://ui.example.test:8080';
process.env.NOTIFY_TEST_OPS_URL = OPS_URL;
process.env.NOTIFY_TEST_PAGER_URL = PAGER_URL;

let pair: FakePair;
let hooks: FakeWebhooks;

const registry = new RunbookRegistry(
  new Map([
    [
      'fake',
      notifyingRunbook('fake', [
        { name: 'ops', url: 'env:NOTIFY_TEST_OPS_URL' },
        { name: 'pager', url: 'env:NOTIFY_TEST_PAGER_URL' },
      ]),
    ],
  ]),
);

/** The pair's and the webhooks' activities of the test that runs now. */
function currentActivities(): Partial<Activities> {
  const names = Object.keys(new FakePair().activities()) as (keyof Activities)[];
  const notifications = createNotificationActivities({
    runbooks: registry,
    fetch: (...args) => hooks.fetch(...args),
    uiUrl: `${UI}/`,
  });
  return {
    ...Object.fromEntries(
      names.map((name) => [
        name,
        (...args: unknown[]) => (pair.activities()[name] as (...a: unknown[]) => unknown)(...args),
      ]),
    ),
    ...notifications,
  } as Partial<Activities>;
}

const ts = timeSkippingWorker(
  'notify-wf',
  () => ({ workflowBundle: { codePath: testWorkflowBundle() } }),
  currentActivities(),
);

const input: FailoverInput = {
  pair: 'fake',
  mode: 'planned',
  trigger: 'test',
  reason: 'test run',
  requestedBy: 'tester',
};

/** A pair whose settings name these webhooks, with this approval policy. */
const notifyingPair = (webhooks: string[], approval: Partial<PairSettings['approval']> = {}) =>
  new FakePair(
    fakeSettings({
      notifications: { webhooks },
      approval: {
        policy: 'auto',
        approvers: ['alice'],
        timeoutMs: 1_800_000,
        onTimeout: 'reject',
        ...approval,
      },
    }),
  );

const runs: string[] = [];

async function start() {
  const workflowId = pairMoveWorkflowId('fake');
  const handle = await ts.env.client.workflow.start(failover, {
    args: [input],
    taskQueue: ts.taskQueue,
    workflowId,
  });
  runs.push(handle.firstExecutionRunId);
  return handle;
}

async function startFailback() {
  const handle = await ts.env.client.workflow.start(failback, {
    args: [{ pair: 'fake', mode: 'full', trigger: 'test', reason: 'test run', requestedBy: 'tester' }],
    taskQueue: ts.taskQueue,
    workflowId: pairMoveWorkflowId('fake'),
  });
  runs.push(handle.firstExecutionRunId);
  return handle;
}

/** Waits (bounded) until the webhook at `url` got a message matching `match`. */
async function messageOf(url: string, match: (m: NotificationMessage) => boolean) {
  for (let i = 0; i < 800; i++) {
    const found = hooks.of(url).find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${url} never got the message`);
}

/** Everything the run's history holds, payloads included, as text. */
async function historyText(handle: Awaited<ReturnType<typeof start>>): Promise<string> {
  const history = await handle.fetchHistory();
  return Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
}

const events = (messages: NotificationMessage[]) =>
  messages.map((m) => (m.event === 'phase' ? m.phase : m.event === 'end' ? `end:${m.outcome}` : m.event));

beforeEach(() => {
  hooks = new FakeWebhooks();
});

afterAll(async () => {
  for (const runId of runs)
    await ts.env.client.workflow
      .getHandle(pairMoveWorkflowId('fake'), runId)
      .terminate('test over')
      .catch(() => undefined);
});

describe('notifications of a move (time-skipping, in-memory pair and webhooks)', () => {
  it('a completed failover sends every phase and its end, in order, with the run link and no secret', async () => {
    pair = notifyingPair(['ops']);
    const handle = await start();
    const report = await handle.result();
    await recordHistory(handle, 'failover-planned-notified');
    expect(report.outcome).toBe('completed');
    const messages = hooks.of(OPS_URL);
    expect(events(messages)).toEqual([...COMPLETED_RUN_PHASES, 'end:completed']);
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
    expect(report.notifications).toEqual({ events: messages.length, undelivered: [] });
    const end = messages.at(-1)!;
    expect(end).toMatchObject({
      pair: 'fake',
      workflowType: 'failover',
      title: 'planned failover',
      sentence: report.sentence,
      rto: report.rto,
      id: `${handle.workflowId}/${handle.firstExecutionRunId}/${end.seq}`,
      run: {
        workflowId: 'dr-move-fake',
        runId: handle.firstExecutionRunId,
        namespace: 'default',
        link: `${UI}/namespaces/default/workflows/dr-move-fake/${handle.firstExecutionRunId}/history`,
      },
    });
    expect(end.text).toMatch(/^\*\[fake\] planned failover: ended: completed\*\n/);
    expect(end.text).toContain(`<${end.run.link}|dr-move-fake in the Temporal UI>`);
    expect(messages[5]).toMatchObject({
      event: 'phase',
      phase: 'prepare',
      sentence: 'planned failover of fake from gra to rbx: phase prepare begins.',
    });
    expect(JSON.stringify(messages)).not.toContain(TOKEN);
    expect(await historyText(handle)).not.toContain(TOKEN);
    // The history of a notifying run replays on this code (its notifications are deterministic commands).
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: testWorkflowBundle() } },
      await handle.fetchHistory(),
      handle.workflowId,
    );
  });

  it('an approval request carries the drctl command that answers it; a rejection ends the run', async () => {
    pair = notifyingPair(['ops'], { policy: 'required' });
    const handle = await start();
    const approval = await messageOf(OPS_URL, (m) => m.event === 'approval');
    expect(approval.question).toMatchObject({
      id: 'q1',
      kind: 'approval',
      commands: [
        "drctl approve fake --question q1 --reason '…'",
        "drctl reject fake --question q1 --reason '…'",
      ],
    });
    expect(approval.question?.deadline).toMatch(/^\d{4}-/);
    expect(approval.text).toContain("`drctl approve fake --question q1 --reason '…'`");
    expect(approval.sentence).toBe(`question q1: ${approval.question?.question}`);
    await answer(handle, rejectUpdate, 'alice', 'not now');
    const report = await handle.result();
    expect(report.outcome).toBe('rejected');
    expect(events(hooks.of(OPS_URL))).toEqual([
      'assess',
      'plan',
      'approve',
      'approval',
      'report',
      'end:rejected',
    ]);
  });

  it("an operator's question names retry and abort with their commands", async () => {
    pair = notifyingPair(['ops']);
    // A failure inside the fence window, once the followers are paused: their resume is part of the undo.
    pair.fail('esPauseAutoFollow', { nonRetryable: true });
    pair.fail('esResumeFollow', { times: 1 });
    const handle = await start();
    const question = await messageOf(OPS_URL, (m) => m.event === 'question');
    expect(question.phase).toBe('compensate');
    expect(question.question).toMatchObject({ id: 'q1', kind: 'operator', answers: ['retry', 'abort'] });
    expect(question.question?.commands).toEqual([
      "drctl retry fake --question q1 --reason '…'",
      "drctl abort fake --question q1 --reason '…'",
    ]);
    expect((await handle.query(statusQuery)).pending?.id).toBe('q1');
    await answer(handle, retryUpdate, 'alice', 'ES is back');
    const report = await handle.result();
    expect(report.outcome).toBe('rolled-back');
    expect(hooks.of(OPS_URL).at(-1)).toMatchObject({ event: 'end', outcome: 'rolled-back' });
  });

  it('a webhook that fails each first try still gets every message once, in order', async () => {
    pair = notifyingPair(['ops']);
    hooks.answer = (_url, _message, attempt) => (attempt === 1 ? 503 : 200);
    const report = await (await start()).result();
    expect(report.outcome).toBe('completed');
    const messages = hooks.of(OPS_URL);
    expect(events(messages)).toEqual([...COMPLETED_RUN_PHASES, 'end:completed']);
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
    expect([...hooks.attempts.values()].every((n) => n === 2)).toBe(true);
    expect(report.notifications?.undelivered).toEqual([]);
  });

  it('a webhook that refuses or cannot be reached neither holds nor fails the move, and says so without its URL', async () => {
    pair = notifyingPair(['ops', 'pager']);
    hooks.answer = (url, message) =>
      url === PAGER_URL ? (message.seq % 2 ? 404 : { networkError: 'ECONNREFUSED' }) : 200;
    const report = await (await start()).result();
    expect(report.outcome).toBe('completed');
    expect(pair.state.traffic).toBe('rbx');
    const delivered = hooks.of(OPS_URL);
    expect(events(delivered)).toEqual([...COMPLETED_RUN_PHASES, 'end:completed']);
    expect(hooks.of(PAGER_URL)).toEqual([]);
    const undelivered = report.notifications!.undelivered;
    expect(undelivered).toHaveLength(delivered.length);
    expect(undelivered[0]).toMatch(
      /^notification 1 \(phase\) was not delivered to pager: NotificationRejected: pager answered 404 Not Found to message dr-move-fake\/.+\/1; the run goes on\.$/,
    );
    expect(undelivered[1]).toMatch(
      /^notification 2 \(phase\) was not delivered to pager: NotificationFailed: pager did not take message .+: connect ECONNREFUSED; the run goes on\.$/,
    );
    // The refused ones were tried once; the unreachable ones as often as the retry policy allows.
    const attempts = (seq: number) =>
      [...hooks.attempts.entries()].find(([id]) => id.endsWith(`/${seq}`))?.[1];
    expect(attempts(1)).toBe(2); // once to ops, once to pager
    expect(attempts(2)).toBe(5); // once to ops, four times to pager
    expect(JSON.stringify(report)).not.toContain(TOKEN);
  });

  it('a cancelled move tells its end, then ends cancelled', async () => {
    pair = notifyingPair(['ops'], { policy: 'required' });
    const handle = await start();
    await messageOf(OPS_URL, (m) => m.event === 'approval');
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const messages = hooks.of(OPS_URL);
    expect(events(messages)).toEqual(['assess', 'plan', 'approve', 'approval', 'end:cancelled']);
    expect(messages.at(-1)?.sentence).toMatch(
      /^the planned failover of fake ended cancelled, without a report: .*cancel/i,
    );
    expect(messages.at(-1)?.rto?.fromStartMs).toBeGreaterThanOrEqual(0);
  });

  it('a full failback sends each of its phases once, in order, and its end', async () => {
    pair = notifyingPair(['ops']);
    pair.state = failedOverState();
    const report = await (await startFailback()).result();
    expect(report.outcome).toBe('completed');
    const messages = hooks.of(OPS_URL);
    expect(events(messages)).toEqual([
      'assess',
      'reprotect',
      'catch-up',
      'assess',
      'plan',
      'approve',
      'warm-up',
      'fence',
      'prepare',
      'promote',
      'switch',
      'verify',
      'reestablish',
      'report',
      'end:completed',
    ]);
    expect(messages.every((m) => m.workflowType === 'failback' && m.title === 'full failback')).toBe(true);
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
  });

  it('a failback that fails tells its end as failed, then fails', async () => {
    pair = notifyingPair(['ops']);
    pair.fail('mysqlServerStatuses');
    const handle = await startFailback();
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    const messages = hooks.of(OPS_URL);
    expect(events(messages)).toEqual(['assess', 'end:failed']);
    expect(messages.at(-1)).toMatchObject({
      workflowType: 'failback',
      title: 'full failback',
      sentence: expect.stringMatching(
        /^the full failback of fake ended failed, without a report: .*injected fault in mysqlServerStatuses$/,
      ),
    });
  });

  it('a pair without webhooks sends nothing', async () => {
    pair = notifyingPair([]);
    const report = await (await start()).result();
    expect(report.outcome).toBe('completed');
    expect(hooks.attempts.size).toBe(0);
    expect(report.notifications).toBeUndefined();
  });
});
