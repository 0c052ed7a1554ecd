import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleSummary,
} from '@temporalio/client';
import { cronProblem, type DrillMode, type DrillScheduleConfig } from '../config/drills';
import type { LoadedRunbook } from '../config/load';
import { DrMode, DrPair, DrTrigger, TASK_QUEUE } from '../workflows/definitions';
import type { DrillInput } from '../workflows/drill';

/** A drill schedule's ID: one per pair and name, so that the runbook's schedules are found again by name. */
export const drillScheduleId = (pair: string, name: string) => `drill-${pair}-${name}`;
const SCHEDULE_PREFIX = 'drill-';

export interface DrillScheduleSpec {
  pair: string;
  /** Names the schedule among the pair's (default: the mode). */
  name?: string;
  mode: DrillMode;
  /** A cron line (UTC), or… */
  cron?: string;
  /** …an interval such as "24h" or "7d". */
  every?: string;
  paused?: boolean;
  taskQueue?: string;
  /** Who made the schedule, kept in its note. */
  createdBy: string;
}

/** Checks a schedule's spec, naming the bad field, before anything is contacted. */
export function checkScheduleSpec(spec: DrillScheduleSpec): void {
  const problems: string[] = [];
  if ((spec.cron === undefined) === (spec.every === undefined))
    problems.push(
      'give either --cron (a cron line, UTC) or --every (an interval such as "24h"), exactly one',
    );
  const cron = spec.cron === undefined ? undefined : cronProblem(spec.cron);
  if (cron) problems.push(`--cron: must be a cron line such as "0 6 * * 1": ${cron}`);
  if (spec.every !== undefined && !/^[1-9]\d*(m|h|d)$/.test(spec.every))
    problems.push('--every: must be a duration in minutes, hours or days such as "30m", "12h" or "7d"');
  if (spec.mode !== 'readiness' && spec.mode !== 'game-day')
    problems.push(`--mode: must be readiness or game-day (got ${JSON.stringify(spec.mode)})`);
  if (spec.name !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(spec.name))
    problems.push('--name: must be lower-case letters, digits and dashes');
  if (problems.length > 0) throw new Error(problems.join('; '));
}

/**
 * Creates the Temporal Schedule that starts the pair's drill: overlap SKIP (a drill still running when the next is
 * due makes that one skipped, never a second drill at once), missed runs caught up within an hour, never paused by a
 * failed drill. `replace`: an existing schedule of that ID is updated to this spec (the runbook's schedules);
 * otherwise an existing one is an error that names it.
 */
export async function createDrillSchedule(
  client: Client,
  spec: DrillScheduleSpec,
  replace = false,
): Promise<{ scheduleId: string; created: boolean }> {
  checkScheduleSpec(spec);
  const scheduleId = drillScheduleId(spec.pair, spec.name ?? spec.mode);
  const input: DrillInput = {
    pair: spec.pair,
    mode: spec.mode,
    trigger: 'schedule',
    requestedBy: `schedule ${scheduleId}`,
  };
  const options = {
    scheduleId,
    spec: spec.cron ? { cronExpressions: [spec.cron] } : { intervals: [{ every: spec.every! }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'drill',
      workflowId: `${scheduleId}-run`,
      taskQueue: spec.taskQueue ?? TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [
        { key: DrPair, value: spec.pair },
        { key: DrMode, value: `drill-${spec.mode}` },
        { key: DrTrigger, value: 'schedule' },
      ],
      staticSummary: `Scheduled ${spec.mode} drill of DR pair ${spec.pair}`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h', pauseOnFailure: false },
    state: {
      paused: spec.paused ?? false,
      note: `${spec.mode} drill of ${spec.pair}, made by ${spec.createdBy}`,
    },
  };
  try {
    await client.schedule.create(options);
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    if (!replace)
      throw new Error(
        `schedule ${scheduleId} exists already: delete it first (drctl schedule delete ${scheduleId}) or give another --name`,
        { cause: err },
      );
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({
    ...previous,
    spec: options.spec,
    action: options.action,
    policies: options.policies,
    state: { ...previous.state, note: options.state.note },
  }));
  return { scheduleId, created: false };
}

/** The drill schedules a runbook declares (drills.schedules), as specs. */
export function runbookSchedules(loaded: LoadedRunbook, taskQueue?: string): DrillScheduleSpec[] {
  return (loaded.runbook.drills?.schedules ?? []).map((s: DrillScheduleConfig) => ({
    pair: loaded.runbook.pair,
    name: s.name ?? s.mode,
    mode: s.mode,
    ...(s.cron ? { cron: s.cron } : { every: s.every }),
    paused: s.paused,
    taskQueue,
    createdBy: `runbook ${loaded.file}`,
  }));
}

export interface DrillScheduleView {
  scheduleId: string;
  paused: boolean;
  note?: string;
  spec: string;
  nextRuns: string[];
  recent: { at: string; workflowId: string }[];
}

/** The drill schedules (of one pair, or all), with their next and recent runs. */
export async function listDrillSchedules(client: Client, pair?: string): Promise<DrillScheduleView[]> {
  const prefix = pair ? drillScheduleId(pair, '') : SCHEDULE_PREFIX;
  const views: DrillScheduleView[] = [];
  for await (const summary of client.schedule.list())
    if (summary.scheduleId.startsWith(prefix)) views.push(scheduleView(summary));
  return views.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

function scheduleView(s: ScheduleSummary): DrillScheduleView {
  const cron = s.spec?.calendars?.length ? `calendar ${JSON.stringify(s.spec.calendars[0])}` : undefined;
  const every = s.spec?.intervals?.map((i) => `every ${interval(Number(i.every))}`).join(', ');
  return {
    scheduleId: s.scheduleId,
    paused: s.state.paused,
    ...(s.state.note ? { note: s.state.note } : {}),
    spec: every || cron || 'no spec',
    nextRuns: s.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString()),
    recent: s.info.recentActions.map((a) => ({
      at: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
    })),
  };
}

/** An interval in the largest unit that divides it: 7d, 12h, 30m, 45s. */
function interval(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

export type ScheduleAction = 'pause' | 'unpause' | 'trigger' | 'delete';

/**
 * Pauses, unpauses, triggers (now, overlap SKIP: nothing starts while a drill of the schedule runs) or deletes a
 * drill schedule; an unknown ID is an error that names it. Returns the sentence saying what was done.
 */
export async function actOnSchedule(
  client: Client,
  scheduleId: string,
  action: ScheduleAction,
  by: string,
): Promise<string> {
  if (!scheduleId.startsWith(SCHEDULE_PREFIX))
    throw new Error(`${scheduleId} is not a drill schedule (their IDs start with "${SCHEDULE_PREFIX}")`);
  const handle = client.schedule.getHandle(scheduleId);
  try {
    switch (action) {
      case 'pause':
        await handle.pause(`paused by ${by}`);
        return `paused ${scheduleId}.`;
      case 'unpause':
        await handle.unpause(`unpaused by ${by}`);
        return `unpaused ${scheduleId}.`;
      case 'trigger':
        await handle.trigger(ScheduleOverlapPolicy.SKIP);
        return `triggered ${scheduleId}: its drill starts now (skipped if one of its drills is still running).`;
      case 'delete':
        await handle.delete();
        return `deleted ${scheduleId}.`;
    }
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new Error(`no schedule ${scheduleId} (drctl schedule list shows them)`, { cause: err });
    throw err;
  }
}
