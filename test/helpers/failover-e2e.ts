import type { Client, WorkflowHandle } from '@temporalio/client';
import { startFailback } from '../../client/failback';
import { startFailover } from '../../client/failover';
import type { LoadedRunbook } from '../../config/load';
import { resolveSecret } from '../../config/secrets';
import type { failback, failover, FailoverReport } from '../../workflows';
import {
  DrPhase,
  approveUpdate,
  rejectUpdate,
  statusQuery,
  type FailbackMode,
  type FailoverMode,
  type PendingDecision,
  type RunStatus,
} from '../../workflows/definitions';
import { sleep } from '../../dev/stack/daemon';
import type { FrontendWriteLoad, WriteVerification } from '../../dev/write-load';
import { renameSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { answer } from './answers';
import { HaproxySocketClient, showServersState } from '../../activities/traffic/haproxy-runtime';
import { HAPROXY_BACKEND } from '../../dev/stack/services/haproxy';
import { waitUntil } from './apps-traffic';

export type FailoverHandle = WorkflowHandle<typeof failover>;
/** A run that moves a pair, either way: both end with the same report. */
export type MoveHandle = WorkflowHandle<typeof failover> | WorkflowHandle<typeof failback>;

/** The approver the scratch pair's runbook allows. */
export const APPROVER = 'oncall';

/** Starts (or joins) the failover of `pair` through the client operators use, and remembers the run for `runs`. */
export async function startPairFailover(
  client: Client,
  pair: string,
  mode: FailoverMode,
  taskQueue: string,
  runs: { workflowId: string; runId: string }[],
  options: { holdBeforeFence?: boolean } = {},
): Promise<FailoverHandle> {
  const handle = await startFailover(
    client,
    {
      pair,
      mode,
      trigger: 'test',
      reason: `end-to-end test: ${mode} failover`,
      requestedBy: APPROVER,
      ...options,
    },
    { taskQueue },
  );
  return remembered(handle, runs);
}

/** Starts (or joins) the failback of `pair` as startPairFailover does the failover, and remembers the run. */
export async function startPairFailback(
  client: Client,
  pair: string,
  mode: FailbackMode,
  taskQueue: string,
  runs: { workflowId: string; runId: string }[],
): Promise<WorkflowHandle<typeof failback>> {
  const handle = await startFailback(
    client,
    { pair, mode, trigger: 'test', reason: `end-to-end test: ${mode} failback`, requestedBy: APPROVER },
    { taskQueue },
  );
  return remembered(handle, runs);
}

/** Adds a started (or joined) run to `runs` once, and returns its handle. */
async function remembered<H extends MoveHandle>(
  handle: H,
  runs: { workflowId: string; runId: string }[],
): Promise<H> {
  const { runId } = await handle.describe();
  if (!runs.some((r) => r.runId === runId)) runs.push({ workflowId: handle.workflowId, runId });
  return handle;
}

/** Polls the status query until `accept` holds; fails after `timeoutMs` with the last status seen. */
export async function waitForStatus(
  handle: MoveHandle,
  what: string,
  accept: (status: RunStatus) => boolean,
  timeoutMs = 30_000,
): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: RunStatus | undefined;
  for (;;) {
    last = await handle.query(statusQuery);
    if (accept(last)) return last;
    if (Date.now() > deadline)
      throw new Error(
        `the run never reached "${what}" within ${timeoutMs} ms; last status: ${JSON.stringify(last)}`,
      );
    await sleep(100);
  }
}

/**
 * The run's report, within `timeoutMs`; past it, fails with what the run was doing (its status and the activities
 * Temporal still waits for), so that a stuck run says where it is stuck.
 */
