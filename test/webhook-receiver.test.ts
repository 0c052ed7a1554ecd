/**
 * The local stack's webhook receiver, started as the stack starts it (its own process, on a free port, in a stack
 * folder of its own): the notification activity posts to the URL it publishes, it keeps the messages in order, and
 * it answers as a webhook does to what is not a message for it.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationActivities } from '../activities/notifications';
import { RunbookRegistry } from '../activities/runbooks';
import type { NotificationEvent } from '../common/notifications';
import { freePort, processAlive } from '../dev/stack/daemon';
import { webhookReceiver } from '../dev/stack/services/webhook-receiver';
import { webhookReceiverPaths } from '../dev/webhook-receiver/paths';
import { withEnv } from './helpers/env';
import { notifyingRunbook } from './helpers/webhooks';

const dir = mkdtempSync(path.join(os.tmpdir(), 'webhook-receiver-'));
const files = webhookReceiverPaths(dir);
let port: number;
let service: ReturnType<typeof webhookReceiver>;

beforeAll(async () => {
  port = await freePort();
  await withEnv({ DR_STACK_DIR: dir, DR_STACK_PORT_WEBHOOK_RECEIVER: String(port) }, async () => {
    service = webhookReceiver(() => undefined);
    await service.up();
  });
}, 60_000);

afterAll(async () => {
  await service?.down();
  rmSync(dir, { recursive: true, force: true });
});

const base = () => `http://127.0.0.1:${port}`;
const messages = async (query = '') =>
  (await (await fetch(`${base()}/messages${query}`)).json()) as { message: { seq: number; event: string } }[];

const event = (seq: number, kind: NotificationEvent['kind']): NotificationEvent => ({
  seq,
  at: new Date().toISOString(),
  kind,
  phase: 'assess',
  title: 'planned failover',
  sentence: `event ${seq}`,
});

describe('webhook receiver (stack service)', () => {
  it('publishes its hook URL as a secret file and takes the activity’s messages in order', async () => {
    const hookUrl = readFileSync(files.url, 'utf8').trim();
    expect(hookUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/hooks/[A-Za-z0-9_-]{24}$`));
    expect(statSync(files.url).mode & 0o777).toBe(0o600);
    const registry = new RunbookRegistry(
      new Map([['p', notifyingRunbook('p', [{ name: 'local', url: `file:${files.url}` }])]]),
    );
    const { notifyWebhook } = createNotificationActivities({
      runbooks: registry,
      fetch: globalThis.fetch,
      uiUrl: 'http://localhost:8233',
    });
    const env = new MockActivityEnvironment(
      { workflowExecution: { workflowId: 'dr-move-p', runId: 'r1' }, workflowType: 'failover' },
      { logger: new DefaultLogger('ERROR') },
    );
    for (const [seq, kind] of [
      [1, 'phase'],
      [2, 'approval'],
      [3, 'end'],
    ] as const)
      await env.run(notifyWebhook, { pair: 'p', webhook: 0, name: 'local', event: event(seq, kind) });
    const got = await messages('?workflowId=dr-move-p');
    expect(got.map((r) => [r.message.seq, r.message.event])).toEqual([
      [1, 'phase'],
      [2, 'approval'],
      [3, 'end'],
    ]);
    expect(await messages('?workflowId=other')).toEqual([]);
    // Kept on disk, one JSON line each.
    expect(readFileSync(files.received, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('answers 404 to a wrong token or path, 400 to what is not a JSON object, 413 to a body too large', async () => {
    const hookUrl = readFileSync(files.url, 'utf8').trim();
    const post = (url: string, body: string) =>
      fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then(
        (r) => r.status,
      );
    const before = (await messages()).length;
    expect(await post(`${base()}/hooks/wrong-token-of-24-chars!`, '{}')).toBe(404);
    expect(await post(`${hookUrl}x`, '{}')).toBe(404);
    expect(await post(`${base()}/messages`, '{}')).toBe(404);
    expect(await post(hookUrl, 'not json')).toBe(400);
    expect(await post(hookUrl, '[1,2]')).toBe(400);
    expect(await post(hookUrl, JSON.stringify({ text: 'x'.repeat(300 * 1024) }))).toBe(413);
    expect((await messages()).length).toBe(before);
  });

  it('forgets on DELETE, and stops without leaving its process', async () => {
    expect((await fetch(`${base()}/messages`, { method: 'DELETE' })).status).toBe(200);
    expect(await messages()).toEqual([]);
    const [pid] = (await service.status()).pids;
    expect(pid).toBeDefined();
    await service.down();
    expect((await service.status()).running).toBe(false);
    expect(processAlive(pid!)).toBe(false);
  });
});
