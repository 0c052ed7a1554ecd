/**
 * The local stack's webhook receiver (`drctl stack up` starts it): it records the notifications the worker posts to
 * the local runbook's `notifications.webhooks`, for the tests and the demo.
 *
 * Environment:
 * - DR_STACK_PORT_WEBHOOK_RECEIVER: loopback port (default 18090; 0 picks a free one)
 * - DR_STACK_DIR: stack folder (default <repo>/.stack). The hook's token is kept in <stack>/secrets/webhook-receiver.token,
 *   the URL to post to (token included, a secret the local runbook names by file: reference) is written to
 *   <stack>/secrets/webhook-receiver.url, and the messages go to <stack>/webhook-receiver/received.jsonl.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createJsonLogger } from '../../common/logger';
import { stackPort } from '../stack/settings';
import { webhookReceiverPaths } from './paths';
import { startWebhookReceiver } from './server';

function ensureToken(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

async function main(): Promise<void> {
  const logger = createJsonLogger('webhook-receiver');
  const files = webhookReceiverPaths();
  const receiver = await startWebhookReceiver({
    port: stackPort('WEBHOOK_RECEIVER'),
    token: ensureToken(files.token),
    file: files.received,
  });
  writeFileSync(files.url, `${receiver.hookUrl}\n`, { mode: 0o600 });
  logger.info('webhook receiver running', { messages: receiver.messagesUrl, hookUrlFile: files.url });
  const stop = () => void receiver.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(`webhook-receiver: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
