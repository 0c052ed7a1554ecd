/**
 * The notifications a run sends to the runbook's `notifications.webhooks`: what the workflow hands the activity (no
 * address, no secret: the activity resolves the webhook's URL itself) and the typed failures of a delivery. Pure data:
 * workflow code imports it.
 */

export type NotificationEventKind = 'phase' | 'approval' | 'question' | 'end';

/** A question of the run, as a notification shows it (the answers are drctl commands built by the activity). */
export interface NotifiedQuestion {
  id: string;
  kind: 'approval' | 'operator';
  question: string;
  /** The answers it takes: approve/reject, or retry/abort/discard. */
  answers: string[];
  deadline?: string;
}

/** One event of a run, numbered in the order the run lived it. */
export interface NotificationEvent {
  /** 1, 2, 3… within the run: receivers order and deduplicate by (run, seq). */
  seq: number;
  /** When the run lived it (ISO 8601). */
  at: string;
  kind: NotificationEventKind;
  /** The phase the run is in. */
  phase: string;
  /** "planned failover", "full failback". */
  title: string;
  /** What happened, in one sentence. */
  sentence: string;
  question?: NotifiedQuestion;
  /** End of run: its outcome and measured RTO. */
  outcome?: string;
  rto?: { fromStartMs: number; fromApprovalMs?: number };
}

export interface NotifyInput {
  pair: string;
  /** The position of the webhook in the runbook's `notifications.webhooks`. */
  webhook: number;
  /** Its name as the pair's settings gave it (checked against the runbook's, which may have changed since). */
  name: string;
  event: NotificationEvent;
}

/** The failures of a delivery, and whether a retry can fix them. */
export const NOTIFICATION_FAILURE_TYPES = {
  NotificationFailed: {
    retryable: true,
    means: 'the webhook did not answer, or answered 5xx, 408 or 429: a later try may succeed',
  },
  NotificationRejected: {
    retryable: false,
    means: 'the webhook answered another 4xx: the message or the URL is wrong, a retry sends the same',
  },
  NotificationWebhookUnavailable: {
    retryable: false,
    means:
      "the webhook's URL cannot be read (its secret reference), is not an http(s) URL, or the runbook changed",
  },
} as const satisfies Record<string, { retryable: boolean; means: string }>;

export type NotificationFailureType = keyof typeof NOTIFICATION_FAILURE_TYPES;

/** The name a webhook goes by in sentences: its `name`, else its position. */
export const webhookName = (webhook: { name?: string }, index: number): string =>
  webhook.name ?? `webhook ${index + 1}`;