export async function reportWithin(handle: MoveHandle, timeoutMs = 45_000): Promise<FailoverReport> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void describeRun(handle).then(
        (state) => reject(new Error(`the run did not end within ${timeoutMs} ms: ${state}`)),
        (err: unknown) => reject(new Error(`the run did not end within ${timeoutMs} ms (${String(err)})`)),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([handle.result() as Promise<FailoverReport>, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function describeRun(handle: MoveHandle): Promise<string> {
  const { raw } = await handle.describe();
  const activities = (raw.pendingActivities ?? []).map(
    (a) =>
      `${a.activityType?.name} (${a.state}, attempt ${a.attempt}${a.lastFailure?.message ? `, last failure: ${a.lastFailure.message}` : ''})`,
  );
  const status = await handle
    .query(statusQuery)
    .catch((err: unknown) => `status query failed: ${String(err)}`);
  return `pending activities: ${activities.join('; ') || 'none'}; status: ${JSON.stringify(status)}`;
}

/** Waits until the run waits for an answer of `kind`. */
export async function pendingDecision(
  handle: MoveHandle,
  kind: PendingDecision['kind'],
  timeoutMs = 30_000,
): Promise<PendingDecision> {
  const status = await waitForStatus(handle, `pending ${kind}`, (s) => s.pending?.kind === kind, timeoutMs);
  return status.pending!;
}

/**
 * The report of a run whose every approval question is approved by the scratch pairs' approver as it opens (the
 * move, then going on without fencing a dead primary, which no policy answers), each question once.
 */
export async function reportApprovingEachQuestion(
  handle: MoveHandle,
  reason: string,
  timeoutMs = 90_000,
): Promise<FailoverReport> {
  let ended = false;
  const report = reportWithin(handle, timeoutMs).finally(() => {
    ended = true;
  });
  const answered = new Set<string>();
  while (!ended) {
    const questions = (await handle.query(statusQuery).catch(() => undefined))?.questions ?? [];
    for (const q of questions.filter((q) => q.kind === 'approval' && !answered.has(q.id!))) {
      answered.add(q.id!);
      await approve(handle, reason);
    }
    await Promise.race([report.catch(() => undefined), sleep(100)]);
  }
  return report;
}

export const approve = (handle: MoveHandle, reason: string) =>
  answer(handle, approveUpdate, APPROVER, reason);

export const reject = (handle: MoveHandle, reason: string) => answer(handle, rejectUpdate, APPROVER, reason);

/** Writes of `load` acknowledged by `site`'s app after `since`. */
export const acknowledgedBy = (load: FrontendWriteLoad, site: string, since = 0) =>
  load.records.filter((r) => r.outcome === 'acknowledged' && r.server === site && r.at >= since);

/** Waits until `site`'s app has acknowledged `count` writes of `load` after `since`. */
export const acknowledgedWrites = (load: FrontendWriteLoad, site: string, count: number, since = 0) =>
  waitUntil(
    `${site} acknowledges ${count} writes`,
    async () => acknowledgedBy(load, site, since).length >= count,
  );

/**
 * A light write load through the frontend, for tests that assert no rate: every write is checked by id, and at 20
 * writes a second it leaves the CPU to the tests running alongside (so it takes no turn on `write-load`).
 */
export const LIGHT_WRITE_LOAD = { ratePerSecond: 20 } as const;

/**
 * Stops `load` and checks, by id, that every write it saw acknowledged is on `server`, and that it ran: at least
 * `minimum` acknowledged writes.
 */
export async function expectEveryAcknowledgedWriteOn(
  load: FrontendWriteLoad,
  server: string,
  minimum: number,
): Promise<WriteVerification> {
  const summary = await load.stop();
  const verification = await load.verify(server);
  expect(verification.lost).toEqual([]);
  expect(verification.acknowledged).toBe(summary.acknowledged);
  expect(verification.acknowledged).toBeGreaterThanOrEqual(minimum);
  return verification;
}

/** The titles of the fences an unplanned failover cannot apply to a site that is down: MySQL's, then Elasticsearch's. */
export const DEAD_SITE_FENCES = [
  'fence MySQL primary db-gra-1',
  'make the leader indices of gra refuse writes (write block)',
];

/**
 * Approves, as the test approver, each question to go on without a fence, in order (each starts with its step's
 * title): only a human may answer them, whatever the runbook's policy.
 */
export async function approveEachFence(handle: FailoverHandle, titles = DEAD_SITE_FENCES): Promise<void> {
  for (const title of titles) {
    await waitForStatus(handle, `the question to go on without "${title}"`, (s) =>
      (s.questions ?? []).some((q) => q.kind === 'approval' && q.question.startsWith(`${title} failed`)),
    );
    await approve(handle, `gra is down: go on without "${title}"`);
  }
}

/** Runbook fields holding a reference to a public file (a host key, a CA certificate), not to a secret. */
const PUBLIC_REFERENCES = new Set(['hostKey', 'ca']);

/** Every secret value the runbook references (`file:`/`env:`), resolved as the activities resolve them. */
export function runbookSecrets(loaded: LoadedRunbook): { field: string; value: string }[] {
  const found: { field: string; value: string }[] = [];
  const walk = (value: unknown, field: string) => {
    if (typeof value === 'string') {
      if (/^(file|env):/.test(value) && !PUBLIC_REFERENCES.has(field.split('.').pop()!))
        found.push({ field, value: resolveSecret(value, path.dirname(loaded.file)) });
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${field}[${i}]`));
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) walk(v, field ? `${field}.${k}` : k);
  };
  walk(loaded.runbook, '');
  return found;
}

/**
 * The text of a workflow history: every string of it, and every payload (bytes) decoded as UTF-8, so a secret
 * in an activity's input, result, failure message or heartbeat details shows as it would to anyone reading it.
 */
export async function historyText(
  client: Client,
  run: { workflowId: string; runId: string },
): Promise<string> {
  const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
  const parts: string[] = [];
  const decoder = new TextDecoder();
  const walk = (value: unknown) => {
    if (typeof value === 'string') parts.push(value);
    else if (value instanceof Uint8Array) parts.push(decoder.decode(value));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(history);
  return parts.join('\n');
}

/** Every completed activity of a run, in order: its type, the attempt that completed it and its result (decoded JSON). */
export async function activityResults(
  client: Client,
  run: { workflowId: string; runId: string },
): Promise<{ type: string; attempt: number; result: Record<string, unknown> }[]> {
  const { events } = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
  const typeOf = new Map<string, string>();
  const attemptOf = new Map<string, number>();
  const results: { type: string; attempt: number; result: Record<string, unknown> }[] = [];
  for (const event of events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) attemptOf.set(String(started.scheduledEventId), started.attempt ?? 1);
    const local = localActivityResult(event);
    if (local) results.push(local);
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const data = completed.result?.payloads?.[0]?.data;
      results.push({
        type: typeOf.get(String(completed.scheduledEventId)) ?? '?',
        attempt: attemptOf.get(String(completed.scheduledEventId)) ?? 1,
        result: data ? (JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>) : {},
      });
    }
  }
  return results;
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** A local activity's completion, as its marker records it (the fence window's steps run as local activities). */
function localActivityResult(
  event: HistoryEvent,
): { type: string; attempt: number; result: Record<string, unknown> } | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const decode = (key: string) => {
    const data = marker.details?.[key]?.payloads?.[0]?.data;
    return data ? (JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>) : undefined;
  };
  const facts = decode('data') as { activity_type?: string; attempt?: number } | undefined;
  const result = decode('result');
  if (!facts || !result) return undefined;
  return { type: facts.activity_type ?? '?', attempt: facts.attempt ?? 1, result };
}
const historyCache = new Map<string, HistoryEvent[]>();

/**
 * A run's history events so far, fetched again only when the run's history length (from describe, which the
 * server answers from the run's state) has grown. Tests that poll a run every few milliseconds would otherwise
 * fetch and decode the whole history each time: ~30 ms of CPU per read of a failover's history, most of it in the
 * Temporal server, which made such loops the heaviest load of a parallel test run.
 */
async function historyEvents(
  client: Client,
  run: { workflowId: string; runId: string },
): Promise<HistoryEvent[]> {
  const handle = client.workflow.getHandle(run.workflowId, run.runId);
  const { historyLength } = await handle.describe();
  const cached = historyCache.get(run.runId);
  if (cached && cached.length >= historyLength) return cached;
  const events = (await handle.fetchHistory()).events ?? [];
  historyCache.set(run.runId, events);
  return events;
}

/** The activities a run has scheduled so far (attempts lost with a worker included), in order, by type. */
export async function activitiesScheduled(
  client: Client,
  run: { workflowId: string; runId: string },
): Promise<string[]> {
  const events = await historyEvents(client, run);
  return events.flatMap((event) => {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

/** The phases a run has entered so far, in order, from the DrPhase upserts of its history. */
export async function phasesEntered(
  client: Client,
  run: { workflowId: string; runId: string },
): Promise<string[]> {
  const events = await historyEvents(client, run);
  return events.flatMap((event) => {
    const data =
      event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[DrPhase.name]
        ?.data;
    return data ? [JSON.parse(new TextDecoder().decode(data)) as string] : [];
  });
}

/**
 * The pieces of a secret to look for: the value itself and, for a multi-line one (a private key), each line long
 * enough to be specific, so that a key quoted in part or with other line breaks is found too.
 */
export function secretNeedles(value: string): string[] {
  const lines = value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !/^-----/.test(l));
  return [value, ...lines];
}

/** The secrets (by runbook field) that appear in `text`. */
export function leakedSecrets(text: string, secrets: { field: string; value: string }[]): string[] {
  return secrets.filter((s) => secretNeedles(s.value).some((n) => text.includes(n))).map((s) => s.field);
}

/** Logs how long a scenario took: the figures the issue's closing note quotes. */
export function timer(scenario: string): () => number {
  const started = Date.now();
  return () => {
    const seconds = (Date.now() - started) / 1000;
    console.log(`[e2e] ${scenario}: ${seconds.toFixed(1)} s`);
    return seconds;
  };
}

/**
 * Once HAProxy shows `server` drained (a move's drain step took effect), renames its runtime API socket to `moved`
 * (as after a misconfigured reload): every traffic change after it fails until the socket is renamed back.
 */
export async function takeSocketOnceDrained(socket: string, moved: string, server: string): Promise<void> {
  await waitUntil(`HAProxy shows ${server} drained`, async () => {
    const states = await showServersState(new HaproxySocketClient(socket), HAPROXY_BACKEND);
    return states.find((s) => s.server === server)?.admin !== 'ready';
  });
  renameSync(socket, moved);
}
