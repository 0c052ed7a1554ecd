import type { NotificationEvent, NotifiedQuestion } from '../../common/notifications';

/** The run a notification is about, as the activity knows it from its own context. */
export interface NotifiedRun {
  pair: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  namespace: string;
}

/** The JSON body posted to a webhook: Slack's `text`, and the same facts as fields for other receivers. */
export interface NotificationMessage {
  text: string;
  /** `<workflowId>/<runId>/<seq>`: the same for every try of one message, so receivers can drop a repeat. */
  id: string;
  seq: number;
  at: string;
  pair: string;
  /** `link`: the run's page in the Temporal UI, when the worker knows the UI's address. */
  run: { workflowId: string; runId: string; namespace: string; link?: string };
  workflowType: string;
  phase: string;
  event: NotificationEvent['kind'];
  title: string;
  sentence: string;
  question?: NotifiedQuestion & { commands: string[] };
  outcome?: string;
  rto?: NotificationEvent['rto'];
}

/** The answers an operator types, one drctl command per answer the question takes. */
export function answerCommands(pair: string, question: NotifiedQuestion): string[] {
  const decisions =
    question.kind === 'approval'
      ? ['approve', 'reject']
      : question.answers.filter((a) => ['retry', 'abort', 'discard'].includes(a));
  return decisions.map((d) => `drctl ${d} ${pair} --question ${question.id} --reason '…'`);
}

/** The run's page in the Temporal UI at `uiUrl` (the worker's configured UI address). */
export function runLink(uiUrl: string, run: NotifiedRun): string {
  const part = encodeURIComponent;
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${part(run.namespace)}/workflows/${part(run.workflowId)}/${part(run.runId)}/history`;
}

/**
 * Slack's mrkdwn reserves &, < and > (https://api.slack.com/reference/surfaces/formatting#escaping): text from the run
 * is escaped so it cannot forge a link or a mention.
 */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const HEADLINES: Record<NotificationEvent['kind'], (e: NotificationEvent) => string> = {
  phase: (e) => `phase ${e.phase}`,
  approval: (e) => `approval needed (${e.question?.id})`,
  question: (e) => `operator decision needed (${e.question?.id})`,
  end: (e) => `ended: ${e.outcome}`,
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function slackText(message: Omit<NotificationMessage, 'text'>, event: NotificationEvent): string {
  const lines = [
    `*[${slackEscape(message.pair)}] ${slackEscape(event.title)}: ${slackEscape(HEADLINES[event.kind](event))}*`,
    slackEscape(message.sentence),
  ];
  if (message.question) {
    lines.push(`Question: ${slackEscape(message.question.question)}`);
    if (message.question.deadline) lines.push(`Deadline: ${message.question.deadline}`);
    lines.push(...message.question.commands.map((c) => `\`${slackEscape(c)}\``));
  }
  if (message.rto)
    lines.push(
      `RTO: ${seconds(message.rto.fromStartMs)} from the start${message.rto.fromApprovalMs !== undefined ? `, ${seconds(message.rto.fromApprovalMs)} from the approval` : ''}`,
    );
  if (message.run.link)
    lines.push(`<${message.run.link}|${slackEscape(`${message.run.workflowId} in the Temporal UI`)}>`);
  return lines.join('\n');
}

/** The message of one event of a run. */
export function notificationMessage(
  run: NotifiedRun,
  event: NotificationEvent,
  uiUrl: string | undefined,
): NotificationMessage {
  const body: Omit<NotificationMessage, 'text'> = {
    id: `${run.workflowId}/${run.runId}/${event.seq}`,
    seq: event.seq,
    at: event.at,
    pair: run.pair,
    run: {
      workflowId: run.workflowId,
      runId: run.runId,
      namespace: run.namespace,
      ...(uiUrl ? { link: runLink(uiUrl, run) } : {}),
    },
    workflowType: run.workflowType,
    phase: event.phase,
    event: event.kind,
    title: event.title,
    sentence: event.sentence,
    ...(event.question
      ? { question: { ...event.question, commands: answerCommands(run.pair, event.question) } }
      : {}),
    ...(event.outcome !== undefined ? { outcome: event.outcome } : {}),
    ...(event.rto ? { rto: event.rto } : {}),
  };
  return { text: slackText(body, event), ...body };
}
