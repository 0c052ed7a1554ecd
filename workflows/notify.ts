import { CancellationScope, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  NOTIFICATION_FAILURE_TYPES,
  type NotificationEvent,
  type NotifiedQuestion,
} from '../common/notifications';
import type { PendingDecision } from './definitions';
import { errorText } from './steps';

/** Runs started before notifications send none (their histories hold no notification activity). */
export const NOTIFICATIONS_PATCH = 'notifications';

/**
 * One delivery: a few tries over about a minute, then the message is given up (a dead webhook must not hold the
 * messages after it for long). The run never waits for it, except at its very end (see `drained`).
 */
const { notifyWebhook } = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 4,
    nonRetryableErrorTypes: Object.entries(NOTIFICATION_FAILURE_TYPES)
      .filter(([, t]) => !t.retryable)
      .map(([type]) => type)
      .concat('UnknownPair'),
  },
});

export interface NotifierOptions {
  pair: string;
  /** The runbook's webhooks by name (the pair's settings). */
  webhooks: string[];
  /** "planned failover", "full failback". */
  title: string;
}

/** What the notifications of a run became: how many events were sent, and what could not be delivered. */
export interface NotificationsRecord {
  events: number;
  undelivered: string[];
}

/**
 * Sends a run's events (phase changes, questions, its end) to the runbook's webhooks, in the order the run lived
 * them: each webhook gets its messages one after the other (a queue per webhook, so a dead one does not delay the
 * others). Sending never blocks the run nor fails it: a message that is not delivered after its tries is logged in
 * a sentence, and the run goes on.
 */
export class Notifier {
  private seq = 0;
  private lastPhase: string | undefined;
  private readonly queues = new Map<string, Promise<void>>();
  readonly undelivered: string[] = [];

  constructor(private readonly options: NotifierOptions) {}

  get record(): NotificationsRecord {
    return { events: this.seq, undelivered: this.undelivered };
  }

  /** A phase begins (a phase entered again without another in between is not sent twice). */
  phase(phase: string, sentence: string): void {
    if (phase === this.lastPhase) return;
    this.lastPhase = phase;
    this.send({ kind: 'phase', phase, sentence });
  }

  /** A question opens: an approval, or an operator's decision (retry, abort, discard). */
  question(q: PendingDecision): void {
    const question: NotifiedQuestion = {
      id: q.id ?? '?',
      kind: q.kind,
      question: q.question,
      answers: q.answers,
      ...(q.deadline ? { deadline: q.deadline } : {}),
    };
    const kind = q.kind === 'approval' ? 'approval' : 'question';
    this.send({
      kind,
      phase: this.lastPhase ?? 'start',
      sentence: `question ${question.id}: ${q.question}`,
      question,
    });
  }

  /** The run ends: its outcome and measured RTO. */
  end(outcome: string, sentence: string, rto: NotificationEvent['rto']): void {
    this.send({ kind: 'end', phase: this.lastPhase ?? 'report', sentence, outcome, ...(rto ? { rto } : {}) });
  }

  /**
   * Resolves once every message sent so far is delivered or given up: the end of a run waits for it, since a
   * delivery still queued when the run closes would never be made.
   */
  async drained(): Promise<void> {
    await Promise.all(this.queues.values());
  }

  private send(event: Omit<NotificationEvent, 'seq' | 'at' | 'title'>): void {
    if (this.options.webhooks.length === 0 || !patched(NOTIFICATIONS_PATCH)) return;
    const full: NotificationEvent = {
      seq: ++this.seq,
      at: new Date().toISOString(),
      title: this.options.title,
      ...event,
    };
    this.options.webhooks.forEach((name, webhook) => {
      const previous = this.queues.get(name) ?? Promise.resolve();
      this.queues.set(
        name,
        previous.then(() => this.deliver(webhook, name, full)),
      );
    });
  }

  private async deliver(webhook: number, name: string, event: NotificationEvent): Promise<void> {
    try {
      // Not cancellable: a cancelled run still tells its webhooks how it ends.
      await CancellationScope.nonCancellable(() =>
        notifyWebhook({ pair: this.options.pair, webhook, name, event }),
      );
    } catch (err) {
      const sentence = `notification ${event.seq} (${event.kind}) was not delivered to ${name}: ${errorText(err)}; the run goes on.`;
      this.undelivered.push(sentence);
      log.warn(sentence, { webhook: name, seq: event.seq });
    }
  }
}
