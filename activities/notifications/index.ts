import { Context } from '@temporalio/activity';
import path from 'node:path';
import {
  NOTIFICATION_FAILURE_TYPES,
  webhookName,
  type NotificationFailureType,
  type NotifyInput,
} from '../../common/notifications';
import { redact } from '../../common/redact';
import { resolveSecret, runbookSecrets, SecretUnavailableError } from '../../config/secrets';
import { statusDetail } from '../http-probe';
import { typedFailure } from '../failure';
import type { RunbookRegistry } from '../runbooks';
import { notificationMessage, type NotificationMessage, type NotifiedRun } from './message';

export type { NotificationMessage } from './message';

export interface NotificationDeps {
  runbooks: RunbookRegistry;
  /** Injected so tests can see and fail the requests. */
  fetch: typeof globalThis.fetch;
  /** The Temporal UI's address, for the link to the run (the worker's TEMPORAL_UI_URL); none: no link. */
  uiUrl: string | undefined;
  /** How long one POST may take (default 10 s). */
  timeoutMs?: number;
}

/** What one delivery did. */
export interface NotifyResult {
  webhook: string;
  status: number;
  /** What was done, in order. */
  steps: string[];
  description: string;
}

const failure = (type: NotificationFailureType, message: string) =>
  typedFailure(type, message, !NOTIFICATION_FAILURE_TYPES[type].retryable);

/** Statuses a later try may cure (RFC 9110: 408 Request Timeout; RFC 6585: 429 Too Many Requests). */
const RETRYABLE_STATUS = (status: number) => status >= 500 || status === 408 || status === 429;

/** Error codes of Node's network and TLS layers; anything else of an error's text is not repeated. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

/**
 * Posts a run's events to the runbook's webhooks, one webhook per call (so that a retry repeats one delivery only).
 * The webhook's URL is read here from its secret reference and never leaves the activity: not in the message, the
 * result or a failure, which name the webhook by its `name`.
 */
export function createNotificationActivities(deps: NotificationDeps) {
  return {
    async notifyWebhook(input: NotifyInput): Promise<NotifyResult> {
      const { runbook, file } = deps.runbooks.get(input.pair);
      const webhook = runbook.notifications.webhooks[input.webhook];
      const name = webhook ? webhookName(webhook, input.webhook) : `webhook ${input.webhook + 1}`;
      if (!webhook || name !== input.name)
        throw failure(
          'NotificationWebhookUnavailable',
          `the runbook of pair ${input.pair} has no webhook "${input.name}" at notifications.webhooks[${input.webhook}] any more (the worker's runbook changed during the run)`,
        );
      const url = webhookUrl(webhook.url, path.dirname(file), name);
      const secrets = [...urlSecrets(url), ...runbookSecrets(runbook, path.dirname(file))];
      const message = scrubbed(
        notificationMessage(notifiedRun(input.pair), input.event, deps.uiUrl),
        secrets,
      );
      const status = await post(deps, url, name, message);
      const sent = `posted message ${message.id} (${message.event}) to ${name}: ${statusDetail(status)}`;
      return { webhook: name, status, steps: [sent], description: `${sent}.` };
    },
  };
}

function webhookUrl(reference: string, baseDir: string, name: string): URL {
  let value: string;
  try {
    value = resolveSecret(reference, baseDir);
  } catch (err) {
    if (!(err instanceof SecretUnavailableError)) throw err;
    throw failure('NotificationWebhookUnavailable', `the URL of ${name} cannot be read: ${err.message}`);
  }
  let url: URL | undefined;
  try {
    url = new URL(value.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw failure(
      'NotificationWebhookUnavailable',
      `the URL of ${name} (${reference}) is not an http:// or https:// URL`,
    );
  return url;
}

/**
 * The parts of a webhook's URL that are its secret: the whole of it, its path and query, each of their parts long
 * enough to be a token (Slack's /services/T…/B…/<token>), its password.
 */
function urlSecrets(url: URL): string[] {
  const segments = url.pathname.split('/').flatMap((s) => [s, decoded(s)]);
  const parts = [
    url.href,
    url.href.replace(/\/$/, ''),
    `${url.pathname}${url.search}`,
    ...segments,
    ...url.searchParams.values(),
    url.password,
  ];
  return [...new Set(parts.filter((p) => p.length >= 8))].sort((a, b) => b.length - a.length);
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a malformed escape: the raw form is all there is
  }
}

function notifiedRun(pair: string): NotifiedRun {
  const { info } = Context.current();
  return {
    pair,
    workflowId: info.workflowExecution?.workflowId ?? '(no workflow)',
    runId: info.workflowExecution?.runId ?? '',
    workflowType: info.workflowType ?? '(no workflow)',
    namespace: info.workflowNamespace ?? info.namespace,
  };
}

/** Every text of the message with the secrets replaced by "***" (the run's sentences never hold one: a last guard). */
function scrubbed(message: NotificationMessage, secrets: string[]): NotificationMessage {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return redact(node, secrets);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  return walk(message) as NotificationMessage;
}

async function post(
  deps: NotificationDeps,
  url: URL,
  name: string,
  message: NotificationMessage,
): Promise<number> {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await deps.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: AbortSignal.any([timeout, Context.current().cancellationSignal]),
    });
    await res.body?.cancel();
  } catch (err) {
    const code = (err as { cause?: { code?: unknown } }).cause?.code;
    const why = timeout.aborted
      ? `no answer within ${timeoutMs} ms`
      : typeof code === 'string' && ERROR_CODE.test(code)
        ? `connect ${code}`
        : 'request failed';
    throw failure('NotificationFailed', `${name} did not take message ${message.id}: ${why}`);
  }
  if (res.ok) return res.status;
  const why = `${name} answered ${statusDetail(res.status)} to message ${message.id}`;
  throw failure(RETRYABLE_STATUS(res.status) ? 'NotificationFailed' : 'NotificationRejected', why);
}
