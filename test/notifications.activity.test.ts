/**
 * The notification activity over an injected fetch: what it posts, how each way a webhook fails becomes a typed
 * failure a retry may or may not fix, and that the webhook's URL (its secret) is never in a message, result or failure.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNotificationActivities, type NotifyResult } from '../activities/notifications';
import { RunbookRegistry } from '../activities/runbooks';
import type { NotificationEvent, NotifyInput } from '../common/notifications';
import { FakeWebhooks, notifyingRunbook } from './helpers/webhooks';

const TOKEN = 'T0KEN-activity-test-4f9c2a';
const URL_ = `https://hooks.example.test/services/${TOKEN}`;
process.env.NOTIFY_ACTIVITY_URL = URL_;
process.env.NOTIFY_ACTIVITY_FTP = `ftp://files.example.test/${TOKEN}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'notify-activity-'));
const secretFile = path.join(dir, 'hook-url');
writeFileSync(secretFile, `${URL_}\n`);
chmodSync(secretFile, 0o600);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const registry = new RunbookRegistry(
  new Map([
    [
      'p',
      notifyingRunbook(
        'p',
        [
          { name: 'ops', url: 'env:NOTIFY_ACTIVITY_URL' },
          { url: 'env:NOTIFY_ACTIVITY_UNSET' },
          { name: 'ftp', url: 'env:NOTIFY_ACTIVITY_FTP' },
          { name: 'filed', url: `file:${secretFile}` },
        ],
        path.join(dir, 'runbook.yaml'),
      ),
    ],
  ]),
);

const event = (overrides: Partial<NotificationEvent> = {}): NotificationEvent => ({
  seq: 3,
  at: '2026-12-07T10:00:00.000Z',
  kind: 'phase',
  phase: 'fence',
  title: 'planned failover',
  sentence: `planned failover of p from gra to rbx: phase fence begins <!channel> & ${TOKEN}.`,
  ...overrides,
});

async function notify(hooks: FakeWebhooks, input: Partial<NotifyInput> = {}): Promise<NotifyResult> {
  const env = new MockActivityEnvironment(
    {
      workflowExecution: { workflowId: 'dr-move-p', runId: 'run-1' },
      workflowType: 'failover',
      workflowNamespace: 'prod',
    },
    { logger: new DefaultLogger('ERROR') },
  );
  const { notifyWebhook } = createNotificationActivities({
    runbooks: registry,
    fetch: hooks.fetch,
    uiUrl: 'https://temporal.example.test/',
  });
  return env.run(notifyWebhook, { pair: 'p', webhook: 0, name: 'ops', event: event(), ...input });
}

/** The failure of a call: its type, whether a retry may fix it, its message. */
async function failureOf(hooks: FakeWebhooks, input: Partial<NotifyInput> = {}) {
  const err = (await notify(hooks, input).then(
    () => undefined,
    (e: unknown) => e,
  )) as { type?: string; nonRetryable?: boolean; message: string };
  expect(err, 'the call should have failed').toBeDefined();
  expect(err.message).not.toContain(TOKEN);
  expect(err.message).not.toContain('hooks.example.test');
  return { type: err.type, nonRetryable: err.nonRetryable, message: err.message };
}

describe('notifyWebhook activity', () => {
  it('posts the message with the run link and the secret scrubbed, and says what it did', async () => {
    const hooks = new FakeWebhooks();
    const result = await notify(hooks);
    expect(result).toEqual({
      webhook: 'ops',
      status: 200,
      steps: ['posted message dr-move-p/run-1/3 (phase) to ops: 200 OK'],
      description: 'posted message dr-move-p/run-1/3 (phase) to ops: 200 OK.',
    });
    const [message] = hooks.of(URL_);
    expect(message).toMatchObject({
      id: 'dr-move-p/run-1/3',
      workflowType: 'failover',
      run: { link: 'https://temporal.example.test/namespaces/prod/workflows/dr-move-p/run-1/history' },
      sentence: 'planned failover of p from gra to rbx: phase fence begins <!channel> & ***.',
    });
    // Slack's control sequences from the run's text are escaped: no mention, no forged link.
    expect(message?.text).toContain('phase fence begins &lt;!channel&gt; &amp; ***.');
    expect(JSON.stringify(message)).not.toContain(TOKEN);
  });

  it('reads a file: reference as well, and takes a 204', async () => {
    const hooks = new FakeWebhooks();
    hooks.answer = () => 204;
    expect((await notify(hooks, { webhook: 3, name: 'filed' })).status).toBe(204);
    expect(hooks.of(URL_)).toHaveLength(1);
  });

  it('an end of run carries the outcome and RTO in the text', async () => {
    const hooks = new FakeWebhooks();
    await notify(hooks, {
      event: event({
        kind: 'end',
        outcome: 'completed',
        rto: { fromStartMs: 42_000, fromApprovalMs: 30_500 },
      }),
    });
    expect(hooks.of(URL_)[0]?.text).toContain('ended: completed');
    expect(hooks.of(URL_)[0]?.text).toContain('RTO: 42.0 s from the start, 30.5 s from the approval');
  });

  it.each([
    [503, 'NotificationFailed', false, 'ops answered 503 Service Unavailable to message dr-move-p/run-1/3'],
    [429, 'NotificationFailed', false, 'ops answered 429 Too Many Requests'],
    [408, 'NotificationFailed', false, 'ops answered 408 Request Timeout'],
    [404, 'NotificationRejected', true, 'ops answered 404 Not Found'],
    [400, 'NotificationRejected', true, 'ops answered 400 Bad Request'],
    [
      { networkError: 'ECONNREFUSED' },
      'NotificationFailed',
      false,
      'ops did not take message dr-move-p/run-1/3: connect ECONNREFUSED',
    ],
  ] as const)('an answer %j is %s (non-retryable: %s)', async (answer, type, nonRetryable, message) => {
    const hooks = new FakeWebhooks();
    hooks.answer = () => answer;
    const failure = await failureOf(hooks);
    expect(failure).toMatchObject({ type, nonRetryable });
    expect(failure.message).toContain(message);
  });

  it('a webhook whose URL cannot be read, is not http(s), or is gone from the runbook is not retried', async () => {
    const hooks = new FakeWebhooks();
    expect(await failureOf(hooks, { webhook: 1, name: 'webhook 2' })).toEqual({
      type: 'NotificationWebhookUnavailable',
      nonRetryable: true,
      message:
        'the URL of webhook 2 cannot be read: secret env:NOTIFY_ACTIVITY_UNSET is unavailable: environment variable NOTIFY_ACTIVITY_UNSET is not set',
    });
    expect(await failureOf(hooks, { webhook: 2, name: 'ftp' })).toMatchObject({
      type: 'NotificationWebhookUnavailable',
      message: 'the URL of ftp (env:NOTIFY_ACTIVITY_FTP) is not an http:// or https:// URL',
    });
    expect(await failureOf(hooks, { webhook: 0, name: 'slack' })).toMatchObject({
      type: 'NotificationWebhookUnavailable',
      message: expect.stringContaining('has no webhook "slack" at notifications.webhooks[0] any more'),
    });
    expect(await failureOf(hooks, { webhook: 7, name: 'ops' })).toMatchObject({
      type: 'NotificationWebhookUnavailable',
    });
    expect(hooks.attempts.size).toBe(0);
  });
});
