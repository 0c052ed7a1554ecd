import { createHash } from 'node:crypto';
import {
  isGrpcServiceError,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { MAX_TEXT_BYTES } from '../../common/text-limits';
import { alertResolvedSignal, pairMoveWorkflowId } from '../../workflows/definitions';
import { startFailover } from '../failover';
import { startReadinessCheck } from '../readiness';
import { alertName, type WebhookAlert } from './payload';
import type { PairDecision } from './routing';

/** What the receiver did for one pair: the HTTP status it stands for, and one sentence. */
export interface Outcome {
  pair: string;
  action: PairDecision['action'];
  status: number;
  sentence: string;
  workflowId?: string;
  runId?: string;
}

export interface ActOptions {
  client: Client;
  taskQueue: string;
  /** How long one Temporal call may take before the receiver answers 503 (Alertmanager then retries). */
  temporalTimeoutMs: number;
}

/** Carries out one pair's decision against Temporal; never throws: a failure is an outcome with its status. */
export async function act(decision: PairDecision, options: ActOptions): Promise<Outcome> {
  const { client, temporalTimeoutMs } = options;
  try {
    const run = () =>
      decision.action === 'failover'
        ? failover(decision, options)
        : decision.action === 'readiness'
          ? readiness(decision, options)
          : resolved(decision, options);
    return await client.connection.withDeadline(Date.now() + temporalTimeoutMs, run);
  } catch (err) {
    return failed(decision, err);
  }
}

/** The alerts by name, the first five only (a group can hold hundreds): sentences stay one line. */
const names = (alerts: WebhookAlert[]) =>
  alerts.length <= 5
    ? alerts.map(alertName).join(', ')
    : `${alerts.slice(0, 5).map(alertName).join(', ')} and ${alerts.length - 5} more`;

/** The earliest start of the alerts: a run that started after it was started for this outage already. */
const earliestStart = (alerts: WebhookAlert[]) => Math.min(...alerts.map((a) => Date.parse(a.startsAt)));

async function failover(decision: PairDecision, { client, taskQueue }: ActOptions): Promise<Outcome> {
  const { pair, alerts } = decision;
  const workflowId = pairMoveWorkflowId(pair);
  const last = await describeOrUndefined(client, workflowId);
  const handled =
    last && last.status.name !== 'RUNNING' && last.startTime.getTime() >= earliestStart(alerts)
      ? handledBy(last.type, last.status.name, await outcomeOf(client, workflowId, last))
      : undefined;
  if (last && handled)
    return {
      pair,
      action: 'failover',
      status: 200,
      workflowId,
      runId: last.runId,
      sentence: `alert ${names(alerts)} for ${pair} was handled already: the ${last.type} ${workflowId} (run ${last.runId}) started after the alert began and ${handled}; nothing started.`,
    };
  const handle = await startFailover(
    client,
    {
      pair,
      mode: 'unplanned',
      trigger: 'alertmanager',
      reason: reasonOf(alerts),
      requestedBy: 'alertmanager',
    },
    { taskQueue },
  );
  // client.workflow.start's handle carries the run it started or joined; startPairMove types it as a plain handle.
  const runId = (handle as { firstExecutionRunId?: string }).firstExecutionRunId;
  return {
    pair,
    action: 'failover',
    status: 200,
    workflowId,
    runId,
    sentence: `alert ${names(alerts)} (rule ${decision.rules.join(', ')}) asks for the unplanned failover of ${pair}: Temporal accepted it (workflow ${workflowId}, run ${runId}; a repeated alert joins this run).`,
  };
}

/**
 * How a closed move that started after the alert began dealt with it, or undefined when it did not: the pair was
 * moved or failed back, a human decided (rejected, aborted, cancelled, terminated), or the move was undone. A dry run,
 * a failover that found the primary up (not-needed) or could make no plan (refused), and a run that failed did not
 * deal with the outage: the alert starts a new failover.
 */
export function handledBy(type: string, status: string, outcome: string | undefined): string | undefined {
  if (status === 'CANCELLED' || status === 'TERMINATED') return `was ${status.toLowerCase()}`;
  if (status !== 'COMPLETED') return undefined;
  if (type === 'failback') return 'has completed';
  const decided = ['completed', 'rejected', 'rolled-back', 'partly-rolled-back', 'aborted'];
  return outcome !== undefined && decided.includes(outcome) ? `ended ${outcome}` : undefined;
}

/** A completed failover's outcome (its result, kept by Temporal); undefined for any other run. */
async function outcomeOf(
  client: Client,
  workflowId: string,
  run: { type: string; runId: string; status: { name: string } },
): Promise<string | undefined> {
  if (run.type !== 'failover' || run.status.name !== 'COMPLETED') return undefined;
  const report = (await client.workflow.getHandle(workflowId, run.runId).result()) as { outcome?: string };
  return report.outcome;
}

async function readiness(decision: PairDecision, { client, taskQueue }: ActOptions): Promise<Outcome> {
  const { pair, alerts } = decision;
  const workflowId = `readiness-${pair}-alert-${alertsId(alerts)}`;
  try {
    const handle = await startReadinessCheck(client, pair, 'alertmanager', taskQueue, workflowId);
    return {
      pair,
      action: 'readiness',
      status: 200,
      workflowId,
      runId: handle.firstExecutionRunId,
      sentence: `alert ${names(alerts)} (rule ${decision.rules.join(', ')}) asks for a readiness check of ${pair} only: started ${workflowId}.`,
    };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return {
      pair,
      action: 'readiness',
      status: 200,
      workflowId,
      sentence: `alert ${names(alerts)} for ${pair}: its readiness check ${workflowId} was started already; nothing started.`,
    };
  }
}

async function resolved(decision: PairDecision, { client }: ActOptions): Promise<Outcome> {
  const { pair, alerts } = decision;
  const workflowId = pairMoveWorkflowId(pair);
  const running = await describeOrUndefined(client, workflowId);
  if (!running || running.status.name !== 'RUNNING' || running.type !== 'failover')
    return {
      pair,
      action: 'resolved',
      status: 200,
      sentence: `alert ${names(alerts)} for ${pair} has resolved, and no failover of ${pair} is running: nothing to tell.`,
    };
  const resolvedAt = new Date(
    Math.max(...alerts.map((a) => Date.parse(a.endsAt ?? a.startsAt))),
  ).toISOString();
  await client.workflow
    .getHandle(workflowId, running.runId)
    .signal(alertResolvedSignal, { alerts: alerts.map(alertName), resolvedAt });
  return {
    pair,
    action: 'resolved',
    status: 200,
    workflowId,
    runId: running.runId,
    sentence: `alert ${names(alerts)} for ${pair} has resolved: told the running failover (workflow ${workflowId}, run ${running.runId}) that the primary looks recovered.`,
  };
}

async function describeOrUndefined(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The run's reason: the alerts' summaries (or names), within the length a reason may have. */
function reasonOf(alerts: WebhookAlert[]): string {
  const text = alerts
    .map((a) => `${a.labels.alertname}: ${a.annotations.summary ?? a.annotations.description ?? 'firing'}`)
    .join('; ');
  const prefix = `Alertmanager: ${text}`;
  const bytes = Buffer.from(prefix, 'utf8');
  return bytes.length <= MAX_TEXT_BYTES
    ? prefix
    : `${bytes
        .subarray(0, MAX_TEXT_BYTES - 4)
        .toString('utf8')
        .replace(/\uFFFD$/, '')} …`;
}

/** One ID for a set of alert instances: their fingerprints (or labels) and start times. */
function alertsId(alerts: WebhookAlert[]): string {
  const keys = alerts.map((a) => `${a.fingerprint ?? JSON.stringify(a.labels)}@${a.startsAt}`).sort();
  return createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 16);
}

/**
 * A failure as an outcome: a move of another kind running is a conflict (409, nothing started); Temporal not
 * answering is 503, so that Alertmanager retries; anything else is 500 (retried too).
 */
function failed(decision: PairDecision, err: unknown): Outcome {
  const message = err instanceof Error ? err.message : String(err);
  const base = { pair: decision.pair, action: decision.action };
  if (/^refusing to start /.test(message))
    return { ...base, status: 409, sentence: `alert for ${decision.pair}: ${message}` };
  if (temporalUnavailable(err))
    return {
      ...base,
      status: 503,
      sentence: `Temporal did not accept the ${decision.action} of ${decision.pair} (${message}); nothing was started, Alertmanager will retry.`,
    };
  return {
    ...base,
    status: 500,
    sentence: `the ${decision.action} of ${decision.pair} failed: ${message}; Alertmanager will retry.`,
  };
}

function temporalUnavailable(err: unknown): boolean {
  if (err instanceof ServiceError || isGrpcServiceError(err)) return true;
  const cause = err instanceof Error ? err.cause : undefined;
  return cause !== undefined && temporalUnavailable(cause);
}
