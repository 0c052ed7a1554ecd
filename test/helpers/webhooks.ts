import type { LoadedRunbook } from '../../config/load';
import type { Runbook } from '../../config/schema';
import type { NotificationMessage } from '../../activities/notifications';

/** How a fake webhook answers one POST: a status, or a network failure with this error code. */
export type WebhookAnswer = number | { networkError: string };

/**
 * Webhooks in memory, for the notification activity's injected fetch: each URL records the messages it took, in the
 * order they arrived, and answers as its `answer` function says (by default 200).
 */
export class FakeWebhooks {
  readonly received = new Map<string, NotificationMessage[]>();
  readonly attempts = new Map<string, number>();
  answer: (url: string, message: NotificationMessage, attempt: number) => WebhookAnswer = () => 200;

  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    const url = String(input);
    const message = JSON.parse(String(init?.body)) as NotificationMessage;
    const attempt = (this.attempts.get(message.id) ?? 0) + 1;
    this.attempts.set(message.id, attempt);
    const answer = this.answer(url, message, attempt);
    if (typeof answer !== 'number')
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('refused'), { code: answer.networkError }),
      });
    if (answer < 300) this.received.set(url, [...(this.received.get(url) ?? []), message]);
    return new Response(answer === 204 ? null : 'ok', { status: answer });
  };

  of(url: string): NotificationMessage[] {
    return this.received.get(url) ?? [];
  }
}

/** A runbook registry entry for `pair` that has only what the notification activity reads. */
export function notifyingRunbook(
  pair: string,
  webhooks: Runbook['notifications']['webhooks'],
  file = '/nonexistent/runbook.yaml',
): LoadedRunbook {
  return { runbook: { pair, notifications: { webhooks } } as unknown as Runbook, file };
}
